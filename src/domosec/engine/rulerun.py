"""Run the rule queries on a model's database and turn their rows into raw findings, before rating.

Rules run in shared plans (:mod:`domosec.engine.plans`) on a few threads; built-in rules whose needed rows the
database lacks are left out (:mod:`domosec.engine.emptiness`). A rule that fails, returns too many rows or returns
rows of the wrong shape becomes a diagnostic naming its file, and :func:`run_rules` raises them all at once.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Any

import duckdb

from domosec.engine import emptiness, plans
from domosec.engine.database import Database, QueryClock, RowLimitError, Rows
from domosec.engine.memory import process_cap
from domosec.engine.rule import RESERVED_COLUMNS
from domosec.engine.ruleoutput import (
    OPTIONAL_COLUMNS,
    VERIFIED_COLUMN,
    adjustment,
    column_problems,
    explain_values,
    limit_problem,
    output_problem,
    row_problem,
)
from domosec.engine.ruleset import LoadedRule
from domosec.errors import Diagnostic, RuleError


@dataclass(frozen=True)
class RawFinding:
    """One row a rule returned, before rating."""

    rule: LoadedRule
    home_id: str
    asset_kind: str
    asset_id: str
    reason: str
    detail_key: str
    likelihood_adjust: int
    impact_adjust: int
    explain: dict[str, Any]
    verified: bool = True


def _run_all(db: Database, rules: list[LoadedRule], *, shared: bool = True) -> list[Rows | Exception]:
    """Each rule's result table (or its error), in rule order.

    The rules run in shared plans (:mod:`domosec.engine.plans`: a few rules of one scope per
    statement; ``shared=False`` runs each alone). A worker thread per cursor takes the next group
    until none is left (DuckDB releases the GIL while it plans and runs a query, so the cursors work
    in parallel). Each query runs as a subquery, under the time limit and the row limit
    (:func:`domosec.engine.database.read_rule`), and all of them under the memory cap
    (:func:`domosec.engine.memory.process_cap`).
    """
    units = plans.groups(rules) if shared else [[i] for i in range(len(rules))]
    workers = max(1, min(len(units), os.cpu_count() or 1, 4))
    cursors = db.cursors(workers)
    results: list[Rows | Exception | None] = [None] * len(rules)
    failures: list[BaseException] = []
    lock = threading.Lock()
    pending = iter(units)

    def work(cursor: duckdb.DuckDBPyConnection, clock: QueryClock) -> None:
        try:
            while True:
                with lock:
                    unit = next(pending, None)
                if unit is None:
                    return
                queries = [rules[index].rule.query for index in unit]
                for index, result in zip(unit, plans.run_group(cursor, clock, queries, db.row_limit), strict=True):
                    results[index] = result
        except BaseException as exc:  # raised again in the calling thread
            failures.append(exc)

    try:
        with QueryClock() as clock:
            with process_cap(db.memory):
                threads = [threading.Thread(target=work, args=(cursor, clock), name="domosec-rules") for cursor in cursors]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            # Memory is shared: a query over the limit can make another one running beside it fail. Each query
            # that ran out of memory runs again alone, so only a query that needs too much on its own is named.
            # The cap is set again first: it is relative to what the process holds now, and the allocator may
            # keep what the failed queries freed.
            again = [i for i, result in enumerate(results) if isinstance(result, (duckdb.OutOfMemoryException, MemoryError))]
            if again:
                with process_cap(db.memory):
                    for index in again:
                        try:
                            results[index] = clock.rule(cursors[0], rules[index].rule.query, db.row_limit)
                        except (duckdb.Error, RowLimitError, MemoryError) as exc:
                            results[index] = exc
    finally:
        for cursor in cursors:
            cursor.close()
    if failures:
        raise failures[0]
    return [result for result in results if result is not None]


def run_rules(db: Database, rules: list[LoadedRule], *, shared: bool = True, skip_empty: bool = True) -> list[RawFinding]:
    """Run every rule's query; a failing query, a limit reached or a broken row contract is a RuleError naming the rule.

    With ``skip_empty``, a built-in rule whose query needs rows this database does not hold (an empty
    table, no row passing its filter) is not run: it cannot find anything (:mod:`domosec.engine.emptiness`).
    """
    homes = {str(r[0]) for r in db.con.execute("select home_id from homes").fetchall()}
    if skip_empty:
        rules = emptiness.rules_to_run(db, rules)
    raw: list[RawFinding] = []
    problems: list[Diagnostic] = []
    for lr, table in zip(rules, _run_all(db, rules, shared=shared), strict=True):
        if isinstance(table, Exception):
            problems.append(limit_problem(lr, table) or _failure(lr, table))
            continue
        broken = column_problems(lr, table.columns, table.types)
        if broken:
            problems.extend(broken)
            continue
        try:
            raw.extend(_raw_findings(lr, table, homes))
        except _Broken as exc:
            problems.append(exc.diagnostic)
    if problems:
        raise RuleError(problems)
    return raw


class _Broken(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def _raw_findings(lr: LoadedRule, table: Rows, homes: set[str]) -> list[RawFinding]:
    explain_columns = [c for c in table.columns if c not in (*RESERVED_COLUMNS, *OPTIONAL_COLUMNS)]
    seen: set[tuple[str, str, str]] = set()
    out = []
    for row in table.records:
        problem = row_problem(lr, row, homes)
        if problem:
            raise _Broken(problem)
        detail = str(row.get("detail_key") or "")
        ident = (row["home_id"], row["asset_id"], detail)
        if ident in seen:
            message = f"rule {lr.rule.id}: asset '{ident[1]}' appears twice; aggregate so each asset gives one row (or return a detail_key)"
            raise _Broken(Diagnostic(lr.file, lr.query_line, 1, "rule-duplicate-rows", message))
        seen.add(ident)
        try:
            out.append(
                RawFinding(
                    rule=lr,
                    home_id=row["home_id"],
                    asset_kind=row["asset_kind"],
                    asset_id=row["asset_id"],
                    reason=row["reason"],
                    detail_key=detail,
                    likelihood_adjust=adjustment(row.get("likelihood_adjust"), "likelihood_adjust"),
                    impact_adjust=adjustment(row.get("impact_adjust"), "impact_adjust"),
                    explain=explain_values(row, explain_columns),
                    verified=row.get(VERIFIED_COLUMN) is not False,
                )
            )
        except ValueError as exc:
            raise _Broken(output_problem(lr, str(exc))) from None
    return out


def _failure(lr: LoadedRule, exc: Exception) -> Diagnostic:
    text = str(exc).strip()
    message = text.splitlines()[0] if text else type(exc).__name__
    at = re.search(r"LINE (\d+):", text)
    line = lr.query_line + int(at.group(1)) - 1 if at else lr.query_line
    return Diagnostic(lr.file, line, 1, "rule-failed", f"rule {lr.rule.id}: the query failed: {message}")
