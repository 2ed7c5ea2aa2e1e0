"""Optional TOTP at sign-in: enrolment with a QR code and a key shown once, codes checked at sign-in (once each),
recovery codes, and the seed never in a later page, the audit log or a sign-in page."""

from __future__ import annotations

import re
import sqlite3
import time

import pyotp
from fastapi import FastAPI

from domosec.web.security import MAX_FAILURES
from tests.web.conftest import CSRF, PASSWORD, Person

SECRET = re.compile(r'id="totp-secret" readonly value="([A-Z2-7]+)"')


def enrol(alice: Person) -> tuple[str, list[str]]:
    """Two-step sign-in turned on through the pages: the seed and the recovery codes, as shown once."""
    started = alice.client.post("/account/totp/start", data={"csrf": alice.csrf})
    assert started.status_code == 200 and "<svg" in started.text and "<script" not in started.text
    secret = SECRET.search(started.text).group(1)  # type: ignore[union-attr]
    wrong = alice.client.post("/account/totp/confirm", data={"csrf": alice.csrf, "code": "000000"})
    assert wrong.status_code == 422 and secret not in wrong.text
    confirmed = alice.client.post("/account/totp/confirm", data={"csrf": alice.csrf, "code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200
    codes = re.findall(r"<code>([0-9a-f-]{24})</code>", confirmed.text)
    assert len(codes) == 10
    return secret, codes


def password_step(person: Person) -> int:
    token = person.form_token("/login")
    response = person.client.post("/login", data={"csrf": token, "username": person.username, "password": PASSWORD}, follow_redirects=False)
    return response.status_code if response.status_code != 303 else int(response.headers["location"] == "/login/totp") * 1000 + 303


def code_step(person: Person, code: str) -> int:
    page = person.client.get("/login/totp", follow_redirects=False)
    if page.status_code != 200:
        return page.status_code
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    return person.client.post("/login/totp", data={"csrf": token, "code": code}, follow_redirects=False).status_code


def test_enrol_then_sign_in_with_a_code_once(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    secret, codes = enrol(alice)
    security = alice.client.get("/account/security").text
    assert "On:" in security and secret not in security and codes[0] not in security

    browser = Person(app, "alice")
    assert password_step(browser) == 1303, "the password alone signed in"
    assert browser.get("/") == 303 and browser.get("/account/tokens") == 303, "half signed in opens pages"
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the code of enrolment's own step is spent: the next one
    assert code_step(browser, "123456" if code != "123456" else "654321") == 401
    assert code_step(browser, code) == 303
    assert "signed in as alice" in browser.client.get("/").text

    replay = Person(app, "alice")
    assert password_step(replay) == 1303
    assert code_step(replay, code) == 401, "a code was accepted twice"

    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        audit = "\n".join(r[0] + r[1] for r in con.execute("select action, detail from audit_log"))
        stored_codes = [r[0] for r in con.execute("select code_hash from recovery_codes")]
    assert "totp.enable" in audit and secret not in audit
    assert not set(codes) & set(stored_codes)


def test_recovery_code_works_once(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    _, codes = enrol(alice)
    first = Person(app, "alice")
    assert password_step(first) == 1303 and code_step(first, codes[3].upper()) == 303
    second = Person(app, "alice")
    assert password_step(second) == 1303 and code_step(second, codes[3]) == 401
    assert "9 recovery codes left" in first.client.get("/account/security").text


def test_wrong_codes_count_towards_the_sign_in_limit(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    secret, _ = enrol(alice)
    mallory = Person(app, "alice")
    assert password_step(mallory) == 1303
    for _ in range(MAX_FAILURES):
        assert code_step(mallory, "000000") == 401
    assert code_step(mallory, pyotp.TOTP(secret).at(time.time() + 30)) == 429


def test_turning_it_off_needs_the_password(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    enrol(alice)
    assert alice.post("/account/totp/disable", password="not my password") == 403
    assert alice.post("/account/totp/disable", password=PASSWORD) == 303
    assert "Off." in alice.client.get("/account/security").text
    assert Person(app, "alice").login() == 303


def test_codes_from_the_step_before_and_after_are_accepted() -> None:
    from domosec.web.totp import matching_step

    secret = pyotp.random_base32()
    now = time.time()
    otp = pyotp.TOTP(secret)
    step = int(now // 30)
    assert matching_step(secret, otp.at(now - 30), None, now) == step - 1
    assert matching_step(secret, otp.at(now + 30), None, now) == step + 1
    assert matching_step(secret, otp.at(now - 90), None, now) is None
    assert matching_step(secret, otp.at(now), step, now) is None
