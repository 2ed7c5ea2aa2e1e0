"""The API for a project's decisions about findings (accept a risk, plan its treatment, reopen) and its audit log.

Included in :mod:`routes_api`'s router (its prefix and error answers). Access is checked as for the pages: every member
who reads expert pages lists the decisions; owners and assessors plan and reopen plans; only owners accept risks or
replace or reopen an acceptance; only owners read the audit log. Every change is audited with the token's number.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response

from domosec.web import audit, service, treatments
from domosec.web.access import MAX_ID, Permission, can, project_for
from domosec.web.api_models import AcceptIn, AuditEntryOut, Problem, TreatmentIn, TreatmentOut, ValidationErrors
from domosec.web.deps import ApiCallerDep, DbDep
from domosec.web.routes_projects import FINDING_ID
from domosec.web.routes_projects import plan as plan_decision
from domosec.web.routes_projects import reopen as reopen_decision

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
FindingId = Annotated[str, Path(description="The finding's stable ID (16 hexadecimal digits).")]


def treatment_out(decision: treatments.Decision, today: dt.date | None = None) -> TreatmentOut:
    t, state = decision.treatment, decision.state(today or dt.date.today())
    return TreatmentOut(
        finding_id=t.finding_id,
        status="planned" if t.status == "planned" else "accepted",
        reason=t.reason,
        expires=t.expires,
        approver=decision.approver,
        expired=state == "expired",
        owner=decision.owner,
        due=t.due,
        note=t.note,
        overdue=state == "overdue",
        decided_at=t.decided_at,
    )


@router.get("/projects/{project_id}/treatments")
def list_treatments(project_id: Id, who: ApiCallerDep, db: DbDep) -> list[TreatmentOut]:
    """Every decision of the project (acceptances and plans), by finding ID."""
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    today = dt.date.today()
    return [treatment_out(d, today) for d in treatments.all_decisions(db, project)]


@router.put("/projects/{project_id}/treatments/{finding_id}", responses={422: {"model": Problem | ValidationErrors}})
def decide(project_id: Id, finding_id: FindingId, body: TreatmentIn, who: ApiCallerDep, db: DbDep) -> TreatmentOut:
    """Accept the risk of a finding until `expires` (owners; the token's user is the approver), or plan its treatment:
    `{"status": "planned", "owner": USER, "due": "YYYY-MM-DD", "note": …}` with an owner among the project's members
    (owners and assessors). Either replaces the project's earlier decision; replacing an acceptance takes an owner."""
    project, role = project_for(db, who.user, project_id, Permission.plan)
    if isinstance(body, AcceptIn) and not can(role, Permission.treat):
        raise HTTPException(403, "only an owner of the project can accept a risk")
    if not FINDING_ID.fullmatch(finding_id) or not service.finding_exists(db, project, finding_id):
        raise HTTPException(404, "no such finding in this project")
    today = dt.date.today()
    if isinstance(body, AcceptIn):
        if not body.reason.strip() or body.expires <= today:
            raise HTTPException(422, "an acceptance needs a reason and an expiry date in the future")
        treatments.accept(db, project, finding_id, who.user, body.reason.strip(), body.expires)
        audit.record(
            db,
            who.user.username,
            "finding.accept",
            project.id,
            finding=finding_id,
            token=who.token.id,
            expires=body.expires.isoformat(),
            reason=body.reason,
        )
    else:
        try:
            checked = treatments.check_plan(db, project, body.owner, body.due, body.note, today)
        except treatments.PlanProblem as problem:
            raise HTTPException(422, str(problem)) from None
        plan_decision(db, project, role, who.user, finding_id, checked, token=who.token.id)
    db.commit()
    return treatment_out(treatments.decisions_for(db, project, [finding_id])[finding_id], today)


@router.delete("/projects/{project_id}/treatments/{finding_id}", status_code=204, response_class=Response)
def reopen(project_id: Id, finding_id: FindingId, who: ApiCallerDep, db: DbDep) -> Response:
    """Remove the project's decision on a finding, which is undecided again (a plan: owners and assessors; an
    acceptance: owners). 204 also when there was none."""
    project, role = project_for(db, who.user, project_id, Permission.plan)
    reopen_decision(db, project, role, who.user, finding_id, token=who.token.id)
    db.commit()
    return Response(status_code=204)


@router.get("/projects/{project_id}/audit")
def project_audit(
    project_id: Id,
    who: ApiCallerDep,
    db: DbDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Entries older than this entry number (the next page).")] = None,
    limit: Annotated[int, Query(ge=1, le=audit.PAGE_SIZE)] = audit.PAGE_SIZE,
) -> list[AuditEntryOut]:
    """The project's audit log, newest first, `limit` entries at a time (owners); the next ones with `before=` the last
    entry's number (fewer than `limit`: no more)."""
    project, _ = project_for(db, who.user, project_id, Permission.view_audit)
    entries = audit.project_entries(db, project.id, before, limit)[:limit]
    return [AuditEntryOut(seq=e.seq, at=e.at, actor=e.actor, action=e.action, detail=json.loads(e.detail)) for e in entries]
