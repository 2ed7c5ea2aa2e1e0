"""Rules compiled into shared plans: a few statements per run instead of one statement per rule.

Every rule query costs DuckDB a few milliseconds to bind, plan and start, whatever the size of
the data (docs/performance.md). The engines therefore run rules in *groups*: the rules of one
scope (devices, gateways, services, …), at most :data:`GROUP_SIZE` at a time, in rule order, go
into one ``union all`` statement, each rule still as its own subquery under its own row limit::

    select 0 as _rule, _domosec_row as _r0, null as _r1 from (select * from (RULE A) as q limit N) as _domosec_row
    union all
    select 1 as _rule, null as _r0, _domosec_row as _r1 from (select * from (RULE B) as q limit N) as _domosec_row

For one model (:mod:`domosec.engine.assess`) each rule's rows come back as one struct column
of their own, so every value keeps the type and the Python value it has when the rule runs alone;
the fleet engine (:mod:`domosec.fleet.engine`) inserts the groups' rows into its findings table.
Rule authors see no change: a rule is still one file with one query, checked by the SQL guard
when it is loaded, and its rows are the rows it gives alone (``tests/engine/test_plans.py``,
``bench/rule_costs.py compare --shared``).

A group that fails for any reason (an error, the time limit, memory) is run again rule by rule,
so a failing rule is reported under its own ID with the message and line it gives alone; a rule
whose column names DuckDB had to rename inside the struct (two columns of the same name) is run
alone too, and so is a rule whose text names :data:`ROW` (a column of that name would be taken for the row).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import duckdb

from domosec.engine.database import QueryClock, RowLimitError, Rows
from domosec.engine.ruleset import LoadedRule

GROUP_SIZE = 8
"""Rules per shared statement: measured on one home and on fleet batches (docs/performance.md, "Shared plans")."""

_RENAMED = re.compile(r"^(.*)_(\d+)$")
ROW = "_domosec_row"
"""The alias of a rule's rows in a shared statement; as a column name it means the whole row as a struct."""


def groups(rules: Sequence[LoadedRule], size: int | None = None) -> list[list[int]]:
    """The positions of ``rules`` in groups: by scope (in order of first appearance), rule order kept, ``size`` at most."""
    by_scope: dict[str, list[int]] = {}
    for index, lr in enumerate(rules):
        by_scope.setdefault(lr.rule.scope, []).append(index)
    size = max(1, GROUP_SIZE if size is None else size)
    return [members[i : i + size] for members in by_scope.values() for i in range(0, len(members), size)]


def subquery(query: str, row_limit: int) -> str:
    """A rule's query as a subquery with at most ``row_limit + 1`` rows (as :func:`domosec.engine.database.read_rule`)."""
    text = query.rstrip()
    if text.endswith(";"):
        text = text[:-1]
    # The newline ends a trailing comment of the rule; the subquery wall of read_rule stays.
    return f"(select * from ({text}\n) as q limit {int(row_limit) + 1})"


def fetch_sql(queries: Sequence[str], row_limit: int) -> str:
    """One statement giving the rows of every query: ``_rule`` (its position), then one struct column per query."""
    branches = []
    for index, query in enumerate(queries):
        columns = ", ".join(f"{ROW} as _r{j}" if j == index else f"null as _r{j}" for j in range(len(queries)))
        branches.append(f"select {index} as _rule, {columns} from {subquery(query, row_limit)} as {ROW}")
    return "\nunion all\n".join(branches)


def _renamed(names: list[str]) -> bool:
    """Whether DuckDB renamed a duplicate column (``a``, ``a`` → ``a``, ``a_1``) when it packed the row."""
    seen: set[str] = set()
    for name in names:
        match = _RENAMED.match(name)
        if match and match.group(1).lower() in seen:
            return True
        seen.add(name.lower())
    return False


def split(description: list[Any], rows: list[tuple[Any, ...]], count: int, row_limit: int) -> list[Rows | Exception | None]:
    """Each query's result from a :func:`fetch_sql` result (None: run that query alone)."""
    out: list[Rows | Exception | None] = []
    records: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for row in rows:
        records[row[0]].append(row[row[0] + 1])
    for index in range(count):
        struct = description[index + 1][1]
        children = getattr(struct, "children", None)
        if not isinstance(children, list) or not str(struct).startswith("STRUCT("):
            out.append(None)
            continue
        names = [str(name) for name, _ in children]
        if _renamed(names) or len(set(names)) != len(names):
            out.append(None)
        elif len(records[index]) > row_limit:
            out.append(RowLimitError(row_limit))
        else:
            out.append(Rows(names, records[index], [str(kind) for _, kind in children]))
    return out


def run_group(cursor: duckdb.DuckDBPyConnection, clock: QueryClock, queries: Sequence[str], row_limit: int) -> list[Rows | Exception]:
    """Run ``queries`` as one shared statement on ``cursor``; each query's rows, or its error when run alone."""
    results: list[Rows | Exception | None] = [None] * len(queries)
    shared = [i for i, query in enumerate(queries) if ROW not in query.lower()]
    if len(shared) > 1:
        try:
            with clock.watching(cursor):
                done = cursor.execute(fetch_sql([queries[i] for i in shared], row_limit))
                description = list(done.description or [])
                rows = done.fetchall()
            for index, result in zip(shared, split(description, rows, len(shared), row_limit), strict=True):
                results[index] = result
        except (duckdb.Error, MemoryError):
            results = [None] * len(queries)
    out: list[Rows | Exception] = []
    for query, result in zip(queries, results, strict=True):
        if result is None:
            try:
                result = clock.rule(cursor, query, row_limit)
            except (duckdb.Error, RowLimitError, MemoryError) as exc:
                result = exc
        out.append(result)
    return out
