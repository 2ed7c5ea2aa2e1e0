"""Findings of a stored assessment as pages: keyset pagination, counts per level, the decisions on one page.

An assessment may hold a million findings. A page is read straight off the index on (assessment, score, rule,
finding ID) (``ix_findings_assessment_order``, and ``…_level_order`` with the level filter) and continues after the
last finding of the page before (a keyset cursor: the finding's ID), so the tenth thousandth page costs what the first
does; OFFSET would read and skip every row before it. The counts per level are read once per assessment and kept:
an assessment never changes. The decisions (and approvers, owners) are read for the page's findings only, in one query.

The decision filter (``planned``, ``overdue``, ``undecided``) keeps the same order and cursor: planned findings are
looked up from the project's plans (``ix_treatments_project_status_due``, then each finding by its ID), undecided ones
are the page order skipping the project's decisions; decisions are people's work, so there are few of them.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, select, tuple_
from sqlalchemy.orm import Session

from domosec.web.db import AssessmentRecord, FactReview, FindingRow, Project, Treatment, User
from domosec.web.treatments import Decision, decisions_for

LEVELS = ("very-high", "high", "medium", "low", "very-low")
DECISION_FILTERS = ("planned", "overdue", "undecided")
PAGE_SIZE = 100
ORDER = (FindingRow.score.desc(), FindingRow.rule_id, FindingRow.finding_id)
_COUNTS_KEPT = 256


@dataclass(frozen=True)
class FindingsPage:
    rows: list[FindingRow]
    next_after: str | None
    """The finding ID to continue after, or ``None`` on the last page."""
    decisions: dict[str, Decision] = field(default_factory=dict)
    """The project's decision on each finding of the page (with the approver's or owner's name), by finding ID."""
    reviews: dict[str, tuple[FactReview, str]] = field(default_factory=dict)
    """The householders' word on the facts behind each finding of the page with the reviewer's name, by finding ID."""


class UnknownCursor(LookupError):
    """The ``after`` finding is not a finding of the assessment."""


def findings_page(
    db: Session,
    project: Project,
    record: AssessmentRecord,
    level: str | None,
    after: str | None,
    limit: int = PAGE_SIZE,
    decision: str | None = None,
    today: dt.date | None = None,
) -> FindingsPage:
    """Up to ``limit`` findings of ``record``, worst first, after the finding ``after`` (the start when ``None``);
    with ``decision`` (one of :data:`DECISION_FILTERS`) only those the project has planned, whose plan is past its due
    date as of ``today``, or has not decided about."""
    query = select(FindingRow).where(FindingRow.assessment_id == record.id)
    if level:
        query = query.where(FindingRow.level == level)
    if decision:
        query = _decided(query, project, decision, today or dt.date.today())
    if after:
        anchor = db.execute(
            select(FindingRow.score, FindingRow.rule_id).where(FindingRow.assessment_id == record.id, FindingRow.finding_id == after)
        ).first()
        if anchor is None:
            raise UnknownCursor(after)
        score, rule = anchor
        # Two seeks instead of one OR: the rest of the anchor's score, then the lower scores (each reads off the index).
        same = query.where(FindingRow.score == score, tuple_(FindingRow.rule_id, FindingRow.finding_id) > tuple_(rule, after))
        rows = list(db.scalars(same.order_by(*ORDER).limit(limit + 1)))
        if len(rows) <= limit:
            rows += db.scalars(query.where(FindingRow.score < score).order_by(*ORDER).limit(limit + 1 - len(rows)))
    else:
        rows = list(db.scalars(query.order_by(*ORDER).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r.finding_id for r in rows]
    return FindingsPage(rows, rows[-1].finding_id if more else None, decisions_for(db, project, ids), reviews_for(db, project, ids))


def _decided(query: Select[FindingRow], project: Project, decision: str, today: dt.date) -> Select[FindingRow]:
    if decision == "undecided":
        return query.where(FindingRow.finding_id.not_in(select(Treatment.finding_id).where(Treatment.project_id == project.id)))
    plans = select(Treatment.finding_id).where(Treatment.project_id == project.id, Treatment.status == "planned")
    if decision == "overdue":
        plans = plans.where(Treatment.due < today)
    elif decision != "planned":
        raise ValueError(decision)
    return query.where(FindingRow.finding_id.in_(plans))


def decision_counts(db: Session, project: Project, record: AssessmentRecord, level: str | None, today: dt.date) -> dict[str, int]:
    """How many findings of ``record`` (at ``level``) the project has planned, planned past their due date, not decided
    about; one query over the project's decisions (each finding looked up by its ID)."""
    overdue = case(((Treatment.status == "planned") & (Treatment.due < today), 1), else_=0)
    query = (
        select(
            func.count(), func.coalesce(func.sum(case((Treatment.status == "planned", 1), else_=0)), 0), func.coalesce(func.sum(overdue), 0)
        )
        .select_from(Treatment)
        .join(FindingRow, (FindingRow.assessment_id == record.id) & (FindingRow.finding_id == Treatment.finding_id))
        .where(Treatment.project_id == project.id)
    )
    if level:
        query = query.where(FindingRow.level == level)
    decided, planned, late = db.execute(query).one()
    total = level_counts(db, record)[level] if level else record.findings_count
    return {"planned": int(planned), "overdue": int(late), "undecided": max(total - int(decided), 0)}


def reviews_for(db: Session, project: Project, finding_ids: list[str]) -> dict[str, tuple[FactReview, str]]:
    """The householders' reviews of the facts behind ``finding_ids`` with each reviewer's user name, in one query."""
    if not finding_ids:
        return {}
    rows = db.execute(
        select(FactReview, User.username)
        .join(User, User.id == FactReview.reviewer_id)
        .where(FactReview.project_id == project.id, FactReview.finding_id.in_(sorted(set(finding_ids))))
    ).all()
    return {r.finding_id: (r, name) for r, name in rows}


def disputes(db: Session, project: Project, record: AssessmentRecord, limit: int = 50) -> list[tuple[FactReview, str, FindingRow]]:
    """The findings of ``record`` whose facts a householder disputes (newest first), with the reviewer's name."""
    query = (
        select(FactReview, User.username, FindingRow)
        .join(User, User.id == FactReview.reviewer_id)
        .join(FindingRow, (FindingRow.finding_id == FactReview.finding_id) & (FindingRow.assessment_id == record.id))
        .where(FactReview.project_id == project.id, FactReview.status == "disputed")
        .order_by(FactReview.reviewed_at.desc(), FactReview.id.desc())
        .limit(limit)
    )
    return [(r, name, f) for r, name, f in db.execute(query).all()]


_counts: OrderedDict[tuple[str, int, str], dict[str, int]] = OrderedDict()
_counts_lock = threading.Lock()


def level_counts(db: Session, record: AssessmentRecord) -> dict[str, int]:
    """The number of findings of ``record`` per level (every level present, 0 when none), read once per assessment.

    Kept per database, assessment ID and creation time (an assessment is immutable), for the last 256 assessments."""
    key = (db.get_bind().engine.url.render_as_string(hide_password=True), record.id, f"{record.created_at}/{record.findings_count}")
    with _counts_lock:
        if key in _counts:
            _counts.move_to_end(key)
            return dict(_counts[key])
    counted = dict.fromkeys(LEVELS, 0)
    query = select(FindingRow.level, func.count()).where(FindingRow.assessment_id == record.id).group_by(FindingRow.level)
    for level, count in db.execute(query):
        counted[level] = count
    with _counts_lock:
        _counts[key] = counted
        while len(_counts) > _COUNTS_KEPT:
            _counts.popitem(last=False)
    return dict(counted)
