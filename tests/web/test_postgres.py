"""The workspace on PostgreSQL (a real server started by the test): migrations up and down, and a whole journey."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from domosec.web import migrate
from domosec.web.app import create_app
from domosec.web.db import Base, make_engine
from tests.conftest import run_cli
from tests.web.conftest import FAMILY_HOME, Person, assess, concurrent_changes, new_project, upload


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


def test_backup_moves_a_workspace_from_sqlite_to_postgresql_and_back(pg_url: str, tmp_path: Path) -> None:
    from tests.web.test_backup import PDF, filled_workspace

    source = f"sqlite:///{tmp_path / 'source.sqlite'}"
    app = create_app(source)
    try:
        ids = filled_workspace(app)
    finally:
        app.state.engine.dispose()
    assert run_cli("workspace", "backup", "--db", source, "-o", tmp_path / "a.tar").returncode == 0
    restored = run_cli("workspace", "restore", tmp_path / "a.tar", "--db", pg_url, "--evidence-dir", tmp_path / "pg-evidence", "--force")
    assert restored.returncode == 0, restored.stderr
    assert run_cli("audit", "verify", "--db", pg_url).returncode == 0
    pg_app = create_app(pg_url, evidence_dir=tmp_path / "pg-evidence")
    try:
        alice = Person(pg_app, "alice")
        assert alice.login() == 303
        assert alice.client.get(f"/projects/{ids['project']}/evidence/{ids['evidence']}").content == PDF
        assert alice.post("/orgs", name="made on PostgreSQL") == 303, "the sequences were not moved past the restored IDs"
    finally:
        pg_app.state.engine.dispose()
    assert (
        run_cli("workspace", "backup", "--db", pg_url, "--evidence-dir", tmp_path / "pg-evidence", "-o", tmp_path / "b.tar").returncode == 0
    )
    back = f"sqlite:///{tmp_path / 'back.sqlite'}"
    assert run_cli("workspace", "restore", tmp_path / "b.tar", "--db", back).returncode == 0
    with sqlite3.connect(tmp_path / "back.sqlite") as con:
        assert con.execute("select name from organisations order by id").fetchall()[-1] == ("made on PostgreSQL",)
    assert (tmp_path / "back.sqlite.evidence").is_dir()


def test_concurrent_model_versions_get_one_number_each_on_postgresql(pg_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.web.conftest import bearer

    app = create_app(pg_url)
    try:
        alice = Person(app, "carla").signup()
        project = new_project(alice, org="Numbers")
        token = bearer(alice.make_token())
        clients = [Person(app, "carla").client for _ in range(4)]

        def save(n: int) -> list[int]:
            client = clients[n]
            return [
                client.post(f"/api/v1/projects/{project}/models", json={"text": FAMILY_HOME, "note": f"{n}-{i}"}, headers=token).status_code
                for i in range(5)
            ]

        with ThreadPoolExecutor(4) as pool:
            statuses = [s for batch in pool.map(save, range(4)) for s in batch]
        assert statuses == [201] * 20
        numbers = [v["number"] for v in alice.client.get(f"/api/v1/projects/{project}/models", headers=token).json()]
        assert numbers == list(range(1, 21))
    finally:
        app.state.engine.dispose()
