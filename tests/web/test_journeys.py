"""The workspace's journeys over HTTP (FastAPI's TestClient against the real app and a real SQLite file)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI

from domosec.extras import missing_modules
from domosec.report.formats import FORMATS
from domosec.web.security import MAX_FAILURES, SESSION_COOKIE
from tests.conftest import run_cli
from tests.web.conftest import FAMILY_HOME, PASSWORD, Person, assess, concurrent_changes, new_project, upload

FINDING = re.compile(r'id="f-([0-9a-f]{16})"')


def test_sign_up_sign_in_history_and_sign_out(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    assert "signed in as alice" in alice.client.get("/").text
    cookie = alice.client.cookies.get(SESSION_COOKIE)
    assert alice.post("/logout") == 303
    assert alice.get("/") == 303  # to the sign-in page
    again = Person(app, "alice")
    again.client.cookies.set(SESSION_COOKIE, cookie or "")
    assert again.get("/") == 303, "a signed-out session's cookie still works"
    assert alice.login("wrong password!") == 401
    assert alice.login() == 303
    history = alice.client.get("/account/logins").text
    assert history.count("<td>signed in</td>") == 2 and history.count(">failed<") == 1


def test_login_is_rate_limited_per_user_name(app: FastAPI, db_url: str) -> None:
    Person(app, "bob").signup()
    mallory = Person(app, "bob")
    for _ in range(MAX_FAILURES):
        assert mallory.login("not the password") == 401
    assert mallory.login() == 429, "the right password is refused while the account is throttled"
    assert Person(app, "bob").login() == 429, "a new browser gets round the limit"


def test_forms_without_the_csrf_token_change_nothing(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    assert alice.client.post("/orgs", data={"name": "Evil"}, follow_redirects=False).status_code == 403
    assert alice.client.post("/orgs", data={"name": "Evil", "csrf": "x" * 43}, follow_redirects=False).status_code == 403
    stranger = Person(app, "eve")
    assert stranger.client.post("/signup", data={"username": "eve", "password": PASSWORD}).status_code == 403
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select count(*) from organisations").fetchone() == (0,)
        assert con.execute("select count(*) from users").fetchone() == (1,)


def test_model_with_errors_is_shown_inline_then_fixed_assessed_and_reported(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    broken = FAMILY_HOME.replace("encryption: wpa2 ", "encryption: wpa9 ", 1)
    response = alice.client.post(f"/projects/{project}/models", data={"csrf": alice.csrf, "text": broken, "note": "first try"})
    assert response.status_code == 422
    assert re.search(r"model-v1\.yaml:86:\d+: error\[unknown-value\]", response.text), response.text
    assert 'id="line-86"' in response.text and "wpa9" in response.text, "the error is not shown at its line"
    assert "encryption: wpa9" in response.text, "the text typed is lost"
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select count(*) from model_versions").fetchone() == (0,)

    version = upload(alice, project, FAMILY_HOME, "fixed")
    assert "Assess this version" in alice.client.get(f"/projects/{project}/models/{version}").text
    assessment = assess(alice, project, version)
    page = alice.client.get(f"/projects/{project}/assessments/{assessment}").text
    assert "catalogue" in page and "rule set" in page
    assert FINDING.search(page)
    for name, spec in sorted(FORMATS.items()):
        if name == "pdf" and missing_modules("pdf"):
            continue
        report = alice.client.get(f"/projects/{project}/assessments/{assessment}/report/{name}")
        assert report.status_code == 200, (name, report.text[:300])
        assert report.headers["content-disposition"] == f'attachment; filename="assessment-{assessment}{spec.suffix}"'
        assert report.content
    stored = alice.client.get(f"/projects/{project}/assessments/{assessment}/report/json").json()
    assert stored["findings"] and stored["catalogue_version"]


def test_accepted_risk_carries_over_and_diff_shows_the_change(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    first = assess(alice, project, upload(alice, project))
    finding = FINDING.findall(alice.client.get(f"/projects/{project}/assessments/{first}").text)[0]
    base = f"/projects/{project}/findings/{finding}/accept"
    assert alice.post(base, reason="", expires="2099-01-01") == 422
    assert alice.post(base, reason="kept for now", expires="2000-01-01") == 422
    assert alice.post(f"/projects/{project}/findings/{'0' * 16}/accept", reason="x", expires="2099-01-01") == 404
    assert alice.post(base, reason="camera replaced next spring", expires="2099-01-01") == 303

    worse = FAMILY_HOME.replace("encryption: wpa2 ", "encryption: none ", 1)
    second = assess(alice, project, upload(alice, project, worse, "guest Wi-Fi opened"))
    page = alice.client.get(f"/projects/{project}/assessments/{second}").text
    row = page[page.index(f'id="f-{finding}"') :].split("</tr>", 1)[0]
    assert "accepted by alice until 2099-01-01" in row and "camera replaced next spring" in row

    diff = alice.client.get(f"/projects/{project}/diff", params={"old": first, "new": second})
    assert diff.status_code == 200
    new_count = int(re.search(r"(\d+) new, (\d+) resolved", diff.text).group(1))  # type: ignore[union-attr]
    assert new_count > 0, "opening the Wi-Fi found nothing new"


def test_householder_sees_the_plain_view_only(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    carol = Person(app, "carol").signup()
    project = new_project(alice)
    assessment = assess(alice, project, upload(alice, project))
    assert alice.post(f"/projects/{project}/members", username="carol", role="householder") == 303
    page = carol.client.get(f"/projects/{project}/assessments/{assessment}")
    assert page.status_code == 200 and "what to fix first" in page.text
    assert not FINDING.search(page.text), "the householder sees the expert findings table"
    assert carol.get(f"/projects/{project}/assessments/{assessment}/report/html?audience=home") == 200
    assert carol.get(f"/projects/{project}/assessments/{assessment}/report/json") == 403


def test_no_secret_reaches_a_page_or_a_download(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    assessment = assess(alice, project, upload(alice, project))
    token = alice.client.cookies.get(SESSION_COOKIE)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        (password_hash,) = con.execute("select password_hash from users").fetchone()
        (token_hash,) = con.execute("select token_hash from sessions").fetchone()
        audit = " ".join(str(row) for row in con.execute("select * from audit_log"))
    assert password_hash.startswith("$argon2id$")
    assert token and token not in token_hash
    pages = ["/", "/account/logins", f"/projects/{project}", f"/projects/{project}/assessments/{assessment}"]
    pages += [f"/projects/{project}/assessments/{assessment}/report/{name}" for name in ("json", "csv", "markdown")]
    for path in pages:
        body = alice.client.get(path).text
        for secret in (password_hash, token, token_hash, PASSWORD):
            assert secret not in body, path
    for secret in (password_hash, token, token_hash, PASSWORD):
        assert secret not in audit


def test_audit_verify_detects_an_edit_and_a_deletion(app: FastAPI, db_url: str, tmp_path: Path) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    assess(alice, project, upload(alice, project))
    ok = run_cli("audit", "verify", "--db", db_url)
    assert ok.returncode == 0, ok.stderr
    head = re.search(r"head ([0-9a-f]{64})", ok.stdout).group(1)  # type: ignore[union-attr]
    assert "5 entries" in ok.stdout  # sign-up, organisation, project, model, assessment

    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        con.execute("update audit_log set actor = 'mallory' where seq = 2")
    edited = run_cli("audit", "verify", "--db", db_url)
    assert edited.returncode == 1 and "error[audit-chain-broken]: entry 2 (organisation.create) was changed" in edited.stderr
    with sqlite3.connect(path) as con:
        con.execute("update audit_log set actor = 'alice' where seq = 2")
        con.execute("delete from audit_log where seq = 3")
    deleted = run_cli("audit", "verify", "--db", db_url)
    assert deleted.returncode == 1 and "entry 3 is missing" in deleted.stderr
    with sqlite3.connect(path) as con:
        con.execute("delete from audit_log where seq >= 4")
    truncated = run_cli("audit", "verify", "--db", db_url, "--expect-head", head)
    assert truncated.returncode == 1 and "no longer in the log" in truncated.stderr


@pytest.mark.parametrize("url", ["nonsense", "sqlite:////nonexistent-dir/x/workspace.sqlite"])
def test_audit_verify_refuses_a_bad_database(url: str) -> None:
    result = run_cli("audit", "verify", "--db", url)
    assert result.returncode == 2 and "error[" in result.stderr and "Traceback" not in result.stderr


def test_concurrent_changes_keep_one_audit_chain(app: FastAPI, db_url: str) -> None:
    assert set(concurrent_changes(app)) == {303}
    verified = run_cli("audit", "verify", "--db", db_url)
    assert verified.returncode == 0 and "24 entries" in verified.stdout, verified.stderr  # 4 sign-ups, 20 organisations


def test_owners_accepting_one_finding_at_once_all_succeed(app: FastAPI, db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    owners = [Person(app, f"owner{i}").signup() for i in range(4)]
    project = new_project(owners[0])
    assessment = assess(owners[0], project, upload(owners[0], project))
    for other in owners[1:]:
        assert owners[0].post(f"/projects/{project}/members", username=other.username, role="owner") == 303
    finding = FINDING.findall(owners[0].client.get(f"/projects/{project}/assessments/{assessment}").text)[0]

    def accept(person: Person) -> list[int]:
        path = f"/projects/{project}/findings/{finding}/accept"
        return [person.post(path, reason=f"by {person.username} {n}", expires="2099-01-01") for n in range(5)]

    with ThreadPoolExecutor(len(owners)) as pool:
        statuses = {s for batch in pool.map(accept, owners) for s in batch}
    assert statuses == {303}
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select count(*) from treatments").fetchone() == (1,)
    assert run_cli("audit", "verify", "--db", db_url).returncode == 0
