"""A project's pages: members, model versions, assessments, treatments, reports and comparisons.

Every handler starts with :func:`domosec.web.access.project_for` and finds objects only through
that project (:func:`domosec.web.access.object_in`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from domosec.report.formats import FORMATS, FormatName, RenderOptions, render
from domosec.report.householder import home_plans
from domosec.web import audit, findings, service, treatments
from domosec.web.access import MAX_ID, Permission, can, object_in, project_for
from domosec.web.db import ROLES, AssessmentRecord, Membership, ModelVersion, OrgMember, Project, User
from domosec.web.deps import CallerDep, DbDep, FormDep, field, page

router = APIRouter(prefix="/projects/{project_id}", include_in_schema=False)
FINDING_ID = re.compile(r"[0-9a-f]{16}")
REVIEW_STATUSES = ("confirmed", "disputed")
MAX_FACTS = 100
"""The householder's view lists the facts behind at most this many open findings, worst first."""


def _assessments(db: Session, project: Project) -> list[AssessmentRecord]:
    query = select(AssessmentRecord).where(AssessmentRecord.project_id == project.id)  # the document is deferred: not read
    return list(db.scalars(query.order_by(AssessmentRecord.id.desc())))


@router.get("")
def project_page(project_id: int, request: Request, who: CallerDep, db: DbDep) -> Response:
    project, role = project_for(db, who.user, project_id, Permission.view_project)
    versions = db.scalars(select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.number.desc())).all()
    members = db.execute(
        select(User.username, Membership.role).join(Membership, Membership.user_id == User.id).where(Membership.project_id == project.id)
    ).all()
    return page(
        request,
        "project.html",
        who,
        project=project,
        role=role,
        can=lambda p: can(role, Permission(p)),
        versions=versions if can(role, Permission.view_expert) else [],
        assessments=_assessments(db, project),
        members=sorted(members),
        roles=ROLES,
    )


@router.post("/members")
def add_member(project_id: int, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.manage_members)
    username, role = field(form, "username", 64).lower(), field(form, "role", 16)
    if role not in ROLES:
        raise HTTPException(422, f"a role is one of: {', '.join(ROLES)}")
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise HTTPException(422, f"there is no user '{username}'")
    if user.id == who.user.id:
        raise HTTPException(422, "you cannot change your own role")
    service.lock_project(db, project)  # two owners adding the same person at once: one membership
    membership = db.get(Membership, (project.id, user.id))
    if membership is None:
        db.add(Membership(project_id=project.id, user_id=user.id, role=role))
    else:
        membership.role = role
    if db.get(OrgMember, (project.org_id, user.id)) is None:
        db.add(OrgMember(org_id=project.org_id, user_id=user.id, is_admin=False))
    audit.record(db, who.user.username, "member.set", project.id, username=username, role=role)
    db.commit()
    return RedirectResponse(f"/projects/{project.id}", status_code=303)


@router.get("/models/new")
def model_form(project_id: int, request: Request, who: CallerDep, db: DbDep, start: int | None = None) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    text = object_in(db, ModelVersion, start, project).text if start is not None else ""
    return page(request, "model_form.html", who, project=project, text=text, note="", problems=None)


@router.post("/models")
async def upload_model(
    project_id: int,
    request: Request,
    form: FormDep,
    who: CallerDep,
    db: DbDep,
) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    upload = form.get("file")
    text = field(form, "text", service.MAX_MODEL_BYTES)
    if upload is not None and not isinstance(upload, str) and upload.filename:
        raw = await upload.read(service.MAX_MODEL_BYTES + 1)
        text = raw.decode("utf-8", errors="replace")
    note = field(form, "note", 500)
    result = service.add_model_version(db, project, who.user, text, note)
    if isinstance(result, service.ModelProblems):
        numbered = list(enumerate(text.split("\n"), start=1))
        return page(request, "model_form.html", who, 422, project=project, text=text, note=note, problems=result, numbered=numbered)
    audit.record(db, who.user.username, "model.create", project.id, model_version=result.number, sha256=result.sha256)
    db.commit()
    return RedirectResponse(f"/projects/{project.id}/models/{result.id}", status_code=303)


@router.get("/models/{version_id}")
def model_page(project_id: int, version_id: int, request: Request, who: CallerDep, db: DbDep) -> Response:
    project, role = project_for(db, who.user, project_id, Permission.view_expert)
    version = object_in(db, ModelVersion, version_id, project)
    return page(request, "model.html", who, project=project, version=version, can=lambda p: can(role, Permission(p)))


@router.post("/models/{version_id}/assess")
def assess_model(
    project_id: int,
    version_id: int,
    form: FormDep,
    who: CallerDep,
    db: DbDep,
) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.assess)
    version = object_in(db, ModelVersion, version_id, project)
    record = service.run_assessment(db, version, who.user)
    audit.record(
        db,
        who.user.username,
        "assessment.create",
        project.id,
        assessment=record.id,
        model_version=version.number,
        ruleset=record.ruleset_version,
    )
    db.commit()
    return RedirectResponse(f"/projects/{project.id}/assessments/{record.id}", status_code=303)


@router.get("/assessments/{assessment_id}")
def assessment_page(
    project_id: int,
    assessment_id: int,
    request: Request,
    who: CallerDep,
    db: DbDep,
    level: str = "",
    after: str = "",
    decision: str = "",
) -> Response:
    project, role = project_for(db, who.user, project_id, Permission.view_project)
    record = object_in(db, AssessmentRecord, assessment_id, project)
    if not can(role, Permission.view_expert):
        assessment = service.load_assessment(record)
        facts = sorted((f for f in assessment.findings if f.is_open), key=lambda f: (-f.inherent.score, f.rule_id, f.id))[:MAX_FACTS]
        return page(
            request,
            "assessment_home.html",
            who,
            project=project,
            record=record,
            plans=home_plans(assessment),
            facts=facts,
            reviews=findings.reviews_for(db, project, [f.id for f in facts]),
            can_review=can(role, Permission.review_facts),
        )
    if level and level not in findings.LEVELS:
        raise HTTPException(404, "no such level")
    if decision and decision not in findings.DECISION_FILTERS:
        raise HTTPException(404, "no such decision filter")
    today = dt.date.today()
    try:
        shown = findings.findings_page(db, project, record, level or None, after or None, decision=decision or None, today=today)
    except findings.UnknownCursor:
        raise HTTPException(404, "no such finding in this assessment") from None
    filters = {k: v for k, v in (("level", level), ("decision", decision)) if v}
    return page(
        request,
        "assessment.html",
        who,
        project=project,
        record=record,
        shown=shown,
        level=level,
        decision=decision,
        base=f"/projects/{project.id}/assessments/{record.id}" + (f"?{urlencode(filters)}" if filters else ""),
        counts=findings.level_counts(db, record),
        decided=findings.decision_counts(db, project, record, level or None, today),
        members=treatments.members(db, project) if can(role, Permission.plan) else [],
        disputes=findings.disputes(db, project, record),
        can=lambda p: can(role, Permission(p)),
        formats=sorted(FORMATS),
        today=today,
    )


@router.post("/findings/{finding_id}/accept")
def accept_finding(
    project_id: int,
    finding_id: str,
    form: FormDep,
    who: CallerDep,
    db: DbDep,
) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.treat)
    if not FINDING_ID.fullmatch(finding_id) or not service.finding_exists(db, project, finding_id):
        raise HTTPException(404, "no such finding in this project")
    reason = field(form, "reason", 2000)
    try:
        expires = dt.date.fromisoformat(field(form, "expires", 10))
    except ValueError:
        raise HTTPException(422, "the expiry is a date (YYYY-MM-DD)") from None
    if not reason or expires <= dt.date.today():
        raise HTTPException(422, "an acceptance needs a reason and an expiry date in the future")
    treatments.accept(db, project, finding_id, who.user, reason, expires)
    audit.record(db, who.user.username, "finding.accept", project.id, finding=finding_id, expires=expires.isoformat(), reason=reason)
    db.commit()
    return _back(form, project)


@router.post("/findings/{finding_id}/plan")
def plan_finding(project_id: int, finding_id: str, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    """Plan a finding's treatment: an owner among the project's members, a due date, a note (owners and assessors;
    replacing an acceptance takes an owner)."""
    project, role = project_for(db, who.user, project_id, Permission.plan)
    if not FINDING_ID.fullmatch(finding_id) or not service.finding_exists(db, project, finding_id):
        raise HTTPException(404, "no such finding in this project")
    try:
        owner, due, note = treatments.check_plan(
            db, project, field(form, "owner", 64), field(form, "due", 10), field(form, "note", 2000), dt.date.today()
        )
    except treatments.PlanProblem as problem:
        raise HTTPException(422, str(problem)) from None
    plan(db, project, role, who.user, finding_id, (owner, due, note))
    db.commit()
    return _back(form, project)


@router.post("/findings/{finding_id}/reopen")
def reopen_finding(project_id: int, finding_id: str, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    """Remove the project's decision on a finding (a plan: owners and assessors; an acceptance: owners)."""
    project, role = project_for(db, who.user, project_id, Permission.plan)
    reopen(db, project, role, who.user, finding_id)
    db.commit()
    return _back(form, project)


def plan(
    db: Session, project: Project, role: str, user: User, finding_id: str, checked: tuple[User, dt.date, str], token: int | None = None
) -> None:
    """Record a checked plan (owner, due date, note) for a finding, audited; 403 when it would replace an owner's
    acceptance and the role may not accept. The caller commits."""
    owner, due, note = checked
    service.lock_project(db, project)  # read the decision, then replace it: not raced by an owner accepting it
    if not treatments.may_replace(treatments.current(db, project, finding_id), can(role, Permission.treat)):
        raise HTTPException(403, "the risk was accepted by an owner: only an owner can change that decision")
    treatments.plan(db, project, finding_id, owner, due, note)
    detail = {"token": token} if token is not None else {}
    audit.record(
        db, user.username, "finding.plan", project.id, finding=finding_id, owner=owner.username, due=due.isoformat(), note=note, **detail
    )


def reopen(db: Session, project: Project, role: str, user: User, finding_id: str, token: int | None = None) -> None:
    """Remove the project's decision on a finding, audited (404 for no such finding; 403 when an assessor would undo
    an owner's acceptance); nothing to do when there was none. The caller commits."""
    if not FINDING_ID.fullmatch(finding_id) or not service.finding_exists(db, project, finding_id):
        raise HTTPException(404, "no such finding in this project")
    service.lock_project(db, project)
    existing = treatments.current(db, project, finding_id)
    if not treatments.may_replace(existing, can(role, Permission.treat)):
        raise HTTPException(403, "the risk was accepted by an owner: only an owner can reopen it")
    if existing is not None:
        treatments.reopen(db, project, finding_id)
        detail = {"token": token} if token is not None else {}
        audit.record(db, user.username, "finding.reopen", project.id, finding=finding_id, was=existing.status, **detail)


def _back(form: FormData, project: Project) -> Response:
    back = field(form, "back", 200)
    return RedirectResponse(back if back.startswith(f"/projects/{project.id}/") else f"/projects/{project.id}", status_code=303)


@router.get("/audit")
def audit_page(project_id: int, request: Request, who: CallerDep, db: DbDep, before: int = 0) -> Response:
    """The project's audit log, newest first, 100 entries a page (owners)."""
    project, _ = project_for(db, who.user, project_id, Permission.view_audit)
    if not 0 <= before <= MAX_ID:
        raise HTTPException(404, "no such entry")
    entries = audit.project_entries(db, project.id, before or None)
    shown = [(e, json.loads(e.detail)) for e in entries[: audit.PAGE_SIZE]]
    older = entries[audit.PAGE_SIZE - 1].seq if len(entries) > audit.PAGE_SIZE else None
    return page(request, "audit.html", who, project=project, entries=shown, older=older, first=bool(before))


@router.post("/findings/{finding_id}/review")
def review_facts(project_id: int, finding_id: str, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    """A householder confirms or disputes the facts behind a finding, with a comment (required to dispute)."""
    project, _ = project_for(db, who.user, project_id, Permission.review_facts)
    if not FINDING_ID.fullmatch(finding_id) or not service.finding_exists(db, project, finding_id):
        raise HTTPException(404, "no such finding in this project")
    status, comment = field(form, "status", 16), field(form, "comment", 2000)
    if status not in REVIEW_STATUSES:
        raise HTTPException(422, f"the facts are {' or '.join(REVIEW_STATUSES)}")
    if status == "disputed" and not comment:
        raise HTTPException(422, "say what is not right in the comment")
    service.review_facts(db, project, finding_id, who.user, status, comment)
    audit.record(db, who.user.username, "finding.review", project.id, finding=finding_id, status=status, comment=comment)
    db.commit()
    back = field(form, "back", 200)
    return RedirectResponse(back if back.startswith(f"/projects/{project.id}/") else f"/projects/{project.id}", status_code=303)


@router.get("/assessments/{assessment_id}/report/{fmt}")
def report(
    project_id: int,
    assessment_id: int,
    fmt: str,
    who: CallerDep,
    db: DbDep,
    audience: str = "expert",
) -> Response:
    project, role = project_for(db, who.user, project_id, Permission.view_project)
    return report_response(object_in(db, AssessmentRecord, assessment_id, project), role, fmt, audience)


def report_response(record: AssessmentRecord, role: str, fmt: str, audience: str) -> Response:
    """A stored assessment rendered in ``fmt`` for ``audience``, as a download; 403/404/409 when it cannot be."""
    if fmt not in FORMATS or audience not in ("expert", "home"):
        raise HTTPException(404, "no such report format")
    if audience == "expert" and not can(role, Permission.view_expert):
        raise HTTPException(403, "your role sees the householder reports only (audience=home)")
    spec = FORMATS[FormatName(fmt)]
    if audience not in spec.audiences:
        raise HTTPException(404, f"the {fmt} format has no '{audience}' audience")
    from domosec.extras import missing_modules

    if fmt == "pdf" and missing_modules("pdf"):
        raise HTTPException(409, "the PDF report needs the 'pdf' extra on the server: pip install 'domosec[pdf]'")
    body = render(service.load_assessment(record), spec.name, RenderOptions(audience="home" if audience == "home" else "expert"))
    name = f"assessment-{record.id}{'-home' if audience == 'home' else ''}{spec.suffix}"
    media = "application/pdf" if spec.binary else ("text/html; charset=utf-8" if fmt == "html" else "text/plain; charset=utf-8")
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/diff")
def diff_page(project_id: int, request: Request, old: int, new: int, who: CallerDep, db: DbDep) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    before, after = object_in(db, AssessmentRecord, old, project), object_in(db, AssessmentRecord, new, project)
    return page(request, "diff.html", who, project=project, old=before, new=after, diff=service.compare(before, after))
