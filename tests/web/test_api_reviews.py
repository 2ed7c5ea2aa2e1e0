"""What the pages could do and the API could not: householders' reviews, the project's members, evidence files.

A householder confirms or disputes the facts behind a finding with a write token, everyone in the project reads the
reviews, owners add members and change roles, assessors attach evidence files (checked by their bytes); every change
is in the audit log with the token's number."""

from __future__ import annotations

import json
import re
import sqlite3

from fastapi import FastAPI

from tests.web.conftest import Person, assess, bearer, new_project, upload


def test_householder_reviews_through_the_api_and_the_assessor_reads_them(app: FastAPI, db_url: str) -> None:
    owner, hannah, ada = Person(app, "owner").signup(), Person(app, "hannah").signup(), Person(app, "ada").signup()
    project = new_project(owner)
    owners = bearer(owner.make_token())
    assert owner.client.put(f"/api/v1/projects/{project}/members/hannah", json={"role": "householder"}, headers=owners).json() == {
        "username": "hannah",
        "role": "householder",
    }
    assert owner.client.put(f"/api/v1/projects/{project}/members/ada", json={"role": "viewer"}, headers=owners).status_code == 200
    assert owner.client.put(f"/api/v1/projects/{project}/members/ada", json={"role": "assessor"}, headers=owners).status_code == 200
    members = owner.client.get(f"/api/v1/projects/{project}/members", headers=owners).json()
    assert members == [
        {"username": "ada", "role": "assessor"},
        {"username": "hannah", "role": "householder"},
        {"username": "owner", "role": "owner"},
    ]
    assert owner.client.put(f"/api/v1/projects/{project}/members/nobody", json={"role": "viewer"}, headers=owners).status_code == 404
    assert owner.client.put(f"/api/v1/projects/{project}/members/owner", json={"role": "viewer"}, headers=owners).status_code == 409
    assert owner.client.put(f"/api/v1/projects/{project}/members/ada", json={"role": "king"}, headers=owners).status_code == 422

    assessment = assess(owner, project, upload(owner, project))
    home = hannah.client.get(f"/projects/{project}/assessments/{assessment}").text
    finding = re.findall(r'id="fact-([0-9a-f]{16})"', home)[0]
    reviews = f"/api/v1/projects/{project}/assessments/{assessment}/reviews"
    token = bearer(hannah.make_token())
    assert hannah.client.get(reviews, headers=token).json() == []
    assert hannah.client.put(f"{reviews}/{finding}", json={"status": "disputed"}, headers=token).status_code == 422  # say what
    assert hannah.client.put(f"{reviews}/{finding}", json={"status": "maybe", "comment": "x"}, headers=token).status_code == 422
    assert hannah.client.put(f"{reviews}/0123456789abcdef", json={"status": "confirmed"}, headers=token).status_code == 404
    said = hannah.client.put(f"{reviews}/{finding}", json={"status": "disputed", "comment": "we sold that camera in May"}, headers=token)
    assert said.status_code == 200, said.text
    assert (said.json()["finding_id"], said.json()["status"], said.json()["reviewer"]) == (finding, "disputed", "hannah")

    # The assessor reads it through the API and on the findings page; an assessor does not speak for the household.
    read = bearer(ada.make_token("read"))
    listed = ada.client.get(reviews, headers=read).json()
    assert [(r["finding_id"], r["status"], r["comment"]) for r in listed] == [(finding, "disputed", "we sold that camera in May")]
    assert "The household disputes the facts behind 1 finding" in ada.client.get(f"/projects/{project}/assessments/{assessment}").text
    assert ada.client.put(f"{reviews}/{finding}", json={"status": "confirmed"}, headers=bearer(ada.make_token())).status_code == 403
    assert hannah.client.put(f"{reviews}/{finding}", json={"status": "confirmed"}, headers=token).json()["status"] == "confirmed"
    assert [r["status"] for r in ada.client.get(reviews, headers=read).json()] == ["confirmed"]

    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        entries = con.execute("select action, actor, detail from audit_log where action in ('finding.review', 'member.set') order by seq")
        audited = [(action, actor, json.loads(detail)) for action, actor, detail in entries]
    assert [(a, actor, d.get("status") or d.get("role")) for a, actor, d in audited] == [
        ("member.set", "owner", "householder"),
        ("member.set", "owner", "viewer"),
        ("member.set", "owner", "assessor"),
        ("finding.review", "hannah", "disputed"),
        ("finding.review", "hannah", "confirmed"),
    ]
    assert all("token" in d for _, _, d in audited)


def test_evidence_is_attached_through_the_api_as_through_the_page(app: FastAPI, db_url: str) -> None:
    owner = Person(app, "owner").signup()
    project = new_project(owner)
    token = bearer(owner.make_token())
    path = f"/api/v1/projects/{project}/controls/7.2.1/evidence"
    made = owner.client.post(path, files={"file": ("router-config.pdf", b"%PDF-1.4\n%%EOF\n")}, headers=token)
    assert made.status_code == 201, made.text
    assert (made.json()["filename"], made.json()["media_type"], made.json()["size"]) == ("router-config.pdf", "application/pdf", 15)
    assert owner.client.post(path, files={"file": ("fake.pdf", b"<html>")}, headers=token).status_code == 415  # the bytes decide
    assert owner.client.post(path, files={"file": ("empty.txt", b"")}, headers=token).status_code == 422
    assert (
        owner.client.post(f"/api/v1/projects/{project}/controls/9.9.9/evidence", files={"file": ("a.txt", b"x")}, headers=token).status_code
        == 404
    )
    controls = owner.client.get(f"/api/v1/projects/{project}/controls", headers=token).json()
    (listed,) = next(c for c in controls if c["control_id"] == "7.2.1")["evidence"]
    download = owner.client.get(f"/api/v1/projects/{project}/evidence/{listed['id']}", headers=token)
    assert download.content == b"%PDF-1.4\n%%EOF\n" and download.headers["content-disposition"].startswith("attachment")
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        (detail,) = con.execute("select detail from audit_log where action = 'evidence.add'").fetchone()
    assert json.loads(detail)["filename"] == "router-config.pdf" and "token" in json.loads(detail)
