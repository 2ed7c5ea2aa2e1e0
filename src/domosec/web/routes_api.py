"""The workspace API for automation: JSON under ``/api/v1``, a bearer token per request, the OpenAPI document.

Every endpoint checks the token's user exactly as the pages check a signed-in person
(:func:`domosec.web.access.project_for` and :func:`domosec.web.access.object_in`): an object of a project
the user is not a member of is 404, a role without the right is 403, and a ``read`` token may not write.
Changes are audited as the pages' are, with the token's ID.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from domosec.diff import AssessmentDiff
from domosec.web import audit, evidence, findings, service
from domosec.web.access import MAX_ID, Permission, object_in, project_for
from domosec.web.api_models import (
    AssessmentOut,
    ControlIn,
    ControlOut,
    EvidenceOut,
    FindingOut,
    ModelIn,
    ModelProblem,
    ModelProblems,
    ModelVersionOut,
    ModelVersionText,
    Problem,
    ProjectOut,
    ReviewOut,
    ValidationErrors,
)
from domosec.web.db import AssessmentRecord, Membership, ModelVersion, Project, User
from domosec.web.deps import ApiCaller, ApiCallerDep, DbDep
from domosec.web.routes_api_orgs import router as orgs_router
from domosec.web.routes_api_people import router as people_router
from domosec.web.routes_api_treatments import router as treatments_router
from domosec.web.routes_api_treatments import treatment_out
from domosec.web.routes_projects import report_response
from domosec.web.routes_soa import add_evidence, control_titles, decisions, evidence_by_control, evidence_response, set_decision

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body cannot be read (not JSON)"},
    401: {"model": Problem, "description": "No live API token"},
    403: {"model": Problem, "description": "The role or the token's scope does not allow this"},
    404: {"model": Problem, "description": "No such object in a project of the caller"},
}
router = APIRouter(prefix="/api/v1", tags=["workspace"], responses=ERRORS)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
REPORT_TYPES = ("application/pdf", "text/html", "text/plain")
EVIDENCE_TYPES = sorted({kind for kind, _ in evidence.KINDS.values()})
Level = Annotated[str | None, Query(pattern="^(very-high|high|medium|low|very-low)$")]


def _actor(who: ApiCaller) -> str:
    return who.user.username


@router.get("/projects")
def list_projects(who: ApiCallerDep, db: DbDep) -> list[ProjectOut]:
    """The projects the token's user is a member of, with the user's role in each."""
    rows = db.execute(
        select(Project, Membership.role).join(Membership, Membership.project_id == Project.id).where(Membership.user_id == who.user.id)
    ).all()
    return [ProjectOut(id=p.id, org_id=p.org_id, name=p.name, role=role) for p, role in sorted(rows, key=lambda r: r[0].id)]


@router.get("/projects/{project_id}")
def get_project(project_id: Id, who: ApiCallerDep, db: DbDep) -> ProjectOut:
    project, role = project_for(db, who.user, project_id, Permission.view_project)
    return ProjectOut(id=project.id, org_id=project.org_id, name=project.name, role=role)


@router.get("/projects/{project_id}/models")
def list_models(project_id: Id, who: ApiCallerDep, db: DbDep) -> list[ModelVersionOut]:
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    versions = db.scalars(select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.number))
    return [ModelVersionOut.model_validate(v) for v in versions]


@router.post("/projects/{project_id}/models", status_code=201, responses={422: {"model": ModelProblems | ValidationErrors}})
def add_model(project_id: Id, body: ModelIn, who: ApiCallerDep, db: DbDep) -> Any:
    """Save a model version; a model with errors is not saved and its problems come back (422), positioned."""
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    result = service.add_model_version(db, project, who.user, body.text, body.note)
    if isinstance(result, service.ModelProblems):
        problems = [
            ModelProblem(file=d.file, line=d.line, column=d.col, severity=d.severity, code=d.code, message=d.message, text=d.render())
            for d in result.diagnostics
        ]
        return JSONResponse(ModelProblems(detail="the model has errors", problems=problems).model_dump(), status_code=422)
    audit.record(db, _actor(who), "model.create", project.id, model_version=result.number, sha256=result.sha256, token=who.token.id)
    db.commit()
    return ModelVersionText.model_validate(result)


@router.get("/projects/{project_id}/models/{version_id}")
def get_model(project_id: Id, version_id: Id, who: ApiCallerDep, db: DbDep) -> ModelVersionText:
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    return ModelVersionText.model_validate(object_in(db, ModelVersion, version_id, project))


@router.post("/projects/{project_id}/models/{version_id}/assess", status_code=201)
def assess_model(project_id: Id, version_id: Id, who: ApiCallerDep, db: DbDep) -> AssessmentOut:
    """Assess a model version with the built-in rules; the assessment is stored and never changed."""
    project, _ = project_for(db, who.user, project_id, Permission.assess)
    version = object_in(db, ModelVersion, version_id, project)
    record = service.run_assessment(db, version, who.user)
    audit.record(db, _actor(who), "assessment.create", project.id, assessment=record.id, model_version=version.number, token=who.token.id)
    db.commit()
    return AssessmentOut.model_validate(record)


@router.get("/projects/{project_id}/assessments")
def list_assessments(project_id: Id, who: ApiCallerDep, db: DbDep) -> list[AssessmentOut]:
    project, _ = project_for(db, who.user, project_id, Permission.view_project)
    records = db.scalars(select(AssessmentRecord).where(AssessmentRecord.project_id == project.id).order_by(AssessmentRecord.id))
    return [AssessmentOut.model_validate(r) for r in records]


@router.get("/projects/{project_id}/assessments/{assessment_id}")
def get_assessment(project_id: Id, assessment_id: Id, who: ApiCallerDep, db: DbDep) -> AssessmentOut:
    project, _ = project_for(db, who.user, project_id, Permission.view_project)
    return AssessmentOut.model_validate(object_in(db, AssessmentRecord, assessment_id, project))


@router.get("/projects/{project_id}/assessments/{assessment_id}/findings")
def list_findings(
    project_id: Id,
    assessment_id: Id,
    who: ApiCallerDep,
    db: DbDep,
    level: Level = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[
        str | None, Query(pattern="^[0-9a-f]{16}$", description="Continue after this finding (the last one of the page before).")
    ] = None,
    decision: Annotated[
        str | None,
        Query(
            pattern="^(planned|overdue|undecided)$",
            description="Only findings the project planned, planned past their due date, or has not decided about.",
        ),
    ] = None,
) -> list[FindingOut]:
    """Findings of a stored assessment, worst first, with the project's decision on each: `limit` at a time, the next
    ones with `after=` the last finding's ID (fewer than `limit` means there are no more)."""
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    record = object_in(db, AssessmentRecord, assessment_id, project)
    today = dt.date.today()
    try:
        shown = findings.findings_page(db, project, record, level, after, limit, decision, today)
    except findings.UnknownCursor:
        raise HTTPException(404, "no such finding in this assessment") from None
    out = []
    for f in shown.rows:
        decided, reviewed = shown.decisions.get(f.finding_id), shown.reviews.get(f.finding_id)
        household = None
        if reviewed:
            review, reviewer = reviewed
            household = ReviewOut(status=review.status, comment=review.comment, reviewer=reviewer, reviewed_at=review.reviewed_at)
        update = {"treatment": treatment_out(decided, today) if decided else None, "household": household}
        out.append(FindingOut.model_validate(f).model_copy(update=update))
    return out


@router.get(
    "/projects/{project_id}/assessments/{assessment_id}/report/{fmt}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in REPORT_TYPES}, "description": "The report file"}, 409: {"model": Problem}},
)
def get_report(
    project_id: Id,
    assessment_id: Id,
    fmt: str,
    who: ApiCallerDep,
    db: DbDep,
    audience: Annotated[str, Query(pattern="^(expert|home)$")] = "expert",
) -> Response:
    """A stored assessment in any format of `domosec report` (householders: `audience=home` only)."""
    project, role = project_for(db, who.user, project_id, Permission.view_project)
    return report_response(object_in(db, AssessmentRecord, assessment_id, project), role, fmt, audience)


@router.get("/projects/{project_id}/diff")
def diff(project_id: Id, old: IdQuery, new: IdQuery, who: ApiCallerDep, db: DbDep) -> AssessmentDiff:
    """Two stored assessments of the project compared, as `domosec diff --format json` writes it."""
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    return service.compare(object_in(db, AssessmentRecord, old, project), object_in(db, AssessmentRecord, new, project))


@router.get("/projects/{project_id}/controls")
def list_controls(project_id: Id, who: ApiCallerDep, db: DbDep) -> list[ControlOut]:
    """Every clause-7 control with the project's status, note and evidence files (the project's side of the SoA)."""
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    return _controls(db, project, list(control_titles()))


@router.put("/projects/{project_id}/controls/{control_id}", responses={422: {"model": Problem | ValidationErrors}})
def decide_control(project_id: Id, control_id: str, body: ControlIn, who: ApiCallerDep, db: DbDep) -> ControlOut:
    """Set the project's status and note for a control (owners and assessors)."""
    project, _ = project_for(db, who.user, project_id, Permission.edit_soa)
    if control_id not in control_titles():
        raise HTTPException(404, "no such control")
    set_decision(db, project, who.user, control_id, body.status, body.note, token=who.token.id)
    db.commit()
    return _controls(db, project, [control_id])[0]


@router.post(
    "/projects/{project_id}/controls/{control_id}/evidence",
    status_code=201,
    responses={413: {"model": Problem}, 415: {"model": Problem}, 422: {"model": Problem | ValidationErrors}},
)
async def attach_evidence(
    project_id: Id,
    control_id: str,
    request: Request,
    who: ApiCallerDep,
    db: DbDep,
    file: Annotated[UploadFile, File(description="PDF, PNG, JPEG or UTF-8 text (.txt .log .md .csv .json .yaml .yml), at most 20 MiB.")],
) -> EvidenceOut:
    """Attach an evidence file to a control (owners and assessors); its kind is read from its bytes, never from its name alone."""
    project, _ = project_for(db, who.user, project_id, Permission.edit_soa)
    if control_id not in control_titles():
        raise HTTPException(404, "no such control")
    content = await file.read(evidence.MAX_EVIDENCE_BYTES + 1)
    row = add_evidence(db, request, project, who.user, control_id, file.filename or "evidence", content, token=who.token.id)
    db.commit()
    return EvidenceOut.model_validate(row)


@router.get(
    "/projects/{project_id}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in EVIDENCE_TYPES}, "description": "The evidence file"}, 410: {"model": Problem}},
)
def get_evidence(project_id: Id, evidence_id: Id, request: Request, who: ApiCallerDep, db: DbDep) -> Response:
    """An evidence file, always as an attachment."""
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    return evidence_response(request, project, evidence_id, db)


def _controls(db: DbDep, project: Project, control_ids: list[str]) -> list[ControlOut]:
    titles, decided, files = control_titles(), decisions(db, project), evidence_by_control(db, project)
    names = dict(db.execute(select(User.id, User.username)).all())
    found = []
    for control_id in control_ids:
        d = decided.get(control_id)
        found.append(
            ControlOut(
                control_id=control_id,
                title=titles[control_id],
                status=d.status if d else None,
                note=d.note if d else "",
                decided_by=names.get(d.decided_by) if d else None,
                decided_at=d.decided_at if d else None,
                evidence=[EvidenceOut.model_validate(f) for f in files.get(control_id, [])],
            )
        )
    return found


router.include_router(treatments_router)  # decisions about findings and the audit log
router.include_router(people_router)  # members and the household's reviews, under this prefix with these error answers
router.include_router(orgs_router)  # organisations and new projects
