"""Automation starts from nothing: a token makes an organisation and a project in it, then saves and assesses a model.

Only the organisation's administrator makes projects in it (another organisation answers 404, as one that does not
exist); read tokens and requests without a token write nothing; every change is in the audit log with the token."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fastapi import FastAPI

from tests.web.conftest import FAMILY_HOME, Person, bearer


def _rows(db_url: str, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        return list(con.execute(f"select * from {table}"))


def test_a_token_makes_an_organisation_and_a_project_then_assesses_in_it(app: FastAPI, db_url: str) -> None:
    ops = Person(app, "ops").signup()
    token = ops.make_token()
    head = bearer(token)
    assert ops.client.get("/api/v1/orgs", headers=head).json() == []
    made = ops.client.post("/api/v1/orgs", json={"name": "  Acme Homes  "}, headers=head)
    assert made.status_code == 201
    org = made.json()
    assert org["name"] == "Acme Homes" and org["admin"] is True
    assert ops.client.get("/api/v1/orgs", headers=head).json() == [org]

    created = ops.client.post(f"/api/v1/orgs/{org['id']}/projects", json={"name": "Flat 3"}, headers=head)
    assert created.status_code == 201
    project = created.json()
    assert project == {"id": project["id"], "org_id": org["id"], "name": "Flat 3", "role": "owner"}
    assert ops.client.get("/api/v1/projects", headers=head).json() == [project]

    saved = ops.client.post(f"/api/v1/projects/{project['id']}/models", json={"text": FAMILY_HOME}, headers=head)
    assert saved.status_code == 201
    assessed = ops.client.post(f"/api/v1/projects/{project['id']}/models/{saved.json()['id']}/assess", headers=head)
    assert assessed.status_code == 201

    audit = [(row[3], json.loads(row[5])) for row in _rows(db_url, "audit_log")]
    actions = {action: detail for action, detail in audit}
    assert actions["organisation.create"]["name"] == "Acme Homes"
    assert actions["project.create"]["org_id"] == org["id"]
    token_id = actions["project.create"]["token"]
    assert actions["organisation.create"]["token"] == token_id
    assert token not in json.dumps(audit)


def test_only_the_organisations_administrator_makes_projects_in_it(app: FastAPI, db_url: str) -> None:
    ops, eve = Person(app, "ops").signup(), Person(app, "eve").signup()
    org = ops.client.post("/api/v1/orgs", json={"name": "Acme"}, headers=bearer(ops.make_token())).json()
    eves, read_only = bearer(eve.make_token()), bearer(ops.make_token("read"))
    before = {t: len(_rows(db_url, t)) for t in ("projects", "memberships", "organisations", "audit_log")}
    assert eve.client.post(f"/api/v1/orgs/{org['id']}/projects", json={"name": "sneaky"}, headers=eves).status_code == 404
    assert eve.client.post("/api/v1/orgs/999999/projects", json={"name": "nowhere"}, headers=eves).status_code == 404
    assert eve.client.get("/api/v1/orgs", headers=eves).json() == []
    assert ops.client.post(f"/api/v1/orgs/{org['id']}/projects", json={"name": "x"}, headers=read_only).status_code == 403
    assert ops.client.post("/api/v1/orgs", json={"name": "x"}, headers=read_only).status_code == 403
    assert ops.client.post("/api/v1/orgs", json={"name": "x"}).status_code == 401
    assert {t: len(_rows(db_url, t)) for t in before} == before


def test_names_are_checked(app: FastAPI, tmp_path: Path) -> None:
    ops = Person(app, "ops").signup()
    head = bearer(ops.make_token())
    for body in ({"name": ""}, {"name": "   "}, {"name": "x" * 201}, {}, {"name": "ok", "admin": True}, {"name": 3}):
        answer = ops.client.post("/api/v1/orgs", json=body, headers=head)
        assert answer.status_code == 422, body
    assert ops.client.get("/api/v1/orgs", headers=head).json() == []
