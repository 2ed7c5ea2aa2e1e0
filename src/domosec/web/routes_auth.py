"""Signing up, in and out, the login history, and the list of organisations and projects."""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from domosec.web import audit, totp
from domosec.web.access import is_org_admin
from domosec.web.db import LoginEvent, Membership, Organisation, OrgMember, Project, User
from domosec.web.deps import CallerDep, DbDep, FormDep, SecondStepDep, field, page
from domosec.web.security import (
    LOGIN_CSRF_COOKIE,
    MIN_PASSWORD,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    attempt_succeeded,
    hash_password,
    new_session,
    record_login,
    same_token,
    start_attempt,
    verify_password,
)

router = APIRouter(include_in_schema=False)
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _anonymous_page(request: Request, name: str, status_code: int = 200, **context: object) -> Response:
    """A sign-in or sign-up page with its own CSRF token (double submit: cookie and form field)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, name, None, status_code, login_csrf=token, **context)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, secure=True, samesite="strict")
    return response


async def _anonymous_form(request: Request) -> FormData:
    form = await request.form(max_part_size=4096)
    token = form.get("csrf")
    if not isinstance(token, str) or not same_token(request.cookies.get(LOGIN_CSRF_COOKIE) or "", token):
        raise HTTPException(403, "the form's security token is missing or stale: reload the page and try again")
    return form


AnonFormDep = Annotated[FormData, Depends(_anonymous_form)]


def _signed_in(db: Session, user: User, *, verified: bool = True) -> Response:
    token = new_session(db, user, verified=verified)
    db.commit()
    response = RedirectResponse("/" if verified else "/login/totp", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True, secure=True, samesite="strict")
    return response


@router.get("/signup")
def signup_page(request: Request) -> Response:
    return _anonymous_page(request, "signup.html")


@router.post("/signup")
def signup(request: Request, form: AnonFormDep, db: DbDep) -> Response:
    username = field(form, "username", 64).lower()
    password = field(form, "password", 1000)
    error = ""
    if not USERNAME.fullmatch(username):
        error = "A user name is 2–64 lower-case letters, digits, dots, dashes or underscores."
    elif len(password) < MIN_PASSWORD:
        error = f"A password has at least {MIN_PASSWORD} characters."
    elif db.scalar(select(User.id).where(User.username == username)) is not None:
        error = "That user name is taken."
    if error:
        return _anonymous_page(request, "signup.html", 422, error=error, username=username)
    user = User(username=username, password_hash=hash_password(password))
    db.add(user)
    db.flush()
    audit.record(db, username, "user.signup", user_id=user.id)
    record_login(db, username, user, _address(request), True)
    return _signed_in(db, user)


@router.get("/login")
def login_page(request: Request) -> Response:
    return _anonymous_page(request, "login.html")


@router.post("/login")
def login(request: Request, form: AnonFormDep, db: DbDep) -> Response:
    username = field(form, "username", 64).lower()
    password = field(form, "password", 1000)
    address = _address(request)
    attempt = start_attempt(db, username, address)  # counted before the password is checked (several processes)
    if attempt is None:
        return _anonymous_page(request, "login.html", 429, error="Too many failed sign-ins: wait 15 minutes.", username=username)
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user, password)
    if not ok or user is None:  # the attempt stays a failure
        return _anonymous_page(request, "login.html", 401, error="Wrong user name or password.", username=username)
    failed = db.scalars(select(LoginEvent).where(LoginEvent.user_id.is_(None), LoginEvent.username == username))
    for event in failed:  # failures under this name become part of the user's history
        event.user_id = user.id
    if user.totp_secret:  # the sign-in is recorded after the second step
        db.delete(attempt)
        return _signed_in(db, user, verified=False)
    attempt_succeeded(attempt, user)
    return _signed_in(db, user)


@router.get("/login/totp")
def second_step_page(request: Request, who: SecondStepDep) -> Response:
    return page(request, "login_totp.html", None, csrf_token=who.session.csrf_token)


@router.post("/login/totp")
async def second_step(request: Request, who: SecondStepDep, db: DbDep) -> Response:
    """The TOTP code (or a recovery code) after the right password; failures count towards the sign-in limit."""
    form = await request.form(max_part_size=4096)
    token, code = form.get("csrf"), form.get("code")
    if not isinstance(token, str) or not same_token(who.session.csrf_token, token) or not isinstance(code, str):
        raise HTTPException(403, "the form's security token is missing or stale: reload the page and try again")
    user, address = db.merge(who.user), _address(request)
    attempt = start_attempt(db, user.username, address, user)
    if attempt is None:
        return page(
            request, "login_totp.html", None, 429, csrf_token=who.session.csrf_token, error="Too many failed sign-ins: wait 15 minutes."
        )
    step = totp.matching_step(user.totp_secret, code, user.totp_last_step) if user.totp_secret else None
    recovered = step is None and totp.use_recovery_code(db, user, code)
    if step is None and not recovered:  # the attempt stays a failure
        return page(request, "login_totp.html", None, 401, csrf_token=who.session.csrf_token, error="That code is not right (or was used).")
    if step is not None:
        user.totp_last_step = step
    else:
        audit.record(db, user.username, "totp.recovery-code-used", left=totp.recovery_codes_left(db, user))
    db.delete(db.merge(who.session))  # a new session (and cookie) once both steps are done
    attempt_succeeded(attempt, user)
    return _signed_in(db, user)


@router.post("/logout")
def logout(form: FormDep, who: CallerDep, db: DbDep) -> Response:
    session = db.merge(who.session)
    db.delete(session)
    db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, secure=True, httponly=True, samesite="strict")
    return response


@router.get("/account/logins")
def login_history(request: Request, who: CallerDep, db: DbDep) -> Response:
    events = db.scalars(select(LoginEvent).where(LoginEvent.user_id == who.user.id).order_by(LoginEvent.id.desc()).limit(200)).all()
    return page(request, "logins.html", who, events=events)


@router.get("/")
def dashboard(request: Request, who: CallerDep, db: DbDep) -> Response:
    orgs = db.execute(
        select(Organisation, OrgMember.is_admin)
        .join(OrgMember, OrgMember.org_id == Organisation.id)
        .where(OrgMember.user_id == who.user.id)
        .order_by(Organisation.name, Organisation.id)
    ).all()
    projects = db.execute(
        select(Project, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == who.user.id)
        .order_by(Project.name, Project.id)
    ).all()
    return page(request, "dashboard.html", who, orgs=orgs, projects=projects)


@router.post("/orgs")
def create_org(form: FormDep, who: CallerDep, db: DbDep) -> Response:
    name = field(form, "name") or "Organisation"
    org = Organisation(name=name)
    db.add(org)
    db.flush()
    db.add(OrgMember(org_id=org.id, user_id=who.user.id, is_admin=True))
    audit.record(db, who.user.username, "organisation.create", org_id=org.id, name=name)
    db.commit()
    return RedirectResponse("/", status_code=303)


@router.post("/orgs/{org_id}/projects")
def create_project(org_id: int, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    if not is_org_admin(db, who.user, org_id):
        raise HTTPException(404, "no such organisation")
    name = field(form, "name") or "Project"
    project = Project(org_id=org_id, name=name)
    db.add(project)
    db.flush()
    db.add(Membership(project_id=project.id, user_id=who.user.id, role="owner"))
    audit.record(db, who.user.username, "project.create", project.id, org_id=org_id, name=name)
    db.commit()
    return RedirectResponse(f"/projects/{project.id}", status_code=303)
