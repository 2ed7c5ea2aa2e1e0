"""The audit page of a project reads its entries off an index on PostgreSQL, whatever the size of the log.

A busy workspace's log holds every project's changes in one chain. The page of one project asks for its newest
100 entries (or those older than entry N); with an index on the project alone PostgreSQL had to gather all of
the project's entries and sort them. With ``(project_id, seq)`` it reads the 101 it shows, newest first.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from domosec.web.app import create_app
from domosec.web.audit import entry_hash
from tests.conftest import run_cli
from tests.web.conftest import Person, new_project
from tests.web.test_findings_scale import counted


def _append(app: Any, entries: list[tuple[int, str]]) -> None:
    """Entries (project, action) at the end of the chain, each hashed onto the one before, as ``audit.record`` does."""
    with app.state.engine.begin() as conn:
        seq, prev = conn.execute(text("select seq, hash from audit_log order by seq desc limit 1")).one()
        rows = []
        for project, action in entries:
            seq += 1
            at, detail = "2026-12-07T12:00:00Z", json.dumps({"n": seq}, separators=(",", ":"))
            digest = entry_hash(seq, at, "seed", action, project, detail, prev)
            rows.append(
                {
                    "seq": seq,
                    "at": at,
                    "actor": "seed",
                    "action": action,
                    "project_id": project,
                    "detail": detail,
                    "prev": prev,
                    "hash": digest,
                }
            )
            prev = digest
        conn.execute(
            text(
                "insert into audit_log (seq, at, actor, action, project_id, detail, prev_hash, hash) "
                "values (:seq, :at, :actor, :action, :project_id, :detail, :prev, :hash)"
            ),
            rows,
        )
        conn.execute(text("analyze audit_log"))


def test_audit_pages_read_off_an_index_without_sorting(pg_url: str) -> None:
    app = create_app(pg_url)
    try:
        owner = Person(app, "owner").signup()
        quiet, busy = new_project(owner), new_project(owner)
        _append(app, [(quiet, "model.uploaded")] * 150 + [(busy, "finding.planned")] * 20_000)
        executed: list[tuple[str, Any]] = []
        with counted(app, executed):
            for project in (quiet, busy):
                first = owner.client.get(f"/projects/{project}/audit")
                assert first.status_code == 200 and "Older entries" in first.text
                older = first.text.split(f"/projects/{project}/audit?before=")[1].split('"')[0]
                assert owner.client.get(f"/projects/{project}/audit?before={older}").status_code == 200
        queries = [(s, p) for s, p in executed if "FROM audit_log" in s and "audit_log.project_id" in s]
        assert len(queries) == 4, queries
        with app.state.engine.connect() as conn:
            plans = ["\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {s}", p)) for s, p in queries]
    finally:
        app.state.engine.dispose()
    for plan in plans:  # newest first off an index: no sort of the project's entries
        assert "Index Scan Backward using" in plan and "Sort" not in plan, plan
    # The quiet project's 150 entries lie among 20,000 others: only the (project, entry) index reads just them.
    # (For the busy one, whose entries are nearly all of the log, PostgreSQL may walk the entry numbers instead.)
    assert all("ix_audit_log_project_seq" in plan for plan in plans[:2]), plans[:2]
    verified = run_cli("audit", "verify", "--db", pg_url)
    assert verified.returncode == 0, verified.stderr
