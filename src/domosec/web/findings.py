"""Findings of a stored assessment as pages: keyset pagination, counts per level, the decisions on one page.

An assessment may hold a million findings. A page is read straight off the index on (assessment, score, rule,
finding ID) (``ix_findings_assessment_order``, and ``…_level_order`` with the level filter) and continues after the
last finding of the page before (a keyset cursor: the finding's ID), so the tenth thousandth page costs what the first
does; OFFSET would read and skip every row before it. The counts per level are read once per assessment and kept:
an assessment never changes. The decisions (and approvers) are read for the page's findings only, in one query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from domosec.web.db import AssessmentRecord, FactReview, FindingRow, Project, Treatment, User

LEVELS = ("very-high", "high", "medium", "low", "very-low")
PAGE_SIZE = 100
ORDER = (FindingRow.score.desc(), FindingRow.rule_id, FindingRow.finding_id)
_COUNTS_KEPT = 256


@dataclass(frozen=True)
class FindingsPage:
    rows: list[FindingRow]
    next_after: str | None
    """The finding ID to continue after, or ``None`` on the last page."""
    decisions: dict[str, tuple[Treatment, str]] = field(default_factory=dict)
    """The project's decision on each finding of the page with its approver's name, by finding ID."""
    reviews: dict[str, tuple[FactReview, str]] = field(default_factory=dict)
    """The householders' word on the facts behind each finding of the page with the reviewer's name, by finding ID."""


class UnknownCursor(LookupError):
    """The ``after`` finding is not a finding of the assessment."""


def findings_page(
    db: Session, project: Project, record: AssessmentRecord, level: str | None, after: str | None, limit: int = PAGE_SIZE
) -> FindingsPage:
    """Up to ``limit`` findings of ``record``, worst first, after the finding ``after`` (the start when ``None``)."""
    query = select(FindingRow).where(FindingRow.assessment_id == record.id)
    if level:
        query = query.where(FindingRow.level == level)
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


def decisions_for(db: Session, project: Project, finding_ids: list[str]) -> dict[str, tuple[Treatment, str]]:
    """The project's decisions on ``finding_ids`` with each approver's user name, in one query."""
    if not finding_ids:
        return {}
    rows = db.execute(
        select(Treatment, User.username)
        .join(User, User.id == Treatment.approver_id)
        .where(Treatment.project_id == project.id, Treatment.finding_id.in_(sorted(set(finding_ids))))
    ).all()
    return {t.finding_id: (t, name) for t, name in rows}


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
