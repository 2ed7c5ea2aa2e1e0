"""Passwords, sessions, CSRF tokens and the login rate limit.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
profile). A session cookie holds 32 random bytes; the database keeps only their SHA-256, so
neither a page, a log, an export nor a stolen database copy holds a usable token. Every form that
changes something carries the session's CSRF token, compared in constant time. Sign-in is refused
(HTTP 429) after :data:`MAX_FAILURES` failures for one user name or from one address within
:data:`FAILURE_WINDOW`, counted from the stored login history, so neither a restart nor several server processes
reset or split it; an attempt is stored before it is checked (:func:`start_attempt`), so attempts sent at once do
not all pass the check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domosec.web.db import ApiToken, LoginEvent, User, WebSession, utcnow

SESSION_COOKIE = "domosec_session"
LOGIN_CSRF_COOKIE = "domosec_login_csrf"
SESSION_LIFETIME = dt.timedelta(hours=12)
SECOND_STEP_LIFETIME = dt.timedelta(minutes=5)
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
TOKEN_PREFIX = "dsw_"
TOKEN_SCOPES = ("read", "write")
TOKEN_USE_GRANULARITY = dt.timedelta(minutes=1)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("domosec: a password nobody has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """True when ``password`` is ``user``'s; an unknown user costs the same time as a wrong password."""
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session(db: Session, user: User, *, verified: bool = True) -> str:
    """Start a session for ``user``; the cookie value is returned and never stored. An unverified session (a right
    password, the TOTP code still to come) lasts :data:`SECOND_STEP_LIFETIME` and opens nothing but that step."""
    token = secrets.token_urlsafe(32)
    lifetime = SESSION_LIFETIME if verified else SECOND_STEP_LIFETIME
    db.add(
        WebSession(
            token_hash=token_hash(token),
            csrf_token=secrets.token_urlsafe(32),
            user_id=user.id,
            expires_at=utcnow() + lifetime,
            verified=verified,
        )
    )
    return token


def session_for(db: Session, token: str | None) -> WebSession | None:
    """The live session whose cookie is ``token``, else None (expired sessions are removed)."""
    if not token or len(token) > 100:
        return None
    found = db.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if found is None:
        return None
    if found.expires_at <= utcnow():
        db.delete(found)
        db.commit()
        return None
    return found


def same_token(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _recent_failures(db: Session, username: str, address: str) -> int:
    since = utcnow() - FAILURE_WINDOW
    failures = db.scalar(
        select(func.count())
        .select_from(LoginEvent)
        .where(LoginEvent.success.is_(False), LoginEvent.at >= since, or_(LoginEvent.username == username, LoginEvent.address == address))
    )
    return failures or 0


def start_attempt(db: Session, username: str, address: str, user: User | None = None) -> LoginEvent | None:
    """Count a sign-in attempt before its password or code is checked, or None when the limit is reached.

    The attempt is written (and committed) as a failure first, then the failures are counted with it: attempts sent
    at once, to one server process or to several, each see the ones committed before them, so no more than
    :data:`MAX_FAILURES` are checked in a window. A refused attempt is removed again (refusals do not extend the
    block); a right one is turned into a success with :func:`attempt_succeeded`."""
    event = LoginEvent(username=username[:64], user_id=user.id if user else None, address=address[:64], success=False)
    db.add(event)
    db.commit()
    if _recent_failures(db, username, address) > MAX_FAILURES:
        db.delete(event)
        db.commit()
        return None
    return event


def attempt_succeeded(event: LoginEvent, user: User) -> None:
    event.success = True
    event.user_id = user.id


def record_login(db: Session, username: str, user: User | None, address: str, success: bool) -> None:
    db.add(LoginEvent(username=username[:64], user_id=user.id if user else None, address=address[:64], success=success))


def new_api_token(db: Session, user: User, name: str, scope: str) -> tuple[ApiToken, str]:
    """A new API token for ``user``: the row (holding only the SHA-256) and the token, to be shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:100], scope=scope, token_hash=token_hash(token))
    db.add(row)
    db.flush()
    return row, token


def api_token_for(db: Session, token: str) -> ApiToken | None:
    """The live (not revoked) token row for a presented token, else None; notes when it was last used."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    found = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None)))
    if found is not None and (found.last_used_at is None or utcnow() - found.last_used_at >= TOKEN_USE_GRANULARITY):
        found.last_used_at = utcnow()
        db.commit()
    return found
