"""What a rule query needs to find anything: a rule whose needs a home does not meet need not run.

Every rule query costs DuckDB a few milliseconds to bind and plan whatever the data
(docs/performance.md), and on one home most rules find nothing: the home has no sensors, no
automations, no camera, no unencrypted flow. :func:`needed` reads a query's syntax tree (DuckDB's
own parser, ``json_serialize_sql``) and returns *conditions*: a table and a filter over its rows
(:data:`Condition`), such that if no row of the table passes *any one* of them, the rule's query
returns no rows whatever else the database holds. :func:`analyse` keeps them in the cache;
:meth:`domosec.engine.database.Database.unmet` checks them all in one statement, and
:func:`rules_to_run` leaves out the built-in rules with an unmet one.

The reasoning is conservative: a node it does not know adds no condition (the rule runs). A table
is needed when it is the ``from`` of a select, either side of an inner join, the left side of a
left or anti join (the right of a right join), needed by every branch of a ``union``, by the first
branch of an ``except`` or by any branch of an ``intersect``, needed by a CTE or ``from``
subquery in such a place, or by the subquery of an ``exists (…)`` or ``x in (…)`` term of the
``where``. The condition on a needed table also carries the ``where`` terms (and, for an inner
join, the ``on`` terms) that read only that table, through its alias, with no subquery (but the
one-row ``(select as_of from params)``), window or aggregate: a row of the result comes from a row
of the table that passes them. A select that aggregates without ``group by`` gives one row from
no rows, so it needs nothing; nor does a grouping set holding the empty set, a ``values`` list or
a select without ``from``. ``tests/engine/test_emptiness.py`` checks every condition of every
built-in rule against the rule's own result.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from domosec import cache
from domosec.engine.database import PARAM_TABLE, RULE_TABLES, Database

_INNER = frozenset({"INNER", "SEMI"})
_LEFT = frozenset({"LEFT", "ANTI"})
_REF_TYPES = frozenset({"REGULAR", "CROSS", "NATURAL"})
_NOT_A_FILTER = frozenset({"SUBQUERY", "WINDOW", "PARAMETER", "STAR", "LAMBDA", "DEFAULT", "POSITIONAL_REFERENCE"})

if TYPE_CHECKING:
    from domosec.engine.ruleset import LoadedRule

Condition = tuple[str, str]
"""A table and a filter over its rows (SQL, columns named ``table.column``; empty: every row): met when a row passes."""
Render = Callable[[str, str, list[dict[str, Any]]], Condition]
_MARK = "domosec_condition"


def needed(tree: Mapping[str, Any], tables: frozenset[str], aggregates: frozenset[str], render: Render) -> frozenset[Condition]:
    """Conditions (queries) any of which, without rows, makes the statement of ``tree`` (``json_serialize_sql``) return none."""
    statements = tree.get("statements")
    if tree.get("error") or not isinstance(statements, list) or len(statements) != 1:
        return frozenset()
    return _Analysis(tables, aggregates, render).query(statements[0].get("node"), {})


class _Analysis:
    def __init__(self, tables: frozenset[str], aggregates: frozenset[str], render: Render) -> None:
        self.tables = tables
        self.aggregates = aggregates
        self.render = render

    def query(self, node: Any, scope: Mapping[str, frozenset[Condition]]) -> frozenset[Condition]:
        if not isinstance(node, dict):
            return frozenset()
        scope = self.ctes(node, scope)
        kind = node.get("type")
        if kind == "SELECT_NODE":
            if not self.keeps_emptiness(node):
                return frozenset()
            sources: dict[str, str] = {}
            terms: list[Any] = []
            found = self.table_ref(node.get("from_table"), scope, sources, terms)
            where = _and_terms(node.get("where_clause"))
            for term in where:  # `exists (…)` and `x in (…)`: a row passes only if the subquery has rows
                if term.get("class") == "SUBQUERY" and (
                    term.get("subquery_type") == "EXISTS"
                    or (term.get("subquery_type") == "ANY" and term.get("comparison_type") == "COMPARE_EQUAL")
                ):
                    found |= self.query((term.get("subquery") or {}).get("node"), scope)
            return found | self.filtered(sources, [*terms, *where])
        if kind == "SET_OPERATION_NODE":
            children = node.get("children") or [c for c in (node.get("left"), node.get("right")) if c is not None]
            if not isinstance(children, list) or not children:
                return frozenset()
            each = [self.query(child, scope) for child in children]
            setop = node.get("setop_type")
            if setop in ("UNION", "UNION_BY_NAME"):
                return frozenset.intersection(*each)
            if setop == "EXCEPT":
                return each[0]
            if setop == "INTERSECT":
                return frozenset.union(*each)
        return frozenset()

    def ctes(self, node: dict[str, Any], scope: Mapping[str, frozenset[Condition]]) -> Mapping[str, frozenset[Condition]]:
        """The scope with the node's CTEs added, each with its own query's conditions (later ones see earlier ones)."""
        entries = (node.get("cte_map") or {}).get("map") or []
        if not entries:
            return scope
        inner = dict(scope)
        for entry in entries:
            value = entry.get("value") or {}
            inner[str(entry.get("key", "")).lower()] = self.query(value.get("query_node"), inner)
        return inner

    def keeps_emptiness(self, node: dict[str, Any]) -> bool:
        """Whether the select has no rows when its ``from`` has none (not so for an aggregate without ``group by``)."""
        if node.get("aggregate_handling") != "STANDARD_HANDLING":
            return False
        sets = node.get("group_sets") or []
        if node.get("group_expressions"):
            return not any(isinstance(s, list) and not s for s in sets)
        if sets:
            return False
        return not any(self.has_aggregate(e) for e in [*(node.get("select_list") or []), node.get("having"), node.get("qualify")])

    def has_aggregate(self, expression: Any) -> bool:
        """Whether an expression calls an aggregate (outside subqueries; inside a window's arguments counts, to be safe)."""
        for item in _nodes(expression, into_subqueries=False):
            if item.get("class") == "FUNCTION" and str(item.get("function_name", "")).lower() in self.aggregates:
                return True
        return False

    def table_ref(
        self, ref: Any, scope: Mapping[str, frozenset[Condition]], sources: dict[str, str], terms: list[Any]
    ) -> frozenset[Condition]:
        """Conditions of a ``from`` item; its needed base tables go into ``sources`` (by alias), inner-join terms into ``terms``."""
        if not isinstance(ref, dict) or ref.get("sample"):
            return frozenset()
        kind = ref.get("type")
        if kind == "BASE_TABLE":
            if ref.get("schema_name") or ref.get("catalog_name") or ref.get("at_clause"):
                return frozenset()
            name = str(ref.get("table_name", "")).lower()
            if name in scope:
                return scope[name]
            if name not in self.tables:
                return frozenset()
            sources[str(ref.get("alias") or name).lower()] = name
            return frozenset({(name, "")})
        if kind == "SUBQUERY":
            return self.query((ref.get("subquery") or {}).get("node"), scope)
        if kind == "JOIN" and ref.get("ref_type") in _REF_TYPES:
            join = ref.get("join_type")
            if join in _INNER:
                terms.extend(_and_terms(ref.get("condition")))
                return self.table_ref(ref.get("left"), scope, sources, terms) | self.table_ref(ref.get("right"), scope, sources, terms)
            if join in _LEFT:
                return self.table_ref(ref.get("left"), scope, sources, [])
            if join == "RIGHT":
                return self.table_ref(ref.get("right"), scope, sources, [])
        return frozenset()

    def filtered(self, sources: Mapping[str, str], terms: Iterable[Any]) -> frozenset[Condition]:
        """One condition per needed table with the terms that read only it (through its alias)."""
        by_alias: dict[str, list[dict[str, Any]]] = {}
        for term in terms:
            alias = self.only_alias(term)
            if alias is not None and alias in sources:
                by_alias.setdefault(alias, []).append(term)
        return frozenset(self.render(sources[alias], alias, found) for alias, found in by_alias.items())

    def only_alias(self, term: Any) -> str | None:
        """The one alias every column of ``term`` is qualified with, if the term is a plain row filter (else None).

        A scalar subquery that only reads the assessment date (``(select as_of from params)``) is a constant.
        """
        aliases: set[str] = set()
        stack = [term]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
                continue
            if not isinstance(item, dict):
                continue
            cls = item.get("class")
            if cls == "SUBQUERY" and _reads_params(item):
                continue
            if cls in _NOT_A_FILTER:
                return None
            if cls == "FUNCTION" and str(item.get("function_name", "")).lower() in self.aggregates:
                return None
            if cls == "COLUMN_REF":
                names = item.get("column_names")
                if not isinstance(names, list) or len(names) != 2:
                    return None
                aliases.add(str(names[0]).lower())
            stack.extend(item.values())
        return aliases.pop() if len(aliases) == 1 else None


def _reads_params(subquery: dict[str, Any]) -> bool:
    """Whether a subquery expression is a plain scalar lookup in the one-row ``params`` table."""
    node = (subquery.get("subquery") or {}).get("node")
    if subquery.get("subquery_type") != "SCALAR" or not isinstance(node, dict) or node.get("type") != "SELECT_NODE":
        return False
    ref = node.get("from_table") or {}
    plain = ref.get("type") == "BASE_TABLE" and str(ref.get("table_name", "")).lower() == PARAM_TABLE
    if not plain or ref.get("schema_name") or ref.get("catalog_name") or ref.get("sample") or ref.get("at_clause"):
        return False
    if (node.get("cte_map") or {}).get("map") or node.get("modifiers") or node.get("where_clause") or node.get("having"):
        return False
    if node.get("group_expressions") or node.get("group_sets") or node.get("qualify"):
        return False
    qualifier = [str(ref.get("alias") or PARAM_TABLE).lower()]
    for item in _nodes(node.get("select_list"), into_subqueries=True):
        if item.get("class") not in ("COLUMN_REF", "CONSTANT", "CAST", "FUNCTION", "OPERATOR", "COMPARISON"):
            return False
        names = item.get("column_names")
        if item.get("class") == "COLUMN_REF" and not (isinstance(names, list) and [str(n).lower() for n in names[:-1]] in ([], qualifier)):
            return False
    return True


def _and_terms(expression: Any) -> list[Any]:
    """The terms of a conjunction (``a and b and c`` → a, b, c); any other expression is one term."""
    if not isinstance(expression, dict):
        return []
    if expression.get("class") == "CONJUNCTION" and expression.get("type") == "CONJUNCTION_AND":
        return [t for child in expression.get("children") or [] for t in _and_terms(child)]
    return [expression]


def _nodes(tree: Any, *, into_subqueries: bool) -> Iterable[dict[str, Any]]:
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            yield item
            if into_subqueries or item.get("class") != "SUBQUERY":
                stack.extend(item.values())


class _Renderer:
    """Turns a table and row-filter terms (whose columns name an alias) into a :data:`Condition`.

    The terms are rewritten to name the table itself and printed by DuckDB's own
    ``json_deserialize_sql``, so the same filter in two rules is one condition.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.templates: dict[str, dict[str, Any]] = {}
        self.done: dict[str, Condition] = {}

    def __call__(self, table: str, alias: str, terms: list[dict[str, Any]]) -> Condition:
        if not terms:
            return (table, "")
        renamed = copy.deepcopy(terms)
        for term in renamed:
            for item in _nodes(term, into_subqueries=False):  # a `params` lookup keeps its own names
                names = item.get("column_names")
                if item.get("class") == "COLUMN_REF" and isinstance(names, list) and len(names) == 2:
                    item["column_names"] = [table, names[1]]
        key = json.dumps([table, renamed], sort_keys=True)
        if key not in self.done:
            self.done[key] = self.render(table, renamed)
        return self.done[key]

    def render(self, table: str, renamed: list[dict[str, Any]]) -> Condition:
        if table not in self.templates:
            self.templates[table] = self.tree(f'select (true and true) as {_MARK} from "{table}"')
        template = copy.deepcopy(self.templates[table])
        node = template["statements"][0]["node"]
        if len(renamed) == 1:
            renamed[0]["alias"] = _MARK
            node["select_list"][0] = renamed[0]
        else:
            node["select_list"][0]["children"] = renamed
        row = self.con.execute("select json_deserialize_sql(?)", [json.dumps(template)]).fetchone()
        text = str(row[0]) if row else ""
        head, found, _ = text.rpartition(f" AS {_MARK} FROM ")
        if not found or not head.startswith("SELECT "):
            return (table, "")  # not expected; the condition on the table alone still holds
        return (table, head[len("SELECT ") :])

    def tree(self, sql: str) -> dict[str, Any]:
        text = self.con.execute("select json_serialize_sql(?)", [sql]).fetchone()
        return dict(json.loads(text[0])) if text else {}


def aggregate_names(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Names of DuckDB's aggregate functions (and their aliases)."""
    rows = con.execute("select distinct lower(function_name) from duckdb_functions() where function_type = 'aggregate'").fetchall()
    return frozenset(str(r[0]) for r in rows)


def needs_of(con: duckdb.DuckDBPyConnection, query: str, tables: frozenset[str], aggregates: frozenset[str]) -> frozenset[Condition]:
    """The conditions of one query, parsed on ``con``."""
    renderer = _Renderer(con)
    return needed(renderer.tree(query), tables, aggregates, renderer)


@functools.cache
def _code_digest() -> str:
    """SHA-256 of this module's code: an analysis made by other code is never reused."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def analyse(queries: Sequence[str], tables: Iterable[str], *, compute: bool = True) -> list[frozenset[Condition]] | None:
    """Each query's conditions, from the cache or (``compute``) by parsing the queries (see :func:`needed`); else None."""
    known = frozenset(t.lower() for t in tables)
    digests = [hashlib.sha256(q.encode("utf-8")).hexdigest() for q in queries]
    key = cache.content_key("rule-needs", _code_digest(), duckdb.__version__, ",".join(sorted(known)), *digests)
    hit = cache.get(key)
    if isinstance(hit, list) and len(hit) == len(queries) and all(isinstance(h, list) for h in hit):
        return [frozenset((str(t), str(e)) for t, e in h) for h in hit]
    if not compute:
        return None
    con = duckdb.connect(":memory:")
    try:
        aggregates = aggregate_names(con)
        renderer = _Renderer(con)
        found = [needed(renderer.tree(query), known, aggregates, renderer) for query in queries]
    finally:
        con.close()
    cache.put(key, [sorted([t, e] for t, e in n) for n in found])
    return found


def rules_to_run(db: Database, rules: list[LoadedRule]) -> list[LoadedRule]:
    """``rules`` without the built-in ones whose conditions ``db`` does not meet: they would find nothing.

    Only built-in rules are left out: their columns are checked by the test suite, so a rule that
    does not run loses nothing but its rows, of which it would have none; a rule pack's rule always
    runs and is checked. Without a cache that can keep the analysis it would cost more than it
    saves (0.4–0.5 s), and every rule runs; so does every rule when a condition cannot be checked.
    """
    builtin = [lr for lr in rules if lr.builtin]
    directory = cache.cache_dir()
    if not builtin or directory is None:
        return rules
    # Parsed again on every run if the cache cannot keep the analysis: then it is not worth making.
    found = analyse([lr.rule.query for lr in builtin], RULE_TABLES, compute=_writable(directory))
    if found is None:
        return rules
    needs = dict(zip((id(lr) for lr in builtin), found, strict=True))
    try:
        unmet = db.unmet(frozenset().union(*needs.values()))
    except duckdb.Error:  # a condition DuckDB cannot check here: its rule will say why when it runs
        return rules
    if not unmet:
        return rules
    return [lr for lr in rules if not needs.get(id(lr), frozenset()) & unmet]


def _writable(directory: Path) -> bool:
    """Whether ``directory`` can be written, or made where it does not exist yet."""
    for place in (directory, *directory.parents):
        if place.exists():
            return os.access(place, os.W_OK)
    return False
