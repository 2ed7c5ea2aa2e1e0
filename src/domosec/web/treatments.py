"""A project's decisions about findings: accept a risk (owners) or plan its treatment (owners and assessors), reopen.

One decision per project and stable finding ID (table ``treatments``), so it carries over to the next assessment of
the same home. An acceptance has an approver, a reason and an expiry; a plan has an owner (a member of the project who
fixes it), a due date and a note on what will be done, and is *overdue* after its due date. Replacing or reopening an
acceptance takes the right to accept (owners): an assessor cannot undo an owner's decision. The pages and the API both
check a request here (:func:`check_plan`, :func:`may_replace`) and write through :func:`accept`, :func:`plan` and
:func:`reopen`; the caller adds the audit entry and commits.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from domosec.web.db import Membership, Project, Treatment, User, utcnow

MAX_TEXT = 2000
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Decision:
    treatment: Treatment
    approver: str | None
    """Who accepted the risk (an acceptance), else ``None``."""
    owner: str | None
    """Who fixes the finding (a plan), else ``None``."""

    def state(self, today: dt.date) -> str:
        """``accepted``, ``expired`` (an acceptance past its expiry), ``planned`` or ``overdue`` (a plan past its due date)."""
        t = self.treatment
        if t.status == "planned":
            return "overdue" if t.due is not None and t.due < today else "planned"
        return "expired" if t.expires is not None and t.expires <= today else "accepted"


class PlanProblem(ValueError):
    """A plan that cannot be saved; the message says why (answered with 422)."""


def _decisions(db: Session, project: Project, finding_ids: list[str] | None) -> list[Decision]:
    approver, owner = aliased(User), aliased(User)
    query = (
        select(Treatment, approver.username, owner.username)
        .outerjoin(approver, approver.id == Treatment.approver_id)
        .outerjoin(owner, owner.id == Treatment.owner_id)
        .where(Treatment.project_id == project.id)
    )
    if finding_ids is not None:
        query = query.where(Treatment.finding_id.in_(sorted(set(finding_ids))))
    return [Decision(t, a, o) for t, a, o in db.execute(query.order_by(Treatment.finding_id)).all()]


def decisions_for(db: Session, project: Project, finding_ids: list[str]) -> dict[str, Decision]:
    """The project's decisions on ``finding_ids`` with the approver's and owner's user names, in one query."""
    return {d.treatment.finding_id: d for d in _decisions(db, project, finding_ids)} if finding_ids else {}


def all_decisions(db: Session, project: Project) -> list[Decision]:
    """Every decision of the project, by finding ID."""
    return _decisions(db, project, None)


def members(db: Session, project: Project) -> list[str]:
    """The user names of the project's members (who may own a plan), sorted."""
    query = select(User.username).join(Membership, Membership.user_id == User.id).where(Membership.project_id == project.id)
    return sorted(db.scalars(query))


def check_plan(db: Session, project: Project, owner: str, due: str | dt.date, note: str, today: dt.date) -> tuple[User, dt.date, str]:
    """The plan's owner (a member of the project), due date (today or later) and note, or :class:`PlanProblem`."""
    name = owner.strip().lower()
    if not name:
        raise PlanProblem("a plan needs an owner: a member of the project who fixes the finding")
    user = db.scalar(
        select(User).join(Membership, Membership.user_id == User.id).where(Membership.project_id == project.id, User.username == name)
    )
    if user is None:
        raise PlanProblem(f"the owner '{name[:64]}' is not a member of this project")
    if isinstance(due, str):
        try:
            if not ISO_DATE.fullmatch(due.strip()):
                raise ValueError(due)
            due = dt.date.fromisoformat(due.strip())
        except ValueError:
            raise PlanProblem("the due date is a date: YYYY-MM-DD") from None
    if due < today:
        raise PlanProblem(f"the due date {due.isoformat()} is in the past (today is {today.isoformat()})")
    note = note.strip()
    if not note:
        raise PlanProblem("a plan needs a note: what will be done")
    if len(note) > MAX_TEXT:
        raise PlanProblem(f"the note is at most {MAX_TEXT} characters")
    return user, due, note


def current(db: Session, project: Project, finding_id: str) -> Treatment | None:
    return db.scalar(select(Treatment).where(Treatment.project_id == project.id, Treatment.finding_id == finding_id))


def may_replace(existing: Treatment | None, can_accept: bool) -> bool:
    """Whether a caller may replace or reopen ``existing``: an acceptance only with the right to accept."""
    return existing is None or existing.status != "accepted" or can_accept


def _upsert(db: Session, project: Project, finding_id: str, values: dict[str, object]) -> None:
    """One statement: two people deciding about the same finding at once both succeed, the later one wins."""
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Treatment).values(project_id=project.id, finding_id=finding_id, **values)
    db.execute(statement.on_conflict_do_update(index_elements=["project_id", "finding_id"], set_=values))


def accept(db: Session, project: Project, finding_id: str, approver: User, reason: str, expires: dt.date) -> None:
    """Accept the risk until ``expires``, replacing the project's earlier decision on the finding (a plan's fields are cleared)."""
    values = {"status": "accepted", "reason": reason[:MAX_TEXT], "expires": expires, "approver_id": approver.id}
    _upsert(db, project, finding_id, {**values, "owner_id": None, "due": None, "note": "", "decided_at": utcnow()})


def plan(db: Session, project: Project, finding_id: str, owner: User, due: dt.date, note: str) -> None:
    """Plan the finding's treatment, replacing the earlier decision (an acceptance's fields are cleared)."""
    values = {"status": "planned", "owner_id": owner.id, "due": due, "note": note[:MAX_TEXT]}
    _upsert(db, project, finding_id, {**values, "reason": "", "expires": None, "approver_id": None, "decided_at": utcnow()})


def reopen(db: Session, project: Project, finding_id: str) -> None:
    """Remove the project's decision on the finding: it is undecided (open) again."""
    db.execute(delete(Treatment).where(Treatment.project_id == project.id, Treatment.finding_id == finding_id))
