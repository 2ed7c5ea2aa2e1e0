"""Refuse rule SQL that could do more than read the model tables.

A rule is data, not code. Before a query runs, DuckDB's own parser turns it into a syntax
tree and this module checks that it is exactly one ``select`` (or ``with … select``) whose
tables are model tables, engine views or its own CTEs, with no table functions and none of
the functions that read files, settings or the environment. The engine adds a second wall at
run time: external access off and configuration locked (see :mod:`domosec.engine.database`).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from typing import Any

import duckdb

DENIED_FUNCTION_PREFIXES = ("read_", "parquet_", "duckdb_", "pragma_", "sniff_", "glob", "json_execute", "sqlite_", "postgres_", "mysql_")
DENIED_FUNCTIONS = frozenset(
    {
        "getenv",
        "current_setting",
        "query",
        "query_table",
        "load",
        "install",
        "which_secret",
        "checkpoint",
        "force_checkpoint",
        "set_config",
        "delta_scan",
        "iceberg_scan",
        "http_get",
        "http_post",
        "url_encode",
        "range",
        "generate_series",
        "repeat",
        "repeat_row",
        "unnest_file",
        "read_blob",
        "read_text",
        "nextval",
        "setseed",
    }
)
MAX_QUERY_CHARS = 20_000
_PARSER_LOCK = threading.Lock()


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    """One in-memory connection, used only to turn SQL text into its syntax tree (nothing runs)."""
    return duckdb.connect(":memory:")


def check_query(sql: str, allowed_tables: set[str]) -> list[str]:
    """Problems that make ``sql`` unacceptable as a rule query (empty when it is fine)."""
    return [message for _, message in locate_problems(sql, allowed_tables)]


def locate_problems(sql: str, allowed_tables: set[str]) -> list[tuple[int | None, str]]:
    """Problems with the character offset in ``sql`` where each was found (None when unknown)."""
    if len(sql) > MAX_QUERY_CHARS:
        return [(None, f"the query is longer than {MAX_QUERY_CHARS} characters")]
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        return [(None, f"the query does not parse: {_first_line(exc)}")]
    if len(statements) != 1:
        return [(None, f"a rule holds exactly one statement, found {len(statements)}")]
    if statements[0].type != duckdb.StatementType.SELECT:
        return [(None, f"a rule may only select; found a {statements[0].type.name.lower()} statement")]
    with _PARSER_LOCK:
        tree = json.loads(_parser().execute("select json_serialize_sql(?)", [sql]).fetchone()[0])  # type: ignore[index]
    if tree.get("error"):
        return [(None, f"the query does not parse: {tree.get('error_message', 'unknown error')}")]
    problems: list[tuple[int | None, str]] = []
    ctes = set(_cte_names(tree))
    for node in _walk(tree):
        kind = node.get("type")
        where = node.get("query_location")
        at = int(where) if isinstance(where, int) and 0 <= where < len(sql) else None
        if kind == "TABLE_FUNCTION":
            problems.append(
                (_location_of_function(node, at), "table functions are not allowed in a rule (it may only read the model tables)")
            )
        elif kind == "BASE_TABLE":
            name = str(node.get("table_name", "")).lower()
            if node.get("catalog_name") or node.get("schema_name"):
                problems.append((at, f"'{name}' is qualified with a database or schema; a rule reads only the model tables"))
            elif name not in allowed_tables and name not in ctes:
                problems.append((at, f"unknown table '{name}'; a rule may read: {', '.join(sorted(allowed_tables))}"))
        elif node.get("class") == "FUNCTION" or kind == "FUNCTION":
            fname = str(node.get("function_name", "")).lower()
            if fname in DENIED_FUNCTIONS or fname.startswith(DENIED_FUNCTION_PREFIXES) or node.get("schema") or node.get("catalog"):
                problems.append((at, f"the function '{fname}' is not allowed in a rule"))
    return sorted(set(problems), key=lambda p: (p[0] if p[0] is not None else -1, p[1]))


def _location_of_function(node: dict[str, Any], at: int | None) -> int | None:
    function = node.get("function")
    where = function.get("query_location") if isinstance(function, dict) else None
    if isinstance(where, int) and where < 2**32:
        return where
    return at


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _walk(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                yield str(entry.get("key", "")).lower()


def _walk(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
