"""The authorisation matrix: every role × every project endpoint, on the caller's project, another project's
IDs, and the caller's project with another project's object IDs. Nothing is read or written without the right."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from domosec.web.access import ROLE_PERMISSIONS, Permission
from domosec.web.app import create_app
from tests.evidence.scan.test_ports_and_import import NMAP_XML
from tests.web.conftest import FAMILY_HOME, Person, assess, bearer, new_project, upload

TABLES = (
    "memberships",
    "model_versions",
    "assessments",
    "findings",
    "treatments",
    "audit_log",
    "organisations",
    "projects",
    "api_tokens",
    "control_decisions",
    "evidence_files",
    "fact_reviews",
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    permission: Permission
    data: tuple[tuple[str, str], ...] = ()
    upload: tuple[str, bytes] | None = None
    ok: tuple[int, ...] = ()
    """What an allowed request answers, when not the usual (a live import reaching no Home Assistant: 422)."""


ENDPOINTS = [
    Endpoint("GET", "/projects/{p}", Permission.view_project),
    Endpoint("POST", "/projects/{p}/members", Permission.manage_members, (("username", "zed"), ("role", "viewer"))),
    Endpoint("GET", "/projects/{p}/models/new", Permission.edit_model),
    Endpoint("GET", "/projects/{p}/models/new?start={m}", Permission.edit_model),
    Endpoint("POST", "/projects/{p}/models", Permission.edit_model, (("text", FAMILY_HOME), ("note", "n"))),
    Endpoint("GET", "/projects/{p}/models/{m}", Permission.view_expert),
    Endpoint("POST", "/projects/{p}/models/{m}/assess", Permission.assess),
    Endpoint("GET", "/projects/{p}/assessments/{a}", Permission.view_project),
    Endpoint("POST", "/projects/{p}/findings/{f}/accept", Permission.treat, (("reason", "r"), ("expires", "2099-01-01"))),
    Endpoint("POST", "/projects/{p}/findings/{g}/plan", Permission.plan, (("owner", "assessor"), ("due", "2099-01-01"), ("note", "n"))),
    Endpoint("POST", "/projects/{p}/findings/{g}/reopen", Permission.plan),
    Endpoint("GET", "/projects/{p}/audit", Permission.view_audit),
    Endpoint("GET", "/projects/{p}/assessments/{a}/report/json", Permission.view_expert),
    Endpoint("GET", "/projects/{p}/assessments/{a}/report/markdown?audience=home", Permission.view_project),
    Endpoint("GET", "/projects/{p}/diff?old={a}&new={a}", Permission.view_expert),
    Endpoint("GET", "/projects/{p}/assessments/{a}/soa", Permission.view_expert),
    Endpoint("POST", "/projects/{p}/controls/7.2.1/decision", Permission.edit_soa, (("status", "planned"), ("note", "n"))),
    Endpoint("GET", "/projects/{p}/evidence/{e}", Permission.view_expert),
    Endpoint(
        "POST", "/projects/{p}/findings/{f}/review", Permission.review_facts, (("status", "disputed"), ("comment", "no camera there"))
    ),
    Endpoint("GET", "/projects/{p}/imports/new", Permission.edit_model),
    Endpoint("POST", "/projects/{p}/imports", Permission.edit_model, (("kind", "nmap"),), ("scan.xml", NMAP_XML.encode())),
    Endpoint("POST", "/projects/{p}/imports/live", Permission.edit_model, (("url", "http://127.0.0.1:9"), ("token", "t")), ok=(422,)),
]
API_ENDPOINTS = [
    Endpoint("GET", "/api/v1/projects/{p}", Permission.view_project),
    Endpoint("GET", "/api/v1/projects/{p}/models", Permission.view_expert),
    Endpoint("POST", "/api/v1/projects/{p}/models", Permission.edit_model, (("text", FAMILY_HOME),)),
    Endpoint("GET", "/api/v1/projects/{p}/models/{m}", Permission.view_expert),
    Endpoint("POST", "/api/v1/projects/{p}/models/{m}/assess", Permission.assess),
    Endpoint("GET", "/api/v1/projects/{p}/assessments", Permission.view_project),
    Endpoint("GET", "/api/v1/projects/{p}/assessments/{a}", Permission.view_project),
    Endpoint("GET", "/api/v1/projects/{p}/assessments/{a}/findings", Permission.view_expert),
    Endpoint("GET", "/api/v1/projects/{p}/assessments/{a}/report/json", Permission.view_expert),
    Endpoint("GET", "/api/v1/projects/{p}/assessments/{a}/report/markdown?audience=home", Permission.view_project),
    Endpoint("GET", "/api/v1/projects/{p}/treatments", Permission.view_expert),
    Endpoint("PUT", "/api/v1/projects/{p}/treatments/{f}", Permission.treat, (("reason", "r"), ("expires", "2099-01-01"))),
    Endpoint(
        "PUT",
        "/api/v1/projects/{p}/treatments/{g}",
        Permission.plan,
        (("status", "planned"), ("owner", "assessor"), ("due", "2099-01-01"), ("note", "n")),
    ),
    Endpoint("DELETE", "/api/v1/projects/{p}/treatments/{g}", Permission.plan, ok=(204,)),
    Endpoint("GET", "/api/v1/projects/{p}/audit", Permission.view_audit),
    Endpoint("GET", "/api/v1/projects/{p}/diff?old={a}&new={a}", Permission.view_expert),
    Endpoint("GET", "/api/v1/projects/{p}/controls", Permission.view_expert),
    Endpoint("PUT", "/api/v1/projects/{p}/controls/7.2.1", Permission.edit_soa, (("status", "planned"), ("note", "n"))),
    Endpoint("GET", "/api/v1/projects/{p}/evidence/{e}", Permission.view_expert),
    Endpoint("POST", "/api/v1/projects/{p}/controls/7.2.1/evidence", Permission.edit_soa, (), ("e.txt", b"more evidence")),
    Endpoint("POST", "/api/v1/projects/{p}/imports/nmap", Permission.edit_model, (), ("scan.xml", NMAP_XML.encode())),
    Endpoint(
        "POST",
        "/api/v1/projects/{p}/imports/homeassistant/live",
        Permission.edit_model,
        (("url", "http://127.0.0.1:9"), ("token", "t")),
        ok=(422,),
    ),
    Endpoint("GET", "/api/v1/projects/{p}/assessments/{a}/reviews", Permission.view_project),
    Endpoint(
        "PUT", "/api/v1/projects/{p}/assessments/{a}/reviews/{f}", Permission.review_facts, (("status", "disputed"), ("comment", "not so"))
    ),
    Endpoint("GET", "/api/v1/projects/{p}/members", Permission.manage_members),
    Endpoint("PUT", "/api/v1/projects/{p}/members/zed", Permission.manage_members, (("role", "viewer"),)),
]
ELDERLY_CARE = (Path(__file__).resolve().parents[2] / "examples" / "elderly-care.yaml").read_text(encoding="utf-8")
ROLES = ("owner", "assessor", "viewer", "householder", "outsider")


@dataclass
class World:
    app: FastAPI
    db: Path
    people: dict[str, Person]
    ids: dict[str, dict[str, str]]
    tokens: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("access") / "workspace.sqlite"
    app = create_app(f"sqlite:///{db}")
    people = {role: Person(app, role).signup() for role in ROLES}
    Person(app, "zed").signup()
    other_owner = Person(app, "other").signup()
    ids = {}
    for name, owner, model in (("mine", people["owner"], FAMILY_HOME), ("theirs", other_owner, ELDERLY_CARE)):
        project = new_project(owner, name=name)
        version = upload(owner, project, model)
        assessment = assess(owner, project, version)
        finding, other = re.findall(r'id="f-([0-9a-f]{16})"', owner.client.get(f"/projects/{project}/assessments/{assessment}").text)[:2]
        attached = owner.client.post(
            f"/projects/{project}/controls/7.2.1/evidence",
            data={"csrf": owner.csrf, "back": f"/projects/{project}/assessments/{assessment}/soa"},
            files={"file": ("e.txt", b"evidence")},
        )
        evidence = re.findall(r"/evidence/(\d+)", attached.text)[-1]
        ids[name] = {"p": str(project), "m": str(version), "a": str(assessment), "f": finding, "g": other, "e": evidence}
    for role in ("assessor", "viewer", "householder"):
        assert people["owner"].post(f"/projects/{ids['mine']['p']}/members", username=role, role=role) == 303
    tokens = {role: bearer(person.make_token()) for role, person in people.items()}
    tokens.update({f"{role}-read": bearer(person.make_token("read")) for role, person in people.items()})
    yield World(app, db, people, ids, tokens)
    app.state.engine.dispose()


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}


def call(person: Person, endpoint: Endpoint, ids: dict[str, str], token: dict[str, str] | None = None) -> int:
    path = endpoint.path.format(**ids)
    if endpoint.upload is not None:
        csrf = {} if path.startswith("/api/") else {"csrf": person.csrf}
        files = {"file": endpoint.upload}
        return person.client.post(
            path, data={**csrf, **dict(endpoint.data)}, files=files, headers=token or {}, follow_redirects=False
        ).status_code
    if path.startswith("/api/"):
        return person.client.request(endpoint.method, path, json=dict(endpoint.data) or None, headers=token or {}).status_code
    if endpoint.method == "GET":
        return person.get(path)
    return person.post(path, **dict(endpoint.data))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("role", ROLES)
def test_own_project(world: World, role: str, endpoint: Endpoint) -> None:
    before = counts(world.db)
    status = call(world.people[role], endpoint, world.ids["mine"])
    allowed = role != "outsider" and endpoint.permission in ROLE_PERMISSIONS[role]
    if allowed:
        assert status in (endpoint.ok or (200, 303)), status
    else:
        assert status == (404 if role == "outsider" else 403)
        assert counts(world.db) == before, "a refused request wrote something"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("role", ROLES)
def test_other_projects_ids(world: World, role: str, endpoint: Endpoint) -> None:
    before = counts(world.db)
    assert call(world.people[role], endpoint, world.ids["theirs"]) == 404
    assert counts(world.db) == before


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if re.search(r"\{[mafeg]\}", e.path)], ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("role", ROLES)
def test_own_project_with_another_projects_objects(world: World, role: str, endpoint: Endpoint) -> None:
    """``/projects/MINE/models/THEIRS``: the object is looked up in the project of the address, never by ID alone."""
    mixed = {**world.ids["theirs"], "p": world.ids["mine"]["p"]}
    before = counts(world.db)
    assert call(world.people[role], endpoint, mixed) in (403, 404)
    assert counts(world.db) == before


def test_creating_a_project_needs_the_organisations_admin(world: World) -> None:
    before = counts(world.db)
    org = re.findall(r'action="/orgs/(\d+)/projects"', world.people["owner"].client.get("/").text)[0]
    for role in ("assessor", "viewer", "householder", "outsider"):
        assert world.people[role].post(f"/orgs/{org}/projects", name="sneaky") == 404
    assert counts(world.db) == before


def test_signed_out_requests_are_sent_to_sign_in(world: World) -> None:
    anonymous = Person(world.app, "nobody")
    for endpoint in ENDPOINTS:
        path = endpoint.path.format(**world.ids["mine"])
        if endpoint.method == "GET":
            assert anonymous.get(path) == 303
        else:
            assert anonymous.post(path, **dict(endpoint.data)) in (401, 403)


@pytest.mark.parametrize("endpoint", API_ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("role", ROLES)
def test_api_own_project(world: World, role: str, endpoint: Endpoint) -> None:
    before = counts(world.db)
    status = call(world.people[role], endpoint, world.ids["mine"], world.tokens[role])
    if role != "outsider" and endpoint.permission in ROLE_PERMISSIONS[role]:
        assert status in (endpoint.ok or (200, 201)), status
    else:
        assert status == (404 if role == "outsider" else 403)
        assert counts(world.db) == before, "a refused request wrote something"


@pytest.mark.parametrize("endpoint", API_ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("role", ROLES)
def test_api_other_projects_ids_and_objects(world: World, role: str, endpoint: Endpoint) -> None:
    before = counts(world.db)
    assert call(world.people[role], endpoint, world.ids["theirs"], world.tokens[role]) == 404
    if re.search(r"\{[mafeg]\}", endpoint.path):
        mixed = {**world.ids["theirs"], "p": world.ids["mine"]["p"]}
        assert call(world.people[role], endpoint, mixed, world.tokens[role]) in (403, 404)
    assert counts(world.db) == before


@pytest.mark.parametrize("endpoint", [e for e in API_ENDPOINTS if e.method != "GET"], ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("role", ROLES)
def test_api_read_tokens_never_write(world: World, role: str, endpoint: Endpoint) -> None:
    before = counts(world.db)
    assert call(world.people[role], endpoint, world.ids["mine"], world.tokens[f"{role}-read"]) == 403
    assert counts(world.db) == before


@pytest.mark.parametrize("endpoint", API_ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_api_without_a_token_is_401(world: World, endpoint: Endpoint) -> None:
    before = counts(world.db)
    assert call(world.people["owner"], endpoint, world.ids["mine"], {}) == 401
    assert counts(world.db) == before
