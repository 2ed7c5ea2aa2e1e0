"""The workspace on PostgreSQL (a real server started by the test): migrations up and down, and a whole journey."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from domosec.web import migrate
from domosec.web.app import create_app
from domosec.web.db import Base, make_engine
from tests.conftest import run_cli
from tests.web.conftest import FAMILY_HOME, Person, assess, concurrent_changes, new_project, upload
from tests.web.postgres import postgres_server


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is a dev dependency")
    with postgres_server() as url:
        yield url


def test_migrations_up_down_up_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    migrate.upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    engine.dispose()


def test_journey_on_postgresql(pg_url: str) -> None:
    app = create_app(pg_url)
    try:
        alice = Person(app, "alice").signup()
        project = new_project(alice)
        first = assess(alice, project, upload(alice, project))
        finding = re.findall(r'id="f-([0-9a-f]{16})"', alice.client.get(f"/projects/{project}/assessments/{first}").text)[0]
        assert alice.post(f"/projects/{project}/findings/{finding}/accept", reason="later", expires="2099-01-01") == 303
        second = assess(alice, project, upload(alice, project, FAMILY_HOME.replace("encryption: wpa2 ", "encryption: none ", 1)))
        assert "accepted by alice" in alice.client.get(f"/projects/{project}/assessments/{second}").text
        assert alice.get(f"/projects/{project}/diff?old={first}&new={second}") == 200
        assert alice.client.get(f"/projects/{project}/assessments/{second}/report/json").json()["findings"]
        assert Person(app, "eve").signup().get(f"/projects/{project}") == 404
    finally:
        app.state.engine.dispose()
    verified = run_cli("audit", "verify", "--db", pg_url)
    assert verified.returncode == 0, verified.stderr
    assert "9 entries" in verified.stdout  # 2 sign-ups, organisation, project, 2 models, 2 assessments, 1 acceptance


def test_concurrent_changes_keep_one_audit_chain_on_postgresql(pg_url: str) -> None:
    app = create_app(pg_url)
    try:
        assert set(concurrent_changes(app)) == {303}
    finally:
        app.state.engine.dispose()
    verified = run_cli("audit", "verify", "--db", pg_url)
    assert verified.returncode == 0, verified.stderr
