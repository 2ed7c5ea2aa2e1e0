"""A person's own settings: API tokens for automation, and the optional TOTP second step with its recovery codes.

Secrets are shown once, on the page that makes them (a token, a TOTP seed with its QR code, recovery
codes) and never again: the database keeps a token's and a recovery code's digest only, and the seed
is not shown after enrolment. Making and revoking them is audited, without the secret.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from domosec.web import audit, totp
from domosec.web.db import ApiToken, RecoveryCode, utcnow
from domosec.web.deps import CallerDep, DbDep, FormDep, field, page
from domosec.web.security import TOKEN_SCOPES, new_api_token, verify_password

router = APIRouter(prefix="/account", include_in_schema=False)


@router.get("/tokens")
def tokens_page(request: Request, who: CallerDep, db: DbDep) -> Response:
    tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == who.user.id).order_by(ApiToken.id.desc())).all()
    return page(request, "tokens.html", who, tokens=tokens, scopes=TOKEN_SCOPES)


@router.post("/tokens")
def create_token(request: Request, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    name, scope = field(form, "name", 100) or "token", field(form, "scope", 8)
    if scope not in TOKEN_SCOPES:
        raise HTTPException(422, f"a token's scope is one of: {', '.join(TOKEN_SCOPES)}")
    row, token = new_api_token(db, who.user, name, scope)
    audit.record(db, who.user.username, "token.create", token=row.id, name=name, scope=scope)
    db.commit()
    return page(request, "token_created.html", who, 201, row=row, token=token)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: int, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != who.user.id:
        raise HTTPException(404, "no such token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(db, who.user.username, "token.revoke", token=row.id, name=row.name)
        db.commit()
    return RedirectResponse("/account/tokens", status_code=303)


@router.get("/security")
def security_page(request: Request, who: CallerDep, db: DbDep) -> Response:
    left = totp.recovery_codes_left(db, who.user) if who.user.totp_secret else 0
    return page(request, "security.html", who, enabled=bool(who.user.totp_secret), left=left)


@router.post("/totp/start")
def totp_start(request: Request, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    """A new seed, pending until a code from it is entered: shown now, as a QR code and as text, and never again."""
    user = db.merge(who.user)
    if user.totp_secret:
        raise HTTPException(409, "two-step sign-in is already on: turn it off first to enrol a new authenticator")
    user.totp_pending = totp.new_secret()
    db.commit()
    qr = totp.enrolment_qr(user.totp_pending, user.username)
    return page(request, "totp_enrol.html", who, secret=user.totp_pending, qr=qr)


@router.post("/totp/confirm")
def totp_confirm(request: Request, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    user = db.merge(who.user)
    if not user.totp_pending:
        raise HTTPException(409, "start the enrolment first")
    step = totp.matching_step(user.totp_pending, field(form, "code", 20), None)
    if step is None:
        return page(request, "totp_enrol.html", who, 422, secret=None, qr=None, error="That code does not match: try the next one.")
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step
    codes = totp.new_recovery_codes(db, user)
    audit.record(db, user.username, "totp.enable", recovery_codes=len(codes))
    db.commit()
    return page(request, "recovery_codes.html", who, codes=codes)


@router.post("/totp/disable")
def totp_disable(request: Request, form: FormDep, who: CallerDep, db: DbDep) -> Response:
    """Turn the second step off: the password is asked again."""
    user = db.merge(who.user)
    if not verify_password(user, field(form, "password", 1000)):
        raise HTTPException(403, "wrong password: two-step sign-in stays on")
    user.totp_secret = user.totp_pending = user.totp_last_step = None
    for code in user_codes(db, user.id):
        db.delete(code)
    audit.record(db, user.username, "totp.disable")
    db.commit()
    return RedirectResponse("/account/security", status_code=303)


def user_codes(db: DbDep, user_id: int) -> list[RecoveryCode]:
    return list(db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)))
