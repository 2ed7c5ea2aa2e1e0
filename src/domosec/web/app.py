"""The workspace application: FastAPI with server-rendered pages, over one database.

:func:`create_app` takes a database URL, brings its schema to the newest migration and returns the
ASGI application; ``domosec serve`` runs it with uvicorn. Pages carry a strict Content Security
Policy (no script at all, styles from the page's own stylesheet), are never cached, and may not
be framed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from domosec import __version__
from domosec.web import evidence, migrate
from domosec.web.assess_pool import DEFAULT_TIME_LIMIT, AssessmentFailed, Assessor
from domosec.web.db import make_engine, make_sessionmaker
from domosec.web.deps import LoginRequired, page
from domosec.web.routes_account import router as account_router
from domosec.web.routes_api import router as api_router
from domosec.web.routes_auth import router as auth_router
from domosec.web.routes_imports import api_router as imports_api_router
from domosec.web.routes_imports import router as imports_router
from domosec.web.routes_projects import router as project_router
from domosec.web.routes_soa import router as soa_router

CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
DEFAULT_DB = "sqlite:///domosec-workspace.sqlite"
OPENAPI_URL = "/api/openapi.json"
MAX_REQUEST_BYTES = evidence.MAX_EVIDENCE_BYTES + 1024 * 1024
"""The largest request body taken (an evidence file and its form); a larger declared body is refused before it is read."""


def create_app(
    db_url: str = DEFAULT_DB,
    *,
    run_migrations: bool = True,
    evidence_dir: Path | None = None,
    vulndb: Path | None = None,
    assess_workers: int = 0,
    assess_time_limit: float = DEFAULT_TIME_LIMIT,
) -> FastAPI:
    """The application over ``db_url``; evidence files are kept in ``evidence_dir`` (default: :func:`evidence.default_dir`);
    SBOM imports are matched against the vulnerability store ``vulndb`` when given. Assessments run in
    ``assess_workers`` worker processes (started with the application; 0: in the request's thread), each stopped after
    ``assess_time_limit`` seconds."""
    engine = make_engine(db_url)
    if run_migrations:
        migrate.upgrade(engine)
    assessor = Assessor(assess_workers, assess_time_limit)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        assessor.start()
        try:
            yield
        finally:
            assessor.close()

    app = FastAPI(
        lifespan=lifespan,
        title="domosec workspace",
        version=__version__,
        description="The assessment workspace's API: projects, model versions, assessments, findings, treatments, reports. "
        "Every request carries an API token (`Authorization: Bearer dsw_…`) made on the workspace's *API tokens* page.",
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL,
    )
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.sessionmaker.configure(info={"assessor": assessor})  # service.run_assessment finds it there
    app.state.assessor = assessor
    app.state.evidence_dir = evidence_dir or evidence.default_dir(db_url)
    app.state.vulndb = vulndb
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static")
    app.include_router(auth_router)
    app.include_router(project_router)
    app.include_router(soa_router)
    app.include_router(account_router)
    app.include_router(api_router)
    app.include_router(imports_router)
    app.include_router(imports_api_router)

    @app.get("/favicon.ico", include_in_schema=False)
    def _favicon() -> Response:
        return Response(status_code=204)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return Response("sign in first", status_code=401, media_type="text/plain")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
        return page(request, "error.html", None, exc.status_code, status=exc.status_code, message=str(exc.detail))

    @app.exception_handler(AssessmentFailed)
    async def _assessment_failed(request: Request, exc: AssessmentFailed) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers={"Retry-After": "10"})
        return page(request, "error.html", None, exc.status_code, status=exc.status_code, message=str(exc))

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_REQUEST_BYTES:
            too_big = declared.isdigit()
            message = f"a request body is at most {MAX_REQUEST_BYTES} bytes" if too_big else "bad Content-Length"
            response: Response = Response(message, status_code=413 if too_big else 400, media_type="text/plain")
        else:
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


SETTINGS_VARIABLE = "DOMOSEC_SERVE_SETTINGS"
FACTORY = "domosec.web.app:app_from_environment"
"""What uvicorn's worker processes import (``domosec serve --workers N`` with N > 1)."""


@dataclass(frozen=True)
class ServeSettings:
    """``domosec serve``'s options for the application, handed to uvicorn's worker processes in the environment."""

    db_url: str
    evidence_dir: str | None = None
    vulndb: str | None = None
    assess_workers: int = 1
    assess_time_limit: float = DEFAULT_TIME_LIMIT

    def export(self) -> None:
        os.environ[SETTINGS_VARIABLE] = json.dumps(asdict(self))


def app_from_settings(settings: ServeSettings) -> FastAPI:
    """The application of ``domosec serve`` (its schema is already upgraded: the command does it once, first)."""
    return create_app(
        settings.db_url,
        run_migrations=False,
        evidence_dir=Path(settings.evidence_dir) if settings.evidence_dir else None,
        vulndb=Path(settings.vulndb) if settings.vulndb else None,
        assess_workers=settings.assess_workers,
        assess_time_limit=settings.assess_time_limit,
    )


def app_from_environment() -> FastAPI:
    """The application of one of uvicorn's worker processes, from the settings ``domosec serve`` exported."""
    threading.Thread(target=_stop_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    return app_from_settings(ServeSettings(**json.loads(os.environ[SETTINGS_VARIABLE])))


def _stop_with_parent(parent: int) -> None:
    """Stop this worker (SIGTERM: uvicorn's graceful shutdown) when the ``domosec serve`` process that started it is
    gone (killed with SIGKILL, say), so no worker is left serving the port on its own."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def default_workers() -> int:
    """Web server processes when ``--workers`` is not given: the CPUs this process may use, at most 4.

    A page costs a few ms of CPU in one interpreter (one GIL), so one process uses one CPU at most; more processes than
    CPUs only add memory and database connections."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, 4))
