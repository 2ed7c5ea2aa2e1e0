"""Evidence files on SoA controls and the project's status per control: content-addressed storage, size and type
limits from the bytes, downloads that can never run as a page, every change audited, and the authorisation."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from fastapi import FastAPI

from domosec.web import evidence
from tests.conftest import run_cli
from tests.web.conftest import Person, assess, new_project, upload

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def attach(person: Person, project: int, control: str, name: str, content: bytes, media: str = "application/octet-stream") -> int:
    response = person.client.post(
        f"/projects/{project}/controls/{control}/evidence",
        data={"csrf": person.csrf},
        files={"file": (name, content, media)},
        follow_redirects=False,
    )
    return response.status_code


def test_attach_download_and_decide_on_a_control(app: FastAPI, db_url: str, tmp_path: Path) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    assessment = assess(alice, project, upload(alice, project))
    soa = alice.client.get(f"/projects/{project}/assessments/{assessment}/soa")
    assert soa.status_code == 200 and 'id="c-7.2.1"' in soa.text
    assert attach(alice, project, "7.2.1", "router-config.pdf", PDF) == 303
    assert attach(alice, project, "7.2.5", "../../etc/same bytes.pdf", PDF) == 303
    stored = evidence.blob_path(tmp_path / "workspace.sqlite.evidence", hashlib.sha256(PDF).hexdigest())
    assert stored.read_bytes() == PDF
    assert len(list((tmp_path / "workspace.sqlite.evidence").rglob("*"))) == 2, "the same bytes were stored twice"

    page = alice.client.get(f"/projects/{project}/assessments/{assessment}/soa").text
    first, second = re.findall(rf"/projects/{project}/evidence/(\d+)\">([^<]+)<", page)
    assert first[1] == "router-config.pdf" and second[1] == "same bytes.pdf"
    download = alice.client.get(f"/projects/{project}/evidence/{first[0]}")
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith('attachment; filename="router-config.pdf"')
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]

    back = f"/projects/{project}/assessments/{assessment}/soa"
    assert alice.post(f"/projects/{project}/controls/7.2.1/decision", status="implemented", note="WPA3 since May", back=back) == 303
    assert alice.post(f"/projects/{project}/controls/7.2.1/decision", status="partial", note="guest net still WPA2", back=back) == 303
    row = alice.client.get(back).text.split('id="c-7.2.1"', 1)[1].split("</tr>", 1)[0]
    assert "<strong>partial</strong>" in row and "guest net still WPA2" in row and "router-config.pdf" in row
    assert alice.post(f"/projects/{project}/controls/7.2.1/decision", status="done") == 422
    assert alice.post(f"/projects/{project}/controls/9.9.9/decision", status="partial") == 404

    later = assess(alice, project, upload(alice, project))
    assert "guest net still WPA2" in alice.client.get(f"/projects/{project}/assessments/{later}/soa").text, "decisions did not carry over"
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        actions = [r[0] for r in con.execute("select action from audit_log where action like 'evidence.%' or action like 'control.%'")]
    assert actions == ["evidence.add", "evidence.add", "control.decide", "control.decide"]
    assert run_cli("audit", "verify", "--db", db_url).returncode == 0


def test_files_are_refused_by_size_kind_and_content(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    assert attach(alice, project, "7.2.1", "page.html", b"<script>alert(1)</script>", "text/html") == 415
    assert attach(alice, project, "7.2.1", "fake.pdf", b"<html><script>alert(1)</script>", "application/pdf") == 415
    assert attach(alice, project, "7.2.1", "photo.png", PDF, "image/png") == 415
    assert attach(alice, project, "7.2.1", "notes.txt", b"\xff\xfe binary \x00", "text/plain") == 415
    assert attach(alice, project, "7.2.1", "empty.txt", b"", "text/plain") == 422
    assert attach(alice, project, "7.2.1", "big.txt", b"a" * (evidence.MAX_EVIDENCE_BYTES + 1), "text/plain") == 413
    assert attach(alice, project, "7.2.1", "notes.txt", "Router admin: changed 2026-11 ✓".encode(), "text/html") == 303
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select filename, media_type from evidence_files").fetchall() == [("notes.txt", "text/plain")]


def test_only_owners_and_assessors_change_the_soa_and_only_members_download(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    assessment = assess(alice, project, upload(alice, project))
    assert attach(alice, project, "7.2.1", "a.pdf", PDF) == 303
    people = {}
    for role in ("assessor", "viewer", "householder"):
        people[role] = Person(app, role).signup()
        assert alice.post(f"/projects/{project}/members", username=role, role=role) == 303
    eve = Person(app, "eve").signup()
    other = new_project(eve, name="elsewhere")
    assert attach(people["assessor"], project, "7.2.2", "b.txt", b"ok") == 303
    assert people["assessor"].post(f"/projects/{project}/controls/7.2.2/decision", status="planned") == 303
    for role in ("viewer", "householder"):
        assert attach(people[role], project, "7.2.3", "c.txt", b"no") == 403
        assert people[role].post(f"/projects/{project}/controls/7.2.3/decision", status="planned") == 403
    assert people["viewer"].get(f"/projects/{project}/evidence/1") == 200
    assert people["householder"].get(f"/projects/{project}/evidence/1") == 403
    assert people["householder"].get(f"/projects/{project}/assessments/{assessment}/soa") == 403
    assert eve.get(f"/projects/{project}/evidence/1") == 404
    assert eve.get(f"/projects/{other}/evidence/1") == 404, "evidence of another project through one's own"
    assert attach(eve, project, "7.2.1", "x.txt", b"x") == 404
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select count(*) from evidence_files").fetchone() == (2,)
        assert con.execute("select count(*) from control_decisions").fetchone() == (1,)


def test_a_body_larger_than_any_upload_is_refused_before_it_is_read(app: FastAPI, db_url: str) -> None:
    from domosec.web.app import MAX_REQUEST_BYTES
    from tests.web.conftest import bearer

    alice = Person(app, "alice").signup()
    project = new_project(alice)
    huge = "a" * (MAX_REQUEST_BYTES + 1)
    response = alice.client.post(f"/api/v1/projects/{project}/models", json={"text": huge}, headers=bearer(alice.make_token()))
    assert response.status_code == 413, "the body was read and parsed"
    assert attach(alice, project, "7.2.1", "huge.txt", huge.encode()) == 413
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select count(*) from evidence_files").fetchone() == (0,)
