"""The findings page and its API at scale: a bounded number of queries per page whatever the number of findings and
decisions (no N+1), keyset pages that list every finding once in the page's order, counts per level."""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from tests.web.conftest import Person, assess, bearer, new_project, upload

LEVELS = (("very-high", 20), ("high", 15), ("medium", 9), ("low", 4), ("very-low", 1))


def add_findings(db_url: str, assessment: int, count: int, accepted: int, approver: str) -> None:
    """``count`` more findings in ``assessment`` (bulk, as bench/serve.py seeds them), ``accepted`` of them accepted."""
    rng = random.Random(7)
    rows = []
    for n in range(count):
        level, score = LEVELS[n % 5]
        rows.append(
            (assessment, f"{rng.getrandbits(64):016x}", f"DEV-S{n % 7:02d}", f"finding {n}", f"device-{n}", level, score, "security")
        )
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        con.executemany(
            "insert into findings (assessment_id, finding_id, rule_id, title, asset, level, score, dimension) values (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.execute("update assessments set findings_count = findings_count + ? where id = ?", (count, assessment))
        project, user = con.execute(
            "select a.project_id, u.id from assessments a, users u where a.id = ? and u.username = ?", (assessment, approver)
        ).fetchone()
        con.executemany(
            "insert into treatments (project_id, finding_id, status, reason, expires, approver_id, decided_at)"
            " values (?, ?, 'accepted', 'bulk', '2099-01-01', ?, '2026-01-01 00:00:00')",
            [(project, row[1], user) for row in rows[:accepted]],
        )


@contextmanager
def counted(app: FastAPI, executed: list[tuple[str, Any]] | None = None) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append(statement)
        if executed is not None:
            executed.append((statement, parameters))

    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)


def _setup(app: FastAPI, db_url: str, extra: int, accepted: int) -> tuple[Person, int, int]:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    assessment = assess(alice, project, upload(alice, project))
    add_findings(db_url, assessment, extra, accepted, "alice")
    return alice, project, assessment


def test_queries_per_findings_page_are_bounded(app: FastAPI, db_url: str) -> None:
    """3,000 findings, 500 decided: every page (first, next, filtered) and every API page takes the same few queries."""
    alice, project, assessment = _setup(app, db_url, 3000, 500)
    token = alice.make_token(scope="read")
    base = f"/projects/{project}/assessments/{assessment}"
    second = re.search(r'href="[^"]*after=([0-9a-f]{16})"', alice.client.get(base).text).group(1)  # type: ignore[union-attr]
    api = f"/api/v1/projects/{project}/assessments/{assessment}/findings"
    for path, headers in (
        (base, {}),
        (f"{base}?after={second}", {}),
        (f"{base}?level=low", {}),
        (f"{api}?limit=1000", bearer(token)),
        (f"{api}?limit=1000&after={second}", bearer(token)),
    ):
        with counted(app) as statements:
            response = alice.client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert "accepted by alice" in response.text or '"approver":"alice"' in response.text, path
        assert len(statements) <= 12, f"{path}: {len(statements)} queries:\n" + "\n".join(statements)


def test_keyset_pages_list_every_finding_once_in_order(app: FastAPI, db_url: str) -> None:
    alice, project, assessment = _setup(app, db_url, 1234, 0)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        expected = [
            row[0]
            for row in con.execute(
                "select finding_id from findings where assessment_id = ? order by score desc, rule_id, finding_id", (assessment,)
            )
        ]
        expected_low = [
            row[0]
            for row in con.execute(
                "select finding_id from findings where assessment_id = ? and level = 'low' order by score desc, rule_id, finding_id",
                (assessment,),
            )
        ]
    token = alice.make_token(scope="read")
    api = f"/api/v1/projects/{project}/assessments/{assessment}/findings"
    for level, wanted in (("", expected), ("low", expected_low)):
        seen: list[str] = []
        after = ""
        while True:
            params = {"limit": "97", **({"level": level} if level else {}), **({"after": after} if after else {})}
            batch = alice.client.get(api, params=params, headers=bearer(token)).json()
            seen += [f["finding_id"] for f in batch]
            if len(batch) < 97:
                break
            after = batch[-1]["finding_id"]
        assert seen == wanted
        # the page: 100 at a time, the next page's link continues after the last finding shown
        shown: list[str] = []
        path = f"/projects/{project}/assessments/{assessment}" + (f"?level={level}" if level else "")
        while path:
            text = alice.client.get(path).text
            shown += re.findall(r'id="f-([0-9a-f]{16})"', text)
            link = re.search(r'<a rel="next" href="([^"]+)"', text)
            path = link.group(1).replace("&amp;", "&") if link else ""
        assert shown == wanted


def test_page_shows_counts_per_level_and_refuses_an_unknown_cursor(app: FastAPI, db_url: str) -> None:
    alice, project, assessment = _setup(app, db_url, 500, 0)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        counts = dict(con.execute("select level, count(*) from findings where assessment_id = ? group by level", (assessment,)).fetchall())
    text = alice.client.get(f"/projects/{project}/assessments/{assessment}").text
    for level, count in counts.items():
        assert re.search(rf'level={level}">{level}</a> \({count:,}\)', text), level
    assert alice.get(f"/projects/{project}/assessments/{assessment}?after=0123456789abcdef") == 404
    token = alice.make_token(scope="read")
    missing = alice.client.get(
        f"/api/v1/projects/{project}/assessments/{assessment}/findings", params={"after": "0123456789abcdef"}, headers=bearer(token)
    )
    assert missing.status_code == 404


def test_findings_pages_read_off_an_index_without_sorting(app: FastAPI, db_url: str) -> None:
    """SQLite's plan for every findings query of the first, next and filtered page and the level counts: an index of
    the findings, never a sort of them all (``USE TEMP B-TREE FOR ORDER BY``) nor a scan of the table."""
    alice, project, assessment = _setup(app, db_url, 2000, 0)
    base = f"/projects/{project}/assessments/{assessment}"
    second = re.search(r'href="[^"]*after=([0-9a-f]{16})"', alice.client.get(base).text).group(1)  # type: ignore[union-attr]
    executed: list[tuple[str, Any]] = []
    with counted(app, executed):
        for path in (base, f"{base}?after={second}", f"{base}?level=medium", f"{base}?level=medium&after={second}"):
            assert alice.client.get(path).status_code == 200
    plans = []
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        for statement, parameters in executed:
            if re.search(r"\bFROM findings\b", statement) and "JOIN" not in statement:
                plans.append(" | ".join(row[-1] for row in con.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)))
    assert len(plans) >= 5, plans
    for plan in plans:
        assert "SEARCH findings USING" in plan and "TEMP B-TREE" not in plan, plan
    # the cursor's finding is found by its ID, not by reading the assessment's findings
    assert sum("ix_findings_finding_assessment (finding_id=? AND assessment_id=?)" in plan for plan in plans) == 2, plans
