"""Refuse rule SQL that could do more than read the model tables: an allow-list over DuckDB's syntax tree.

A rule is data, not code. Before a query runs, DuckDB's own parser turns it into a syntax tree
(``json_serialize_sql``) and this module accepts it only if *every* node of that tree is of a
kind listed here: one ``select`` (or ``with … select``, set operations, subqueries) whose tables
are model tables, engine views or its own CTEs, whose expressions are of the listed classes and
whose functions are in :data:`ALLOWED_FUNCTIONS`. Anything else — a data-modifying node anywhere
(``with a as (delete … returning …)``), a table function, a function not listed (files,
settings, the environment, or ones that build huge values from small input such as ``repeat``,
``lpad``, ``list_resize``), a recursive CTE, a sample, a time-travel clause, or a statement the
serialiser cannot represent — is refused with the character offset of the offending part.

The engine adds walls at run time (see :mod:`domosec.engine.database`): each rule runs as a
subquery (where DuckDB refuses any data-modifying statement), with external access off, the
configuration locked, and its memory, time and result rows limited.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

MAX_QUERY_CHARS = 20_000
_PARSER_LOCK = threading.Lock()
_UNKNOWN = 2**63

QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE"})
"""Query nodes a rule may hold: plain selects and union/except/intersect (no recursive CTE, no DML)."""
TABLE_REFS = frozenset({"BASE_TABLE", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST"})
"""FROM-clause items: model tables and CTEs, joins, subqueries, no FROM, and ``values`` lists (no table functions, no pivot)."""
MODIFIERS = frozenset({"ORDER_MODIFIER", "DISTINCT_MODIFIER", "LIMIT_MODIFIER", "ORDER_DEFAULT", "ASCENDING", "DESCENDING"})
EXPRESSION_CLASSES = frozenset(
    {
        "BETWEEN",
        "CASE",
        "CAST",
        "COLLATE",
        "COLUMN_REF",
        "COMPARISON",
        "CONJUNCTION",
        "CONSTANT",
        "FUNCTION",
        "LAMBDA",
        "OPERATOR",
        "POSITIONAL_REFERENCE",
        "STAR",
        "SUBQUERY",
        "TYPE",
        "WINDOW",
    }
)
"""Expression classes: no parameters, no defaults (a class not listed is refused)."""

ALLOWED_FUNCTIONS = frozenset(
    {
        # operators (DuckDB names them as functions)
        *("+", "-", "*", "/", "//", "%", "||", "~~", "!~~", "~~*", "!~~*", "^@", "@>", "<@", "&&"),
        # text
        *("lower", "upper", "lcase", "ucase", "trim", "ltrim", "rtrim", "length", "len", "strlen", "substring", "substr"),
        *("replace", "concat", "concat_ws", "contains", "starts_with", "ends_with", "prefix", "suffix", "left", "right"),
        *("position", "strpos", "instr", "split_part", "like_escape", "ilike_escape"),
        *("regexp_matches", "regexp_full_match", "regexp_extract"),
        # lists and structs
        *("list_value", "list_pack", "list_distinct", "list_sort", "list_reverse_sort", "list_contains", "list_has", "list_has_any"),
        *("list_has_all", "array_contains", "array_has", "array_length", "list_filter", "list_transform", "array_to_string"),
        *("list_extract", "list_element", "array_extract", "list_slice", "array_slice", "list_concat", "flatten", "unnest"),
        *("list_position", "list_indexof", "struct_pack", "struct_extract", "row"),
        # numbers, nulls, dates
        *("abs", "round", "floor", "ceil", "ceiling", "greatest", "least", "sign", "nullif", "if"),
        *("date_diff", "datediff", "date_part", "datepart", "date_trunc", "datetrunc", "year", "month", "day"),
        # aggregates
        *("count", "count_star", "sum", "min", "max", "avg", "mean", "bool_and", "bool_or", "any_value", "arg_min", "arg_max"),
        *("first", "last", "list", "array_agg", "string_agg", "group_concat"),
        # windows
        *("row_number", "rank", "dense_rank"),
    }
)
"""Every function a rule may call: those the shipped rules use plus common ones that read, compare and combine
values without growing them far beyond their input. Not listed (so refused): table functions, files, settings,
the environment, randomness and the clock (``now``; rules use ``params.as_of``), and ``repeat``, ``lpad``/``rpad``,
``list_resize``, ``range``, ``printf``/``format``, ``regexp_replace``, which turn a small query into gigabytes. DuckDB's
memory limit does not count the text a function builds, so these must never run: ``lpad('x', 10^9, 'y')`` took
1.9 GB and 24 s under a 64 MB limit. ``replace`` is allowed only when its result cannot be longer than its input
(see :data:`SHRINKING`)."""

SHRINKING = frozenset({"replace"})
"""Functions allowed only with a constant, non-empty search text and a constant replacement no longer than it: with a
longer replacement, ``replace(string_agg(…), 'x', <10,000 characters>)`` built 0.9 GB under a 64 MB limit."""

ALLOWED_TYPES = frozenset(
    {
        *("varchar", "text", "string", "boolean", "bool", "date", "timestamp", "interval", "list"),
        *("tinyint", "smallint", "integer", "int", "bigint", "hugeint", "double", "float", "real", "decimal", "numeric"),
    }
)
"""Type names a cast may name (and ``list`` for ``T[]``)."""

DML_KEYWORDS = {"DELETE_QUERY_NODE": "delete", "UPDATE_QUERY_NODE": "update", "INSERT_QUERY_NODE": "insert"}


@functools.cache
def guard_digest() -> str:
    """SHA-256 of this module's code: a cached verdict of an earlier guard is never reused."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


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
        row = _parser().execute("select json_serialize_sql(?)", [sql]).fetchone()
    tree: dict[str, Any] = json.loads(row[0]) if row else {"error": True}
    statements_tree = tree.get("statements")
    if tree.get("error") or not isinstance(statements_tree, list) or len(statements_tree) != 1:
        detail = tree.get("error_message", "it cannot be represented as a plain select")
        return [(None, f"the query is not a plain select: {detail}")]
    checker = _Checker(sql, allowed_tables)
    checker.statement(statements_tree[0].get("node"))
    return sorted(set(checker.problems), key=lambda p: (p[0] if p[0] is not None else -1, p[1]))


class _Checker:
    """Walks the tree once; every dict with a string ``type`` must be a node kind this module lists."""

    def __init__(self, sql: str, allowed_tables: set[str]) -> None:
        self.sql = sql
        self.allowed_tables = allowed_tables
        self.problems: list[tuple[int | None, str]] = []
        self.ctes: set[str] = set()
        self._dml_reported = False

    def refuse(self, at: int | None, message: str) -> None:
        self.problems.append((at, message))

    def statement(self, node: Any) -> None:
        if not isinstance(node, dict) or node.get("type") not in QUERY_NODES:
            self.refuse(None, "a rule may only select")
            return
        self.ctes = {name for name in _cte_names(node)}
        self.walk(node, None)

    def walk(self, root: Any, at: int | None) -> None:
        stack: list[tuple[Any, int | None]] = [(root, at)]
        while stack:
            item, inherited = stack.pop()
            if isinstance(item, list):
                stack.extend((child, inherited) for child in item)
                continue
            if not isinstance(item, dict):
                continue
            where = _location(item, self.sql) or inherited
            if isinstance(item.get("type"), str) and not self.node(item, where):
                continue  # refused: its children are not looked at (one message per offending part)
            stack.extend((child, where) for key, child in item.items() if isinstance(child, (dict, list)))

    def node(self, node: dict[str, Any], at: int | None) -> bool:
        kind = str(node["type"])
        cls = node.get("class")
        if cls is not None:
            return self.expression(node, str(cls), kind, at)
        if kind in DML_KEYWORDS:
            self.data_change(kind, at)
            return False
        if kind in QUERY_NODES or kind in MODIFIERS:
            if node.get("sample") is not None:
                self.refuse(at, "sampling (tablesample) is not allowed in a rule: results must be deterministic")
            return True
        if kind in TABLE_REFS:
            return self.table_ref(node, kind, at)
        if kind == "TABLE_FUNCTION":
            function = node.get("function")
            name = str(function.get("function_name", "")).lower() if isinstance(function, dict) else ""
            message = f"the table function '{name}' is not allowed in a rule (it may only read the model tables)"
            self.refuse(_function_location(node, at), message)
            return False
        if kind == "RECURSIVE_CTE_NODE":
            at = next((offset for offset, _ in _keyword_offsets(self.sql, {"recursive"})), at)
        self.refuse(at, f"'{kind.lower()}' is not allowed in a rule (only plain selects over the model tables)")
        return False

    def data_change(self, kind: str, at: int | None) -> None:
        """Refuse a data-modifying node; the tree gives no position for it, so each keyword that starts one is named."""
        if self._dml_reported:
            return
        self._dml_reported = True
        found = _keyword_offsets(self.sql, set(DML_KEYWORDS.values()))
        for offset, word in found or [(at, DML_KEYWORDS[kind])]:
            self.refuse(offset, f"a rule may not change data ('{word}' found); it may only read the model tables")

    def table_ref(self, node: dict[str, Any], kind: str, at: int | None) -> bool:
        if node.get("sample") is not None:
            self.refuse(at, "sampling (tablesample) is not allowed in a rule: results must be deterministic")
        if kind == "JOIN" and node.get("ref_type") not in ("REGULAR", "NATURAL", "CROSS"):
            self.refuse(at, f"a {str(node.get('ref_type')).lower()} join is not allowed in a rule")
        if kind != "BASE_TABLE":
            return True
        name = str(node.get("table_name", "")).lower()
        if node.get("catalog_name") or node.get("schema_name"):
            self.refuse(at, f"'{name}' is qualified with a database or schema; a rule reads only the model tables")
        elif node.get("at_clause") is not None:
            self.refuse(at, f"'{name}' is read at another version; a rule reads only the model as loaded")
        elif name not in self.allowed_tables and name not in self.ctes:
            self.refuse(at, f"unknown table '{name}'; a rule may read: {', '.join(sorted(self.allowed_tables))}")
        return True

    def expression(self, node: dict[str, Any], cls: str, kind: str, at: int | None) -> bool:
        if cls not in EXPRESSION_CLASSES:
            self.refuse(at, f"'{kind.lower()}' expressions are not allowed in a rule")
            return False
        if cls in ("FUNCTION", "WINDOW"):
            name = str(node.get("function_name", "")).lower()
            if node.get("schema") or node.get("catalog"):
                self.refuse(at, f"the function '{name}' is qualified with a database or schema; a rule calls only built-in functions")
                return False
            if name in SHRINKING and not _shrinks(node):
                message = f"'{name}' needs a constant search text and a constant replacement no longer than it in a rule"
                self.refuse(at, message)
                return False
            if name not in ALLOWED_FUNCTIONS:
                self.refuse(at, f"the function '{name}' is not allowed in a rule (docs/writing-rules.md lists those that are)")
                return False
        elif cls == "TYPE":
            name = str(node.get("type_name", "")).lower()
            if node.get("schema") or node.get("catalog") or name not in ALLOWED_TYPES:
                self.refuse(at, f"the type '{name}' is not allowed in a rule")
                return False
        return True


def _shrinks(node: dict[str, Any]) -> bool:
    """Whether a ``replace`` call has constant text arguments 2 and 3, the replacement no longer than the search text."""
    arguments = node.get("arguments") or node.get("children") or []
    if len(arguments) != 3:
        return False
    search, replacement = (_constant_text(a.get("expression") if isinstance(a, dict) and "expression" in a else a) for a in arguments[1:])
    return search is not None and replacement is not None and len(search) > 0 and len(replacement) <= len(search)


def _constant_text(node: Any) -> str | None:
    if isinstance(node, dict) and node.get("class") == "CONSTANT":
        literal = node.get("literal")
        if isinstance(literal, dict) and literal.get("kind") == "STRING":
            return str(literal.get("text", ""))
    return None


def _location(node: dict[str, Any], sql: str) -> int | None:
    where = node.get("query_location")
    return where if isinstance(where, int) and 0 <= where < len(sql) and where < _UNKNOWN else None


def _function_location(node: dict[str, Any], at: int | None) -> int | None:
    function = node.get("function")
    where = function.get("query_location") if isinstance(function, dict) else None
    return where if isinstance(where, int) and where < _UNKNOWN else at


def _keyword_offsets(sql: str, words: set[str]) -> list[tuple[int | None, str]]:
    """Offsets of the keyword tokens ``words`` in ``sql`` (not inside strings or comments), in order."""
    found: list[tuple[int | None, str]] = []
    for offset, kind in duckdb.tokenize(sql):
        if kind != duckdb.token_type.keyword:
            continue
        for word in words:
            after = sql[offset + len(word) : offset + len(word) + 1]
            if sql[offset : offset + len(word)].lower() == word and not (after.isalnum() or after == "_"):
                found.append((offset, word))
    return found


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
