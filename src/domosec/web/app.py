"""The workspace application: FastAPI with server-rendered pages, over one database.

:func:`create_app` takes a database URL, brings its schema to the newest migration and returns the
ASGI application; ``domosec serve`` runs it with uvicorn. Pages carry a strict Content Security
Policy (no script at all, styles from the page's own stylesheet), are never cached, and may not
be framed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from domosec import __version__
from domosec.web import evidence, migrate
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
    db_url: str = DEFAULT_DB, *, run_migrations: bool = True, evidence_dir: Path | None = None, vulndb: Path | None = None
) -> FastAPI:
    """The application over ``db_url``; evidence files are kept in ``evidence_dir`` (default: :func:`evidence.default_dir`);
    SBOM imports are matched against the vulnerability store ``vulndb`` when given."""
    engine = make_engine(db_url)
    if run_migrations:
        migrate.upgrade(engine)
    app = FastAPI(
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
