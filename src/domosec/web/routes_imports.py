"""Imports into a project's model versions, in the browser and through the API (``web/imports.py`` does the work).

An import needs the ``edit_model`` permission (owners, assessors). It reads the uploaded file with the command line's
importer, merges it into the project's newest model version (nmap, SBOM, capture), saves the result as a new version
with the import in its note, and records ``model.import`` in the audit log. Problems are shown as the command line
shows them (422); a server without the extra an import needs says which (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from domosec.errors import Diagnostic, InputError
from domosec.web import audit, imports, service
from domosec.web.access import MAX_ID, Permission, project_for
from domosec.web.api_models import ModelProblem, ModelProblems, ModelVersionOut, Problem, ValidationErrors
from domosec.web.db import ModelVersion, Project, User
from domosec.web.deps import ApiCallerDep, CallerDep, DbDep, FormDep, field, page
from domosec.web.routes_api import ERRORS

router = APIRouter(prefix="/projects/{project_id}/imports", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["workspace"], responses=ERRORS)
KIND_PATTERN = "^(" + "|".join(imports.KINDS) + ")$"


class ImportedOut(ModelVersionOut):
    summary: list[str]


def _import(
    db: Session, request: Request, project: Project, user: User, kind: str, filename: str, data: bytes, asset: str
) -> tuple[ModelVersion, list[str]] | list[Diagnostic]:
    """The new model version and the import's summary, or the problems (of the import, or of the model it made)."""
    newest = db.scalar(select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.number.desc()).limit(1))
    base = newest.text if newest is not None and kind != "homeassistant" else None
    try:
        result = imports.run_import(kind, filename, data, base, asset.strip(), request.app.state.vulndb)
    except InputError as exc:
        return sorted(exc.diagnostics)
    saved = service.add_model_version(db, project, user, result.text, result.note)
    if isinstance(saved, service.ModelProblems):
        return saved.diagnostics
    return saved, result.summary


def _status(problems: list[Diagnostic]) -> int:
    return 409 if any(d.code == "missing-extra" for d in problems) else 422


@router.get("/new")
def import_form(project_id: int, request: Request, who: CallerDep, db: DbDep) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    return page(request, "import_form.html", who, project=project, kinds=imports.KINDS, problems=None, kind="", asset="")


@router.post("")
async def import_upload(project_id: int, request: Request, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    kind, asset = field(form, "kind", 32), field(form, "asset", 200)
    upload = form.get("file")
    if kind not in imports.KINDS:
        raise HTTPException(422, f"an import is one of: {', '.join(imports.KINDS)}")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise HTTPException(422, "choose a file to import")
    data = await upload.read(imports.MAX_UPLOAD_BYTES + 1)
    result = _import(db, request, project, who.user, kind, upload.filename, data, asset)
    if isinstance(result, list):
        context = {"project": project, "kinds": imports.KINDS, "problems": result, "kind": kind, "asset": asset}
        return page(request, "import_form.html", who, _status(result), **context)
    version, _summary = result
    audit.record(
        db, who.user.username, "model.import", project.id, model_version=version.number, kind=kind, note=version.note, sha256=version.sha256
    )
    db.commit()
    return RedirectResponse(f"/projects/{project.id}/models/{version.id}", status_code=303)


@api_router.post(
    "/projects/{project_id}/imports/{kind}",
    status_code=201,
    responses={409: {"model": Problem}, 422: {"model": ModelProblems | ValidationErrors}},
)
async def import_api(
    project_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    kind: Annotated[str, Path(pattern=KIND_PATTERN)],
    request: Request,
    who: ApiCallerDep,
    db: DbDep,
    file: Annotated[UploadFile, File(description="The file: a zip/tar of a Home Assistant folder, nmap XML, an SBOM or a capture.")],
    asset: Annotated[str, Form(max_length=200, description="For an SBOM: the device or gateway it belongs to.")] = "",
) -> Any:
    """Import evidence as a new model version (merged into the newest version, but a Home Assistant import, which is whole)."""
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    data = await file.read(imports.MAX_UPLOAD_BYTES + 1)
    result = _import(db, request, project, who.user, kind, file.filename or "upload", data, asset)
    if isinstance(result, list):
        if _status(result) == 409:
            return JSONResponse({"detail": result[0].message}, status_code=409)
        problems = [
            ModelProblem(file=d.file, line=d.line, column=d.col, severity=d.severity, code=d.code, message=d.message, text=d.render())
            for d in result
        ]
        return JSONResponse(ModelProblems(detail="the import has errors", problems=problems).model_dump(), status_code=422)
    version, summary = result
    audit.record(
        db,
        who.user.username,
        "model.import",
        project.id,
        model_version=version.number,
        kind=kind,
        note=version.note,
        sha256=version.sha256,
        token=who.token.id,
    )
    db.commit()
    return ImportedOut(**ModelVersionOut.model_validate(version).model_dump(), summary=summary)
