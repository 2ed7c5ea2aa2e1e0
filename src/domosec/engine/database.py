"""An embedded DuckDB database holding the normalised tables, locked down before rules run."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa

from domosec.model.tables import SPECS

VIEWS = ("equipment", "element_names", "asset_context", "home_context")
PARAM_TABLE = "params"
RULE_TABLES = frozenset({*SPECS, *VIEWS, PARAM_TABLE})
DEFAULT_TIME_LIMIT_S = 30.0


def _view_statements() -> list[str]:
    text = (resources.files("domosec.engine") / "views.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class Database:
    """The normalised tables of one or many homes in DuckDB, ready for rule queries."""

    def __init__(self, tables: dict[str, pa.Table], *, as_of: dt.date, threads: int | None = 1, memory_limit: str | None = None) -> None:
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"set threads = {int(threads)}")
        if memory_limit:
            self.con.execute("set memory_limit = ?", [memory_limit])
        for name, table in tables.items():
            self.con.register(f"_arrow_{name}", table)
            self.con.execute(f"create table {name} as select * from _arrow_{name}")
            self.con.unregister(f"_arrow_{name}")
        self._prepare(as_of)

    @classmethod
    def from_connection(cls, con: duckdb.DuckDBPyConnection, *, as_of: dt.date) -> Database:
        """Take over a connection that already holds the model tables (a fleet batch loads and checks them itself)."""
        db = cls.__new__(cls)
        db.con = con
        db._prepare(as_of)
        return db

    def _prepare(self, as_of: dt.date) -> None:
        """Add the parameters and the engine's views, then lock the database down."""
        self.con.execute(f"create table {PARAM_TABLE} as select cast(? as date) as as_of", [as_of])
        # The views are materialised once: every rule reads them, and the data does not change.
        for statement in _view_statements():
            self.con.execute(statement.replace("create or replace view", "create or replace table", 1))
        # The second wall after the SQL guard: no files, no network, no extensions, no settings.
        self.con.execute("set enable_external_access = false")
        self.con.execute("set autoinstall_known_extensions = false")
        self.con.execute("set autoload_known_extensions = false")
        self.con.execute("set lock_configuration = true")

    def query(self, sql: str, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Rows:
        """Run one read-only query, interrupting it after ``time_limit_s`` seconds."""
        return run_query(self.con, sql, time_limit_s=time_limit_s)

    def cursors(self, count: int) -> list[duckdb.DuckDBPyConnection]:
        """Extra connections to the same (locked-down) database, for running queries in parallel threads."""
        return [self.con.cursor() for _ in range(count)]

    def close(self) -> None:
        self.con.close()


@dataclass(frozen=True)
class Rows:
    """A query's result: its column names and its rows as dictionaries."""

    columns: list[str]
    records: list[dict[str, Any]]


def run_query(con: duckdb.DuckDBPyConnection, sql: str, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Rows:
    with _deadline(con, time_limit_s):
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        return Rows(columns, [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()])


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[None]:
    timer = threading.Timer(seconds, con.interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
