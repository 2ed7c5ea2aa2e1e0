"""The database the rules run on: the same tables from plain rows as from Arrow, and query time limits."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import duckdb
import pytest

from domosec.engine.database import Database, QueryClock
from domosec.model.load import load_model, load_model_text
from domosec.model.normalise import normalise, normalise_rows
from domosec.model.tables import SPECS
from tests.conftest import EXAMPLES

DAY = dt.date(2026, 11, 23)

ODD_VALUES = """\
domosec: 1
system: {id: odd-home, name: "Quotes ' \\" and \\\\ , a NUL \\0, é and 😀"}
zones: [{id: hall, kind: hallway}]
networks: [{id: wifi, kind: wifi, encryption: wpa2}]
devices:
  - id: cam
    name: "line one\\nline two"
    type: camera
    zone: hall
    networks: [wifi]
    support_end: 2031-02-28
    credentials: [{kind: web, factory_default: true}]
    endpoints: [{protocol: https, port: 65535, exposure: lan}]
"""


def _contents(db: Database) -> dict[str, tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    """Every table's column names and types, and its rows in stored order."""
    return {name: (db.con.execute(f"describe {name}").fetchall(), db.con.execute(f"select * from {name}").fetchall()) for name in SPECS}


@pytest.mark.parametrize("source", [*sorted(EXAMPLES.glob("*.yaml")), "odd-values"], ids=lambda p: Path(str(p)).stem)
def test_plain_rows_load_the_same_tables_as_arrow(source: Path | str) -> None:
    loaded = load_model_text(ODD_VALUES, "odd.yaml") if source == "odd-values" else load_model(source)
    pairs = [(loaded.model, loaded.file)]
    from_rows = Database(normalise_rows(pairs), as_of=DAY)
    from_arrow = Database(normalise(pairs), as_of=DAY)
    try:
        assert _contents(from_rows) == _contents(from_arrow)
    finally:
        from_rows.close()
        from_arrow.close()


def test_query_clock_interrupts_only_the_query_past_its_limit() -> None:
    db = Database(normalise_rows([(load_model_text(ODD_VALUES, "odd.yaml").model, "odd.yaml")]), as_of=DAY)
    slow, quick = db.cursors(2)
    try:
        with QueryClock(0.5) as clock:
            started = time.monotonic()
            with pytest.raises(duckdb.Error, match=r"(?i)interrupt"):
                clock.query(slow, "select count(*) from range(1000000000) as a, range(1000000000) as b")
            assert 0.4 < time.monotonic() - started < 10
            # The clock keeps watching the next queries, and leaves a quick one alone.
            assert clock.query(quick, "select count(*) as n from devices").records == [{"n": 1}]
            assert clock.query(slow, "select device_id from devices").records == [{"device_id": "cam"}]
    finally:
        db.close()
