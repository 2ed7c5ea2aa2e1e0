"""``domosec workspace backup|restore`` on SQLite: everything a user stored comes back (evidence files too), the audit
chain still verifies, a non-empty target is refused unless --force, and a damaged file is refused without a traceback."""

from __future__ import annotations

import re
import sqlite3
import stat
import tarfile
from pathlib import Path

from fastapi import FastAPI

from domosec.web.app import create_app
from tests.conftest import run_cli
from tests.web.conftest import Person, assess, bearer, new_project, upload

PDF = b"%PDF-1.4\nrouter settings\n%%EOF\n"
COMPARED = ("users", "projects", "memberships", "model_versions", "assessments", "findings", "treatments", "evidence_files", "audit_log")


def filled_workspace(app: FastAPI) -> dict[str, str]:
    """A workspace with a bit of everything; what a person should find again after a restore."""
    alice = Person(app, "alice").signup()
    token = alice.make_token()
    project = new_project(alice)
    assessment = assess(alice, project, upload(alice, project))
    finding = re.findall(r'id="f-([0-9a-f]{16})"', alice.client.get(f"/projects/{project}/assessments/{assessment}").text)[0]
    assert alice.post(f"/projects/{project}/findings/{finding}/accept", reason="until spring", expires="2099-01-01") == 303
    soa = f"/projects/{project}/assessments/{assessment}/soa"
    attached = alice.client.post(
        f"/projects/{project}/controls/7.2.1/evidence", data={"csrf": alice.csrf, "back": soa}, files={"file": ("router.pdf", PDF)}
    )
    evidence = re.findall(r"/evidence/(\d+)", attached.text)[-1]
    return {"project": str(project), "assessment": str(assessment), "evidence": evidence, "token": token}


def rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(db) as con:
        return {t: con.execute(f"select * from {t} order by 1").fetchall() for t in COMPARED}


def test_backup_and_restore_into_a_new_sqlite_file(app: FastAPI, db_url: str, tmp_path: Path) -> None:
    ids = filled_workspace(app)
    backup = tmp_path / "backup.tar"
    made = run_cli("workspace", "backup", "--db", db_url, "-o", backup)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with tarfile.open(backup) as archive:
        assert "tables/sessions.jsonl" not in archive.getnames()
        assert any(n.startswith("evidence/") for n in archive.getnames())

    target = tmp_path / "restored" / "workspace.sqlite"
    target.parent.mkdir()
    restored = run_cli("workspace", "restore", backup, "--db", f"sqlite:///{target}")
    assert restored.returncode == 0, restored.stderr
    original = rows(Path(db_url.removeprefix("sqlite:///")))
    again = rows(target)
    assert again["audit_log"][: len(original["audit_log"])] == original["audit_log"]
    assert again["audit_log"][-1][3] == "workspace.restore"
    assert {t: v for t, v in again.items() if t != "audit_log"} == {t: v for t, v in original.items() if t != "audit_log"}
    verified = run_cli("audit", "verify", "--db", f"sqlite:///{target}")
    assert verified.returncode == 0, verified.stderr

    app2 = create_app(f"sqlite:///{target}")
    try:
        alice = Person(app2, "alice")
        assert alice.login() == 303, "the restored account does not sign in"
        project, evidence = ids["project"], ids["evidence"]
        assert alice.client.get(f"/projects/{project}/evidence/{evidence}").content == PDF
        assert alice.client.get(f"/api/v1/projects/{project}", headers=bearer(ids["token"])).status_code == 200
        assert alice.post("/orgs", name="after the restore") == 303, "new rows collide with restored IDs"
    finally:
        app2.state.engine.dispose()


def test_restore_refuses_a_workspace_that_is_not_empty_unless_forced(app: FastAPI, db_url: str, tmp_path: Path) -> None:
    filled_workspace(app)
    backup = tmp_path / "backup.tar"
    assert run_cli("workspace", "backup", "--db", db_url, "-o", backup).returncode == 0
    other = tmp_path / "other.sqlite"
    other_app = create_app(f"sqlite:///{other}")
    Person(other_app, "bob").signup()
    other_app.state.engine.dispose()
    refused = run_cli("workspace", "restore", backup, "--db", f"sqlite:///{other}")
    assert refused.returncode == 2 and "error[workspace-not-empty]" in refused.stderr and "Traceback" not in refused.stderr
    with sqlite3.connect(other) as con:
        assert con.execute("select username from users").fetchall() == [("bob",)], "a refused restore changed the target"
    forced = run_cli("workspace", "restore", backup, "--db", f"sqlite:///{other}", "--force")
    assert forced.returncode == 0, forced.stderr
    with sqlite3.connect(other) as con:
        assert con.execute("select username from users").fetchall() == [("alice",)]


def test_a_damaged_backup_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file at all")
    result = run_cli("workspace", "restore", junk, "--db", f"sqlite:///{tmp_path / 'w.sqlite'}")
    assert result.returncode == 2 and "error[bad-backup]" in result.stderr and "Traceback" not in result.stderr
    fake = tmp_path / "fake.tar"
    with tarfile.open(fake, "w") as archive:
        archive.add(junk, arcname="manifest.json")
    result = run_cli("workspace", "restore", fake, "--db", f"sqlite:///{tmp_path / 'w.sqlite'}")
    assert result.returncode == 2 and "error[bad-backup]" in result.stderr


def test_backup_of_a_database_without_a_workspace_is_refused(tmp_path: Path) -> None:
    result = run_cli("workspace", "backup", "--db", f"sqlite:///{tmp_path / 'empty.sqlite'}", "-o", tmp_path / "b.tar")
    assert result.returncode == 2 and "error[not-a-workspace]" in result.stderr
    assert not (tmp_path / "b.tar").exists()
