"""What every request needs: a database session, the signed-in caller, a CSRF-checked form, pages.

Every page that is not the sign-in or sign-up page needs a live session; without one a page
request is sent to ``/login``. Every POST that changes something carries the session's CSRF token
in its form (``csrf``); a missing or wrong token is refused with 403 before the handler runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from domosec.web.db import ApiToken, User, WebSession
from domosec.web.security import SESSION_COOKIE, api_token_for, same_token, session_for

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
MAX_FORM_FIELD = 4 * 1024 * 1024


class LoginRequired(Exception):
    """Raised for a request without a live session; answered with a redirect to the sign-in page."""


@dataclass(frozen=True)
class Caller:
    user: User
    session: WebSession


def db_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as db:
        yield db


def caller(request: Request, db: Annotated[Session, Depends(db_session)]) -> Caller:
    found = session_for(db, request.cookies.get(SESSION_COOKIE))
    user = db.get(User, found.user_id) if found else None
    if found is None or user is None or not found.verified:
        raise LoginRequired()
    return Caller(user, found)


def second_step_caller(request: Request, db: Annotated[Session, Depends(db_session)]) -> Caller:
    """A session between the right password and the TOTP code (and nothing else)."""
    found = session_for(db, request.cookies.get(SESSION_COOKIE))
    user = db.get(User, found.user_id) if found else None
    if found is None or user is None or found.verified:
        raise LoginRequired()
    return Caller(user, found)


async def checked_form(request: Request, who: Annotated[Caller, Depends(caller)]) -> FormData:
    """The submitted form, once its CSRF token matches the caller's session."""
    form = await request.form(max_part_size=MAX_FORM_FIELD)
    token = form.get("csrf")
    if not isinstance(token, str) or not same_token(who.session.csrf_token, token):
        raise HTTPException(403, "the form's security token is missing or stale: reload the page and try again")
    return form


def field(form: FormData, name: str, limit: int = 200) -> str:
    """A text field of ``form`` (empty when absent), refused with 422 when longer than ``limit`` characters."""
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HTTPException(422, f"'{name}' must be text")
    if len(value) > limit:
        raise HTTPException(422, f"'{name}' is longer than {limit} characters")
    return value.strip() if limit <= 2000 else value


def page(request: Request, name: str, who: Caller | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.update(request=request, me=who.user if who else None, csrf=who.session.csrf_token if who else "")
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


@dataclass(frozen=True)
class ApiCaller:
    user: User
    token: ApiToken


_bearer = HTTPBearer(auto_error=False, description="An API token made on the workspace's *API tokens* page (`dsw_…`).")
UNAUTHORISED = {"WWW-Authenticate": "Bearer"}


def api_caller(
    request: Request,
    db: Annotated[Session, Depends(db_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiCaller:
    """The user of the request's bearer token (401 without a live one); a ``read`` token may only read (403)."""
    found = api_token_for(db, credentials.credentials) if credentials else None
    user = db.get(User, found.user_id) if found else None
    if found is None or user is None:
        raise HTTPException(401, "a live API token is needed: Authorization: Bearer dsw_…", headers=UNAUTHORISED)
    if request.method not in ("GET", "HEAD") and found.scope != "write":
        raise HTTPException(403, "this token may only read")
    return ApiCaller(user, found)


CallerDep = Annotated[Caller, Depends(caller)]
SecondStepDep = Annotated[Caller, Depends(second_step_caller)]
ApiCallerDep = Annotated[ApiCaller, Depends(api_caller)]
DbDep = Annotated[Session, Depends(db_session)]
FormDep = Annotated[FormData, Depends(checked_form)]
