"""Optional second step at sign-in: TOTP (RFC 6238, with pyotp) and one-time recovery codes.

A seed is made when a person starts enrolling and shown once, as a QR code and as text; it becomes
the account's seed only when a code from it is entered. A code is accepted within one 30-second
step either side of now, and only once (the step of the last accepted code is kept). Recovery codes
hold 80 random bits each; only their SHA-256 is stored, and each works once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from domosec.web.db import RecoveryCode, User, utcnow

ISSUER = "domosec workspace"
RECOVERY_CODES = 10
STEP = 30


def new_secret() -> str:
    return pyotp.random_base32()


def enrolment_qr(secret: str, username: str) -> str:
    """The ``otpauth://`` URI as an inline SVG QR code (markup only: no script, no style)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    return str(segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app"))


def matching_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step whose code is ``code`` (now or one step either side), if it is later than ``last_step``."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    otp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP)
    for step in (current - 1, current, current + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(otp.generate_otp(step), code):
            return step
    return None


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode("ascii", "replace")).hexdigest()


def new_recovery_codes(db: Session, user: User) -> list[str]:
    """Replace ``user``'s recovery codes with new ones; the codes are returned once and stored as digests."""
    for old in db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    codes = ["-".join(secrets.token_hex(10)[i : i + 4] for i in range(0, 20, 4)) for _ in range(RECOVERY_CODES)]
    db.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(code)) for code in codes)
    return codes


def use_recovery_code(db: Session, user: User, code: str) -> bool:
    """True (and the code spent) when ``code`` is one of ``user``'s unused recovery codes."""
    if len(code) > 40:
        return False
    found = db.scalar(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _digest(code), RecoveryCode.used_at.is_(None))
    )
    if found is None:
        return False
    found.used_at = utcnow()
    return True


def recovery_codes_left(db: Session, user: User) -> int:
    return len(db.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())
