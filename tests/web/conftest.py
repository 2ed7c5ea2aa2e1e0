"""Workspace test helpers: a fresh SQLite workspace per test and a signed-in HTTP client per person."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from domosec.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
FAMILY_HOME = (ROOT / "examples" / "family-home.yaml").read_text(encoding="utf-8")
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r'id="new-token" readonly value="(dsw_[^"]+)"')


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Person:
    """One browser: its own cookies, signing up or in through the real forms."""

    def __init__(self, app: FastAPI, username: str) -> None:
        self.client = TestClient(app, base_url="https://testserver")
        self.username = username
        self.csrf = ""

    def form_token(self, path: str) -> str:
        page = self.client.get(path)
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code}"
        return found.group(1)

    def signup(self, password: str = PASSWORD) -> Person:
        response = self.client.post(
            "/signup", data={"csrf": self.form_token("/signup"), "username": self.username, "password": password}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        self.csrf = self.form_token("/")
        return self

    def login(self, password: str = PASSWORD) -> int:
        response = self.client.post(
            "/login", data={"csrf": self.form_token("/login"), "username": self.username, "password": password}, follow_redirects=False
        )
        if response.status_code == 303:
            self.csrf = self.form_token("/")
        return response.status_code

    def post(self, path: str, **data: str) -> int:
        return self.client.post(path, data={"csrf": self.csrf, **data}, follow_redirects=False).status_code

    def get(self, path: str) -> int:
        return self.client.get(path, follow_redirects=False).status_code

    def make_token(self, scope: str = "write", name: str = "ci") -> str:
        """An API token made through the tokens page (the only time it is shown)."""
        response = self.client.post("/account/tokens", data={"csrf": self.csrf, "name": name, "scope": scope})
        assert response.status_code == 201, response.text
        found = TOKEN.search(response.text)
        assert found, "the new token is not on the page"
        return found.group(1)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'workspace.sqlite'}"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A PostgreSQL server of the module's own (Debian's package, started in a temporary folder): its database's URL."""
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is a dev dependency")
    from tests.web.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture
def app(db_url: str) -> Iterator[FastAPI]:
    application = create_app(db_url)
    yield application
    application.state.engine.dispose()


def new_project(owner: Person, org: str = "Acme", name: str = "Flat 3") -> int:
    """Create an organisation and a project in it as ``owner``; the project's ID."""
    assert owner.post("/orgs", name=org) == 303
    page = owner.client.get("/").text
    org_id = re.findall(r'action="/orgs/(\d+)/projects"', page)[-1]
    response = owner.client.post(f"/orgs/{org_id}/projects", data={"csrf": owner.csrf, "name": name}, follow_redirects=False)
    assert response.status_code == 303
    return int(response.headers["location"].rsplit("/", 1)[1])


def upload(person: Person, project: int, text: str = FAMILY_HOME, note: str = "") -> int:
    """A model version saved through the form; its ID."""
    response = person.client.post(
        f"/projects/{project}/models", data={"csrf": person.csrf, "text": text, "note": note}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def assess(person: Person, project: int, version: int) -> int:
    response = person.client.post(f"/projects/{project}/models/{version}/assess", data={"csrf": person.csrf}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def concurrent_changes(app: FastAPI, people: int = 4, each: int = 5) -> list[int]:
    """``people`` signed-in users each creating ``each`` organisations at the same time; every status code."""
    from concurrent.futures import ThreadPoolExecutor

    signed_in = [Person(app, f"user{i}").signup() for i in range(people)]

    def work(person: Person) -> list[int]:
        return [person.post("/orgs", name=f"{person.username}-{n}") for n in range(each)]

    with ThreadPoolExecutor(people) as pool:
        return [status for statuses in pool.map(work, signed_in) for status in statuses]
