"""The workspace API: tokens made and revoked in the browser, used as ``Authorization: Bearer``; the JSON endpoints
and the OpenAPI document. A token is shown once, stored as a digest only, and acts with its user's roles."""

from __future__ import annotations

import re
import sqlite3

from fastapi import FastAPI

from domosec.web.security import token_hash
from tests.conftest import run_cli
from tests.web.conftest import FAMILY_HOME, Person, bearer, new_project


def test_token_is_shown_once_stored_as_a_digest_and_revoked(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    token = alice.make_token(name="nightly pipeline")
    listing = alice.client.get("/account/tokens").text
    assert "nightly pipeline" in listing and token not in listing and token[4:20] not in listing
    api = alice.client
    assert api.get("/api/v1/projects", headers=bearer(token)).json() == []
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        stored = con.execute("select token_hash, scope from api_tokens").fetchall()
        dump = "\n".join(con.iterdump())
    assert stored == [(token_hash(token), "write")]
    assert token not in dump, "the token itself is in the database"
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', listing).group(1)  # type: ignore[union-attr]
    assert alice.post(f"/account/tokens/{token_id}/revoke") == 303
    refused = api.get("/api/v1/projects", headers=bearer(token))
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert "revoked" in alice.client.get("/account/tokens").text
    actions = [row[0] for row in sqlite3.connect(db_url.removeprefix("sqlite:///")).execute("select action from audit_log order by seq")]
    assert actions[-2:] == ["token.create", "token.revoke"]


def test_another_persons_token_cannot_be_revoked(app: FastAPI) -> None:
    alice, eve = Person(app, "alice").signup(), Person(app, "eve").signup()
    token = alice.make_token()
    token_id = re.search(r"/account/tokens/(\d+)/revoke", alice.client.get("/account/tokens").text).group(1)  # type: ignore[union-attr]
    assert eve.post(f"/account/tokens/{token_id}/revoke") == 404
    assert eve.client.get("/api/v1/projects", headers=bearer(token)).status_code == 200


def test_requests_without_a_live_token_are_refused(app: FastAPI) -> None:
    client = Person(app, "nobody").client
    for headers in ({}, bearer("dsw_" + "x" * 43), bearer("not-a-token"), {"Authorization": "Basic YTpi"}):
        response = client.get("/api/v1/projects", headers=headers)
        assert response.status_code == 401 and response.json()["detail"].startswith("a live API token is needed")


def test_a_signed_in_cookie_is_not_an_api_token(app: FastAPI) -> None:
    """The API takes bearer tokens only, so a page a browser is lured to cannot use the person's session (no CSRF)."""
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    assert alice.client.get(f"/api/v1/projects/{project}").status_code == 401


def test_read_token_reads_and_may_not_write(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    read = bearer(alice.make_token("read"))
    assert alice.client.get(f"/api/v1/projects/{project}", headers=read).json()["role"] == "owner"
    response = alice.client.post(f"/api/v1/projects/{project}/models", json={"text": FAMILY_HOME}, headers=read)
    assert response.status_code == 403
    assert alice.client.get(f"/api/v1/projects/{project}/models", headers=read).json() == []


def test_pipeline_journey_over_the_api(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    auth = bearer(alice.make_token())
    api = alice.client
    broken = api.post(
        f"/api/v1/projects/{project}/models", json={"text": FAMILY_HOME.replace("encryption: wpa2 ", "encryption: wpa9 ", 1)}, headers=auth
    )
    assert broken.status_code == 422
    problem = broken.json()["problems"][0]
    assert (problem["file"], problem["line"], problem["code"]) == ("model-v1.yaml", 86, "unknown-value")
    assert problem["text"].startswith("model-v1.yaml:86:")
    saved = api.post(f"/api/v1/projects/{project}/models", json={"text": FAMILY_HOME, "note": "from CI"}, headers=auth)
    assert saved.status_code == 201 and saved.json()["number"] == 1 and saved.json()["text"] == FAMILY_HOME
    version = saved.json()["id"]
    first = api.post(f"/api/v1/projects/{project}/models/{version}/assess", headers=auth)
    assert first.status_code == 201 and first.json()["findings_count"] > 0
    first_id = first.json()["id"]
    findings = api.get(f"/api/v1/projects/{project}/assessments/{first_id}/findings", params={"limit": 1000}, headers=auth).json()
    assert len(findings) == first.json()["findings_count"]
    scores = [f["score"] for f in findings]
    assert scores == sorted(scores, reverse=True)
    high = api.get(f"/api/v1/projects/{project}/assessments/{first_id}/findings", params={"level": "high"}, headers=auth).json()
    assert {f["level"] for f in high} <= {"high"}
    target = findings[0]["finding_id"]
    assert (
        api.put(f"/api/v1/projects/{project}/treatments/{target}", json={"reason": "x", "expires": "2000-01-01"}, headers=auth).status_code
        == 422
    )
    accepted = api.put(
        f"/api/v1/projects/{project}/treatments/{target}", json={"reason": "replaced in spring", "expires": "2099-01-01"}, headers=auth
    )
    assert accepted.status_code == 200 and accepted.json()["approver"] == "alice"
    second = api.post(f"/api/v1/projects/{project}/models/{version}/assess", headers=auth).json()["id"]
    again = api.get(f"/api/v1/projects/{project}/assessments/{second}/findings", params={"limit": 1000}, headers=auth).json()
    assert next(f for f in again if f["finding_id"] == target)["treatment"]["reason"] == "replaced in spring"
    compared = api.get(f"/api/v1/projects/{project}/diff", params={"old": first_id, "new": second}, headers=auth).json()
    assert compared["summary"] and compared["new_findings"] == []
    sarif = api.get(f"/api/v1/projects/{project}/assessments/{second}/report/sarif", headers=auth)
    assert sarif.status_code == 200 and sarif.json()["version"] == "2.1.0"
    assert [a["id"] for a in api.get(f"/api/v1/projects/{project}/assessments", headers=auth).json()] == [first_id, second]
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        actions = [r[0] for r in con.execute("select action from audit_log where detail like '%\"token\":%' order by seq")]
    assert actions == ["token.create", "model.create", "assessment.create", "finding.accept", "assessment.create"]
    assert run_cli("audit", "verify", "--db", db_url).returncode == 0


def test_openapi_document_lists_the_api_and_not_the_pages(app: FastAPI) -> None:
    document = Person(app, "x").client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert all(path.startswith("/api/v1/") for path in document["paths"])
    assert "/api/v1/projects/{project_id}/treatments/{finding_id}" in document["paths"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_soa_decisions_and_evidence_over_the_api(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    auth = bearer(alice.make_token())
    attached = alice.client.post(
        f"/projects/{project}/controls/7.2.4/evidence", data={"csrf": alice.csrf}, files={"file": ("log.txt", b"firmware updated")}
    )
    assert attached.status_code == 200  # the redirect to the project page, followed
    put = alice.client.put(
        f"/api/v1/projects/{project}/controls/7.2.4", json={"status": "implemented", "note": "auto-update on"}, headers=auth
    )
    assert put.status_code == 200 and put.json()["decided_by"] == "alice"
    assert alice.client.put(f"/api/v1/projects/{project}/controls/7.2.4", json={"status": "done"}, headers=auth).status_code == 422
    assert alice.client.put(f"/api/v1/projects/{project}/controls/9.9", json={"status": "planned"}, headers=auth).status_code == 404
    controls = {c["control_id"]: c for c in alice.client.get(f"/api/v1/projects/{project}/controls", headers=auth).json()}
    assert len(controls) == 45 and controls["7.2.1"]["status"] is None
    decided = controls["7.2.4"]
    assert (decided["status"], decided["note"]) == ("implemented", "auto-update on")
    [file] = decided["evidence"]
    download = alice.client.get(f"/api/v1/projects/{project}/evidence/{file['id']}", headers=auth)
    assert download.content == b"firmware updated" and download.headers["content-disposition"].startswith("attachment;")
