"""An embedded DuckDB database holding the normalised tables, locked down before rules run."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from domosec.engine.memory import DEFAULT_MEMORY_LIMIT, memory_limit
from domosec.model.tables import FLOAT64, SPECS, sql_type

if TYPE_CHECKING:
    import pyarrow as pa

VIEWS = ("equipment", "element_names", "flow_contents", "asset_context", "service_safety_devices", "home_context")
PARAM_TABLE = "params"
RULE_TABLES = frozenset({*SPECS, *VIEWS, PARAM_TABLE})
DEFAULT_TIME_LIMIT_S = 30.0
ROWS_PER_HOME = 100_000
"""A rule query may return at most this many rows per home of the database (one finding per row)."""
SMALL_ROWS = 10_000
"""At most this many rows in all tables together, the built-in rules run unoptimised: on a home of up to ~1,000
devices DuckDB's optimiser costs more than it saves (docs/performance.md, "Small homes")."""


class RowLimitError(Exception):
    """A rule query returned more rows than its limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"more than {limit:,} rows")


def _view_statements() -> list[str]:
    text = (resources.files("domosec.engine") / "views.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class Database:
    """The normalised tables of one or many homes in DuckDB, ready for rule queries."""

    def __init__(
        self,
        tables: Mapping[str, pa.Table | list[list[Any]]],
        *,
        as_of: dt.date,
        threads: int | None = 1,
        memory: str | None = DEFAULT_MEMORY_LIMIT,
        trusted_queries: bool = True,
    ) -> None:
        """Load ``tables``: Arrow tables, or the plain rows of :func:`domosec.model.normalise.normalise_rows`.

        ``trusted_queries``: only the built-in rules will run, whose joins are all explicit, so a small
        database can skip the optimiser; a rule pack's query might join tables by a ``where`` clause,
        which only the optimiser turns from a cross product into a join.
        """
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"set threads = {int(threads)}")
        self._limit_memory(memory_limit(memory))
        self.sizes = {name: len(table) if isinstance(table, list) else table.num_rows for name, table in tables.items()}
        """How many rows each model table holds, known without asking DuckDB (:meth:`unmet`)."""
        for name, table in tables.items():
            if isinstance(table, list):
                _load_rows(self.con, name, table)
                continue
            self.con.register(f"_arrow_{name}", table)
            self.con.execute(f"create table {name} as select * from _arrow_{name}")
            self.con.unregister(f"_arrow_{name}")
        if trusted_queries and sum(self.sizes.values()) <= SMALL_ROWS:
            # Same rows either way (the optimiser only chooses how): equality is tested in tests/engine/test_small_plans.py.
            self.con.execute("set enable_optimizer = false")
        self._prepare(as_of)

    @classmethod
    def from_connection(cls, con: duckdb.DuckDBPyConnection, *, as_of: dt.date) -> Database:
        """Take over a connection that already holds the model tables (a fleet batch loads and checks them itself)."""
        db = cls.__new__(cls)
        db.con = con
        db.memory = None
        db.sizes = {}
        if memory_limit(None):
            db._limit_memory(memory_limit(None))
        db._prepare(as_of)
        return db

    def _limit_memory(self, limit: str | None) -> None:
        """DuckDB's memory limit, with nothing spilled to disk (a query past it fails instead of filling the disk).

        ``memory`` keeps the limit for :func:`domosec.engine.memory.process_cap` while rules run.
        """
        self.memory = limit
        if limit:
            self.con.execute("set memory_limit = ?", [limit])
        self.con.execute("set temp_directory = ''")

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
        homes = self.con.execute("select count(*) from homes").fetchone()
        self.row_limit = ROWS_PER_HOME * max(1, int(homes[0]) if homes else 1)

    def query(self, sql: str, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Rows:
        """Run one read-only query, interrupting it after ``time_limit_s`` seconds."""
        return run_query(self.con, sql, time_limit_s=time_limit_s)

    def unmet(self, conditions: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
        """Which ``(table, filter)`` conditions no row of their table passes (an empty filter: the table is empty).

        The filters are SQL over ``table.column`` (as :mod:`domosec.engine.emptiness` makes them),
        all checked in one statement with one scan per table, by DuckDB like any query. A model table
        whose size is known needs no SQL when it is empty (nothing passes) or the filter is empty.
        """
        by_table: dict[str, list[str]] = {}
        empty: set[tuple[str, str]] = set()
        for table, condition in sorted(set(conditions)):
            if table not in RULE_TABLES:
                continue
            size = self.sizes.get(table)
            if size == 0:
                empty.add((table, condition))
            elif size is None or condition:
                by_table.setdefault(table, []).append(condition)
        if not by_table:
            return frozenset(empty)
        scans: list[str] = []
        order: list[tuple[str, str]] = []
        number = 0
        for table, filters in by_table.items():
            columns = []
            for condition in filters:
                columns.append(f"coalesce(bool_or({condition}), false) as c{number}" if condition else f"count(*) > 0 as c{number}")
                order.append((table, condition))
                number += 1
            scans.append(f"(select {', '.join(columns)} from {table}) as s{len(scans)}")
        row = self.con.execute(f"select * from {', '.join(scans)}").fetchone()  # aggregates: always one row
        return frozenset(empty) | frozenset(c for c, met in zip(order, row or [True] * len(order), strict=True) if not met)

    def cursors(self, count: int) -> list[duckdb.DuckDBPyConnection]:
        """Extra connections to the same (locked-down) database, for running queries in parallel threads."""
        return [self.con.cursor() for _ in range(count)]

    def close(self) -> None:
        self.con.close()


def _load_rows(con: duckdb.DuckDBPyConnection, name: str, rows: list[list[Any]]) -> None:
    """Create table ``name`` from plain rows in its columns' order, without Arrow.

    Each column goes in as one JSON array that DuckDB casts to a typed list and unnests (the
    unnests of one select run side by side, so rows keep their order). For a home-sized model
    this is faster than importing pyarrow, and for 5,000 devices it is on a par with it.
    """
    columns = SPECS[name].all_columns
    if not rows:
        con.execute(f"create table {name} (" + ", ".join(f'"{c.name}" {sql_type(c.type)}' for c in columns) + ")")
        return
    values = list(zip(*rows, strict=True))
    params: list[Any] = []
    selects: list[str] = []
    for column, column_values in zip(columns, values, strict=True):
        kind = sql_type(column.type)
        if str(column.type) == FLOAT64:
            # JSON has no NaN or infinity: floats go in as a list parameter.
            params.append(list(column_values))
            selects.append(f'unnest(cast(? as {kind}[])) as "{column.name}"')
        else:
            params.append(orjson.dumps(column_values).decode("utf-8"))
            selects.append(f'unnest(cast(json(?) as {kind}[])) as "{column.name}"')
    con.execute(f"create table {name} as select {', '.join(selects)}", params)


@dataclass(frozen=True)
class Rows:
    """A query's result: its column names and its rows as dictionaries."""

    columns: list[str]
    records: list[dict[str, Any]]
    types: list[str] = field(default_factory=list)
    """DuckDB's type of each column (``VARCHAR``, ``INTEGER``, ``VARCHAR[]``, …)."""


def run_query(con: duckdb.DuckDBPyConnection, sql: str, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> Rows:
    with _deadline(con, time_limit_s):
        return _fetch(con, sql)


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> Rows:
    cursor = con.execute(sql)
    description = cursor.description or []
    columns = [d[0] for d in description]
    return Rows(columns, [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()], [str(d[1]) for d in description])


def read_rule(con: duckdb.DuckDBPyConnection, sql: str, row_limit: int) -> Rows:
    """Run a rule's query as a subquery, returning at most ``row_limit`` rows.

    Being a subquery is the wall behind the SQL guard: DuckDB refuses a data-modifying
    statement anywhere but at the top level ("WITH clause containing a data-modifying statement
    must be at the top level"), so no rule query can change the model even if it passed the
    guard. The row limit is applied inside DuckDB, so a query that would return millions of rows
    stops at ``row_limit + 1`` and is refused.
    """
    query = sql.rstrip()
    if query.endswith(";"):
        query = query[:-1]
    # On the query's first line, so DuckDB's "LINE n" still counts the rule's own lines.
    rows = _fetch(con, f"select * from ({query}\n) as rule_rows limit {int(row_limit) + 1}")
    if len(rows.records) > row_limit:
        raise RowLimitError(row_limit)
    return rows


class QueryClock:
    """One watchdog thread that interrupts any of several connections whose query runs past the limit.

    For running many short queries: a timer thread per query costs more than most rule queries.
    The watchdog sleeps until the earliest deadline of the queries running when it last looked (or
    a whole limit when none was running), so it wakes rarely and never per query.
    """

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds if seconds is not None else DEFAULT_TIME_LIMIT_S
        self._lock = threading.Lock()
        self._running: dict[int, tuple[duckdb.DuckDBPyConnection, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="domosec-query-clock", daemon=True)

    def __enter__(self) -> QueryClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def query(self, con: duckdb.DuckDBPyConnection, sql: str) -> Rows:
        """Run one read-only query on ``con`` under the clock."""
        with self.watching(con):
            return _fetch(con, sql)

    def rule(self, con: duckdb.DuckDBPyConnection, sql: str, row_limit: int) -> Rows:
        """Run a rule's query on ``con`` under the clock (see :func:`read_rule`)."""
        with self.watching(con):
            return read_rule(con, sql, row_limit)

    @contextmanager
    def watching(self, con: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """Interrupt what ``con`` runs inside this block once it has run past the limit."""
        with self._lock:
            self._running[id(con)] = (con, time.monotonic())
        try:
            yield
        finally:
            with self._lock:
                del self._running[id(con)]

    def _watch(self) -> None:
        wait = self.seconds
        while not self._stop.wait(wait):
            now = time.monotonic()
            wait = self.seconds
            with self._lock:
                # Interrupting under the lock: a connection cannot finish this query and start the next meanwhile.
                for con, started in self._running.values():
                    left = started + self.seconds - now
                    if left <= 0:
                        con.interrupt()
                    else:
                        wait = min(wait, left)


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[None]:
    timer = threading.Timer(seconds, con.interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
