"""The workspace's work on models and assessments, through the library (never its own engine).

A model version is stored only when it loads without errors; otherwise the errors come back, in
the CLI's ``file:line:col: error[code]: …`` form and with their positions, for the page to show
beside the text. An assessment runs the built-in rules on one model version and is stored whole
(the Assessment JSON) with the tool, catalogue and rule-set versions it was made with.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domosec.assessment import Assessment
from domosec.diff import AssessmentDiff, diff_assessments
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.errors import Diagnostic, InputError
from domosec.model.load import load_model_text
from domosec.web.assess_pool import Assessor, compute
from domosec.web.db import AssessmentRecord, FactReview, FindingRow, ModelVersion, Project, User, utcnow

MAX_MODEL_BYTES = 2 * 1024 * 1024
LEVEL_ORDER = {"very-high": 5, "high": 4, "medium": 3, "low": 2, "very-low": 1}


@dataclass(frozen=True)
class ModelProblems:
    diagnostics: list[Diagnostic]

    def lines(self) -> set[int]:
        return {d.line for d in self.diagnostics if d.line is not None}


@functools.cache
def builtin_rules() -> tuple[list[LoadedRule], str]:
    """The built-in rules and their version: SHA-256 over every rule file's name and bytes."""
    rules = load_rules([])
    digest = hashlib.sha256()
    for lr in sorted(rules, key=lambda r: r.rule.id):
        digest.update(lr.rule.id.encode("utf-8") + b"\0")
        with open(lr.file, "rb") as handle:
            digest.update(handle.read())
    return rules, digest.hexdigest()[:16]


def check_model(text: str, name: str) -> tuple[str, ModelProblems | None]:
    """The home ID of the model in ``text``, or its problems."""
    if len(text.encode("utf-8")) > MAX_MODEL_BYTES:
        return "", ModelProblems([Diagnostic(name, None, None, "file-too-large", f"the model is larger than {MAX_MODEL_BYTES} bytes")])
    try:
        loaded = load_model_text(text, name)
    except InputError as exc:
        return "", ModelProblems(sorted(exc.diagnostics))
    return loaded.model.system.id, None


def lock_project(db: Session, project: Project) -> None:
    """Take the project's write lock until the transaction ends (a row lock on PostgreSQL, the database's write lock on
    SQLite), so a read-then-write on the project (the next version number, one decision per control) is not raced."""
    db.execute(update(Project).where(Project.id == project.id).values(name=Project.name))


def add_model_version(db: Session, project: Project, user: User, text: str, note: str) -> ModelVersion | ModelProblems:
    text = text.replace("\r\n", "\n")
    home_id, problems = check_model(text, f"model-v{_next_number(db, project)}.yaml")  # checked before the lock is taken
    if problems:
        return problems
    lock_project(db, project)
    number = _next_number(db, project)
    version = ModelVersion(
        project_id=project.id,
        number=number,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        home_id=home_id,
        note=note[:500],
        created_by=user.id,
    )
    db.add(version)
    db.flush()
    return version


def _next_number(db: Session, project: Project) -> int:
    latest = db.scalar(select(ModelVersion.number).where(ModelVersion.project_id == project.id).order_by(ModelVersion.number.desc()))
    return (latest or 0) + 1


def run_assessment(db: Session, version: ModelVersion, user: User, as_of: dt.date | None = None) -> AssessmentRecord:
    """Assess ``version`` and add the record and its findings to ``db`` (the caller commits). The engine runs in the
    application's :class:`~domosec.web.assess_pool.Assessor` (``db.info["assessor"]``: worker processes under
    ``domosec serve``), else in this thread; :class:`~domosec.web.assess_pool.AssessmentFailed` when it did not finish."""
    assessor = db.info.get("assessor")
    name = f"model-v{version.number}.yaml"
    result = assessor.run(version.text, name, as_of) if isinstance(assessor, Assessor) else compute(version.text, name, as_of)
    record = AssessmentRecord(
        project_id=version.project_id,
        model_version_id=version.id,
        tool_version=result.tool_version,
        catalogue_version=result.catalogue_version,
        ruleset_version=result.ruleset_version,
        as_of=result.as_of,
        document=result.document,
        findings_count=len(result.findings),
        created_by=user.id,
    )
    db.add(record)
    db.flush()
    if result.findings:  # one executemany (insertmanyvalues), not an ORM object per finding
        columns = ("finding_id", "rule_id", "title", "asset", "level", "score", "dimension")
        rows = [{"assessment_id": record.id, **dict(zip(columns, finding, strict=True))} for finding in result.findings]
        db.execute(insert(FindingRow), rows)
    return record


def load_assessment(record: AssessmentRecord) -> Assessment:
    return Assessment.model_validate_json(record.document)


def review_facts(db: Session, project: Project, finding_id: str, reviewer: User, status: str, comment: str) -> None:
    """Record a householder's word on the facts behind a finding (one per project and finding; the later one wins)."""
    values = {"status": status, "comment": comment[:2000], "reviewer_id": reviewer.id, "reviewed_at": utcnow()}
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(FactReview).values(project_id=project.id, finding_id=finding_id, **values)
    db.execute(statement.on_conflict_do_update(index_elements=["project_id", "finding_id"], set_=values))


def finding_exists(db: Session, project: Project, finding_id: str) -> bool:
    """True when a stored assessment of ``project`` has this finding (treatments name real findings only)."""
    query = (
        select(FindingRow.id)
        .join(AssessmentRecord, AssessmentRecord.id == FindingRow.assessment_id)
        .where(AssessmentRecord.project_id == project.id, FindingRow.finding_id == finding_id)
        .limit(1)
    )
    return db.scalar(query) is not None


def compare(old: AssessmentRecord, new: AssessmentRecord) -> AssessmentDiff:
    return diff_assessments(
        load_assessment(old), load_assessment(new), old_source=f"assessment {old.id}", new_source=f"assessment {new.id}"
    )
