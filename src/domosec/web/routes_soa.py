"""The Statement of Applicability of a stored assessment, the project's decision on each control, and evidence files.

The assessment's SoA (what the model declares and the findings show) is never changed; beside it the
project keeps its own status and note per control and the evidence files attached to it, which carry
over to the next assessment as treatments do. Every decision and every file is audited.
"""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from domosec.catalog.load import load_catalogue
from domosec.web import audit, evidence, service
from domosec.web.access import MAX_ID, Permission, can, object_in, project_for
from domosec.web.db import AssessmentRecord, ControlDecision, EvidenceFile, Project, User, utcnow
from domosec.web.deps import CallerDep, DbDep, FormDep, field, page

router = APIRouter(prefix="/projects/{project_id}", include_in_schema=False)
DECISIONS = ("implemented", "partial", "planned", "not_implemented", "not_applicable")


@functools.cache
def control_titles() -> dict[str, str]:
    return {c.id: c.title for c in load_catalogue().controls.values()}


def _control(control_id: str) -> str:
    if control_id not in control_titles():
        raise HTTPException(404, "no such control")
    return control_id


def decisions(db: Session, project: Project) -> dict[str, ControlDecision]:
    return {d.control_id: d for d in db.scalars(select(ControlDecision).where(ControlDecision.project_id == project.id))}


def evidence_by_control(db: Session, project: Project) -> dict[str, list[EvidenceFile]]:
    found: dict[str, list[EvidenceFile]] = {}
    for row in db.scalars(select(EvidenceFile).where(EvidenceFile.project_id == project.id).order_by(EvidenceFile.id)):
        found.setdefault(row.control_id, []).append(row)
    return found


@router.get("/assessments/{assessment_id}/soa")
def soa_page(project_id: int, assessment_id: int, request: Request, who: CallerDep, db: DbDep) -> Response:
    project, role = project_for(db, who.user, project_id, Permission.view_expert)
    record = object_in(db, AssessmentRecord, assessment_id, project)
    return page(
        request,
        "soa.html",
        who,
        project=project,
        record=record,
        controls=service.load_assessment(record).controls,
        decisions=decisions(db, project),
        files=evidence_by_control(db, project),
        names=dict(db.execute(select(User.id, User.username)).all()),
        statuses=DECISIONS,
        can_edit=can(role, Permission.edit_soa),
        limit_mb=evidence.MAX_EVIDENCE_BYTES // (1024 * 1024),
        kinds=", ".join(sorted(evidence.KINDS)),
    )


def set_decision(db: Session, project: Project, user: User, control_id: str, status: str, note: str, **audited: object) -> ControlDecision:
    """The project's status and note for a control (audited; the caller commits); 422 for a status not listed."""
    if status not in DECISIONS:
        raise HTTPException(422, f"a control's status is one of: {', '.join(DECISIONS)}")
    service.lock_project(db, project)  # one decision per control, however many people save at once
    found = decisions(db, project).get(control_id)
    if found is None:
        found = ControlDecision(project_id=project.id, control_id=control_id, status=status, note=note, decided_by=user.id)
        db.add(found)
    else:
        found.status, found.note, found.decided_by, found.decided_at = status, note, user.id, utcnow()
    audit.record(db, user.username, "control.decide", project.id, control=control_id, status=status, note=note, **audited)
    db.flush()
    return found


def evidence_response(request: Request, project: Project, evidence_id: int, db: Session) -> Response:
    """An evidence file of ``project`` as a download (404 for another project's, 410 when its bytes are gone)."""
    row = db.get(EvidenceFile, evidence_id) if 0 < evidence_id <= MAX_ID else None
    if row is None or row.project_id != project.id:
        raise HTTPException(404, "not found")
    path = evidence.blob_path(Path(request.app.state.evidence_dir), row.sha256)
    if not path.is_file():
        raise HTTPException(410, "the file's bytes are missing from the evidence folder (restore it from a backup)")
    media = row.media_type + ("; charset=utf-8" if row.media_type.startswith("text/") else "")
    return FileResponse(path, media_type=media, headers=evidence.download_headers(row.filename))


def _back(form_back: str, project: Project) -> RedirectResponse:
    return RedirectResponse(form_back if form_back.startswith(f"/projects/{project.id}/") else f"/projects/{project.id}", status_code=303)


@router.post("/controls/{control_id}/decision")
def decide(project_id: int, control_id: str, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.edit_soa)
    control_id = _control(control_id)
    status, note = field(form, "status", 24), field(form, "note", 2000)
    set_decision(db, project, who.user, control_id, status, note)
    db.commit()
    return _back(field(form, "back", 200), project)


@router.post("/controls/{control_id}/evidence")
async def attach(project_id: int, control_id: str, request: Request, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.edit_soa)
    control_id = _control(control_id)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise HTTPException(422, "choose a file to attach")
    content = await upload.read(evidence.MAX_EVIDENCE_BYTES + 1)
    add_evidence(db, request, project, who.user, control_id, upload.filename, content)
    db.commit()
    return _back(field(form, "back", 200), project)


def add_evidence(
    db: Session, request: Request, project: Project, user: User, control_id: str, filename: str, content: bytes, token: int | None = None
) -> EvidenceFile:
    """Store ``content`` (read with a limit of one byte past the largest allowed) as evidence of a control, audited;
    413 when too large, 422 when empty, 415 when its bytes are not an allowed kind. The caller commits."""
    if len(content) > evidence.MAX_EVIDENCE_BYTES:
        raise HTTPException(413, f"an evidence file is at most {evidence.MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB")
    if not content:
        raise HTTPException(422, "the file is empty")
    name = evidence.safe_filename(filename)
    try:
        kind = evidence.media_type(name, content)
    except evidence.EvidenceRefused as exc:
        raise HTTPException(415, str(exc)) from None
    digest = evidence.store(Path(request.app.state.evidence_dir), content)
    row = EvidenceFile(
        project_id=project.id, control_id=control_id, sha256=digest, size=len(content), media_type=kind, filename=name, uploaded_by=user.id
    )
    db.add(row)
    db.flush()
    detail = {"token": token} if token is not None else {}
    audit.record(
        db,
        user.username,
        "evidence.add",
        project.id,
        control=control_id,
        evidence=row.id,
        sha256=digest,
        size=len(content),
        filename=name,
        **detail,
    )
    return row


@router.get("/evidence/{evidence_id}")
def download(project_id: int, evidence_id: int, request: Request, who: CallerDep, db: DbDep) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.view_expert)
    return evidence_response(request, project, evidence_id, db)
