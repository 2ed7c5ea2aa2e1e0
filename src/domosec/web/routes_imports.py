"""Imports into a project's model versions, in the browser and through the API (``web/imports.py`` does the work).

An import needs the ``edit_model`` permission (owners, assessors). It reads the uploaded file with the command line's
importer, merges it into the project's newest model version (nmap, SBOM, capture), saves the result as a new version
with the import in its note, and records ``model.import`` in the audit log. Problems are shown as the command line
shows them (422); a server without the extra an import needs says which (409).

A live Home Assistant import takes the instance's URL and an access token. The token is used for that one request:
it is not stored, logged, audited or sent back (a page with problems shows the URL again, never the token), and
the request body is read here rather than by FastAPI, whose validation errors would echo it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from domosec.errors import Diagnostic, InputError
from domosec.web import audit, imports, service
from domosec.web.access import MAX_ID, Permission, project_for
from domosec.web.api_models import ModelProblem, ModelProblems, ModelVersionOut, Problem, ValidationErrors
from domosec.web.db import ModelVersion, Project, User
from domosec.web.deps import ApiCaller, ApiCallerDep, CallerDep, DbDep, FormDep, field, page
from domosec.web.ha_allow import HostPolicy
from domosec.web.routes_api import ERRORS

router = APIRouter(prefix="/projects/{project_id}/imports", include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["workspace"], responses=ERRORS)
KIND_PATTERN = "^(" + "|".join(imports.KINDS) + ")$"
LIVE_KIND = "homeassistant-live"
MAX_LIVE_BODY = 64 * 1024


class ImportedOut(ModelVersionOut):
    summary: list[str]


class LiveImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, description="The address Home Assistant is opened at, e.g. http://192.168.1.10:8123.")
    token: str = Field(
        max_length=imports.MAX_TOKEN_CHARS, description="A long-lived access token; used for this request only, never stored."
    )


def policy(request: Request) -> HostPolicy:
    """The server's ``--ha-allow`` entries (``app.state.ha_allow``, else ``$DOMOSEC_HA_ALLOW``; none: no live import)."""
    found = getattr(request.app.state, "ha_allow", None)
    return found if isinstance(found, HostPolicy) else HostPolicy.from_environment()


def _import(
    db: Session, project: Project, user: User, kind: str, run: Callable[[str | None], imports.Imported]
) -> tuple[ModelVersion, list[str]] | list[Diagnostic]:
    """The new model version and the import's summary, or the problems (of the import, or of the model it made)."""
    newest = db.scalar(select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.number.desc()).limit(1))
    try:
        result = run(newest.text if newest is not None and not kind.startswith("homeassistant") else None)
    except InputError as exc:
        return sorted(exc.diagnostics)
    saved = service.add_model_version(db, project, user, result.text, result.note)
    if isinstance(saved, service.ModelProblems):
        return saved.diagnostics
    return saved, result.summary


def _status(problems: list[Diagnostic]) -> int:
    return 409 if any(d.code == "missing-extra" for d in problems) else 422


def _form_page(request: Request, who: CallerDep, project: Project, status: int = 200, **context: Any) -> Response:
    values = {"problems": None, "kind": "", "asset": "", "live_problems": None, "url": "", **context}
    return page(
        request, "import_form.html", who, status, project=project, kinds=imports.KINDS, allowed=policy(request).describe(), **values
    )


async def _files(form: FormData, name: str) -> list[tuple[str, bytes]]:
    """The files chosen in the form's file field ``name`` (an empty field sends a part without a file name)."""
    return [(f.filename, await f.read(imports.MAX_UPLOAD_BYTES + 1)) for f in form.getlist(name) if not isinstance(f, str) and f.filename]


@router.get("/new")
def import_form(project_id: int, request: Request, who: CallerDep, db: DbDep) -> Response:
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    return _form_page(request, who, project)


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
    devices = (await _files(form, "devices"))[:1]
    options = imports.Options(
        vex=await _files(form, "vex"), devices=devices[0] if devices else None, trackers=await _files(form, "trackers")
    )
    vulndb, filename = request.app.state.vulndb, upload.filename
    result = _import(db, project, who.user, kind, lambda base: imports.run_import(kind, filename, data, base, asset, vulndb, options))
    if isinstance(result, list):
        return _form_page(request, who, project, _status(result), problems=result, kind=kind, asset=asset)
    version, _summary = result
    _audit_import(db, who.user, project, kind, version)
    db.commit()
    return RedirectResponse(f"/projects/{project.id}/models/{version.id}", status_code=303)


@router.post("/live")
async def import_live_form(project_id: int, request: Request, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    """A running Home Assistant, by URL and access token; the token is never shown again, even with problems."""
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    url, token = field(form, "url", 2000), form.get("token")
    if not isinstance(token, str):
        token = ""
    result = await _live(db, request, project, who.user, url, token)
    if isinstance(result, list):
        return _form_page(request, who, project, _status(result), live_problems=result, url=url)
    version, _summary = result
    _audit_import(db, who.user, project, LIVE_KIND, version)
    db.commit()
    return RedirectResponse(f"/projects/{project.id}/models/{version.id}", status_code=303)


async def _live(
    db: Session, request: Request, project: Project, user: User, url: str, token: str
) -> tuple[ModelVersion, list[str]] | list[Diagnostic]:
    allowed = policy(request)
    found: list[imports.Imported] = []

    def read(base: str | None) -> imports.Imported:
        return found[0]

    try:  # the connection runs in a worker thread (it has its own event loop and waits on the network)
        found.append(await run_in_threadpool(imports.run_live_import, url, token, allowed))
    except InputError as exc:
        return sorted(exc.diagnostics)
    return _import(db, project, user, LIVE_KIND, read)


def _problems(result: list[Diagnostic], detail: str) -> JSONResponse:
    if _status(result) == 409:
        return JSONResponse({"detail": result[0].message}, status_code=409)
    problems = [
        ModelProblem(file=d.file, line=d.line, column=d.col, severity=d.severity, code=d.code, message=d.message, text=d.render())
        for d in result
    ]
    return JSONResponse(ModelProblems(detail=detail, problems=problems).model_dump(), status_code=422)


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
    vex: Annotated[list[UploadFile] | None, File(description="For an SBOM: OpenVEX or CycloneDX VEX documents (at most 8).")] = None,
    devices: Annotated[UploadFile | None, File(description="For a capture: `mac,name` rows saying which device is which.")] = None,
    trackers: Annotated[
        list[UploadFile] | None, File(description="For a capture: tracker lists (hosts file, Adblock rules, names, Tracker Radar JSON).")
    ] = None,
) -> Any:
    """Import evidence as a new model version (merged into the newest version, but a Home Assistant import, which is whole)."""
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    data = await file.read(imports.MAX_UPLOAD_BYTES + 1)

    async def read(files: list[UploadFile] | None) -> list[tuple[str, bytes]]:
        return [(f.filename or "upload", await f.read(imports.MAX_UPLOAD_BYTES + 1)) for f in files or []]

    named = await read([devices] if devices is not None else [])
    options = imports.Options(vex=await read(vex), devices=named[0] if named else None, trackers=await read(trackers))
    vulndb, filename = request.app.state.vulndb, file.filename or "upload"
    result = _import(db, project, who.user, kind, lambda base: imports.run_import(kind, filename, data, base, asset, vulndb, options))
    if isinstance(result, list):
        return _problems(result, "the import has errors")
    return _imported(db, who, project, kind, *result)


@api_router.post(
    "/projects/{project_id}/imports/homeassistant/live",
    status_code=201,
    response_model=ImportedOut,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": LiveImportIn.model_json_schema()}}}},
    responses={409: {"model": Problem}, 422: {"model": ModelProblems | ValidationErrors}},
)
async def import_live_api(project_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request, who: ApiCallerDep, db: DbDep) -> Any:
    """Import a running Home Assistant (`{"url": …, "token": …}`) as a new model version, as `domosec import homeassistant
    --url` does. The server connects only to addresses its administrator allows (`domosec serve --ha-allow`); the token
    is used for this request and never stored or sent back."""
    project, _ = project_for(db, who.user, project_id, Permission.edit_model)
    body = await request.body()
    try:
        if len(body) > MAX_LIVE_BODY:
            raise ValueError
        given = LiveImportIn.model_validate_json(body)
    except (ValidationError, ValueError) as exc:  # never FastAPI's errors: they would echo the token
        errors = exc.errors(include_input=False, include_url=False) if isinstance(exc, ValidationError) else []
        detail = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in errors]
        return JSONResponse({"detail": detail or [{"loc": ["body"], "msg": "expected {url, token}", "type": "value_error"}]}, 422)
    result = await _live(db, request, project, who.user, given.url, given.token)
    if isinstance(result, list):
        return _problems(result, "the live import has errors")
    return _imported(db, who, project, LIVE_KIND, *result)


def _imported(db: Session, who: ApiCaller, project: Project, kind: str, version: ModelVersion, summary: list[str]) -> ImportedOut:
    """Audit an API import with the token's number, commit, and answer with the new version and the importer's summary."""
    _audit_import(db, who.user, project, kind, version, token=who.token.id)
    db.commit()
    return ImportedOut(**ModelVersionOut.model_validate(version).model_dump(), summary=summary)


def _audit_import(db: Session, user: User, project: Project, kind: str, version: ModelVersion, token: int | None = None) -> None:
    """The audit entry of an import that saved ``version`` (with the API token's number when one was used)."""
    detail = {"token": token} if token is not None else {}
    audit.record(
        db,
        user.username,
        "model.import",
        project.id,
        model_version=version.number,
        kind=kind,
        note=version.note,
        sha256=version.sha256,
        **detail,
    )
