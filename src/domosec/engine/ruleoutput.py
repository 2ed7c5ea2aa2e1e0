"""The contract a rule's result must keep, and the limits it must stay within, as diagnostics naming the rule.

A rule returns one row per finding: ``home_id``, ``asset_kind``, ``asset_id`` and ``reason`` as
text, optional integer ``likelihood_adjust``/``impact_adjust``, an optional text ``detail_key``,
an optional boolean ``verified`` (only in a rule with an ``unverified:`` block; null counts as true),
then explain columns whose values can be written as JSON. Both engines (one model at a time in
:mod:`domosec.engine.assess`, batches in :mod:`domosec.fleet.engine`) check the column types the
same way here, before any row is used, and the values of each row; a broken contract is an
``error[rule-output]`` and a query past its memory, time or row limit an ``error[rule-limit]``,
both naming the rule file, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import duckdb

from domosec.engine import database
from domosec.engine.database import ROWS_PER_HOME, RowLimitError
from domosec.engine.memory import MEMORY_LIMIT_ENV
from domosec.engine.rule import RESERVED_COLUMNS
from domosec.engine.ruleset import LoadedRule
from domosec.errors import Diagnostic

ASSET_KINDS = ("home", "user", "zone", "network", "gateway", "device", "service", "flow")
TEXT_COLUMNS = (*RESERVED_COLUMNS, "detail_key")
ADJUST_COLUMNS = ("likelihood_adjust", "impact_adjust")
VERIFIED_COLUMN = "verified"
OPTIONAL_COLUMNS = ("detail_key", *ADJUST_COLUMNS, VERIFIED_COLUMN)
_INTEGER = re.compile(r"^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$")
_TEXT = ("VARCHAR", '"NULL"', "NULL")
_UNWRITABLE = re.compile(r"\b(BLOB|BIT|UUID|INTERVAL|TIME|TIME WITH TIME ZONE|MAP|UNION|VARINT|BIGNUM|GEOMETRY)\b")


def output_problem(lr: LoadedRule, message: str) -> Diagnostic:
    return Diagnostic(lr.file, lr.query_line, 1, "rule-output", f"rule {lr.rule.id}: {message}")


def limit_problem(lr: LoadedRule, exc: BaseException, *, time_limit_s: float | None = None) -> Diagnostic | None:
    """The ``rule-limit`` diagnostic for a query stopped by a limit (None for any other failure)."""
    if isinstance(exc, RowLimitError):
        message = f"the query returned more than {exc.limit:,} rows (the limit is {ROWS_PER_HOME:,} per home)"
    elif isinstance(exc, (duckdb.OutOfMemoryException, MemoryError)):
        message = f"the query needed more memory than its limit (set {MEMORY_LIMIT_ENV}, e.g. 4GB, to allow more)"
    elif isinstance(exc, duckdb.InterruptException):
        seconds = time_limit_s if time_limit_s is not None else database.DEFAULT_TIME_LIMIT_S
        message = f"the query ran longer than its limit of {seconds:g} s and was stopped"
    else:
        return None
    return Diagnostic(lr.file, lr.query_line, 1, "rule-limit", f"rule {lr.rule.id}: {message}")


def column_problems(lr: LoadedRule, columns: list[str], types: list[str]) -> list[Diagnostic]:
    """Problems with the result's columns and their types (the same check for one model and for a fleet)."""
    missing = [c for c in RESERVED_COLUMNS if c not in columns]
    if missing:
        message = f"rule {lr.rule.id}: the query must return {', '.join(RESERVED_COLUMNS)}; missing {', '.join(missing)}"
        return [Diagnostic(lr.file, lr.query_line, 1, "rule-columns", message)]
    problems = []
    for name, kind in zip(columns, types, strict=True):
        if name == VERIFIED_COLUMN:
            if lr.rule.unverified is None:
                problems.append(output_problem(lr, "column 'verified' needs an 'unverified:' block (question, facts, when) in the rule"))
            elif kind not in ("BOOLEAN", *_TEXT[1:]):
                problems.append(output_problem(lr, f"column 'verified' must be a boolean, not {kind}"))
        elif name in TEXT_COLUMNS and kind not in _TEXT:
            problems.append(output_problem(lr, f"column '{name}' must be text (varchar), not {kind}; cast it or quote it"))
        elif name in ADJUST_COLUMNS and not (_INTEGER.match(kind) or kind in _TEXT[1:]):
            problems.append(output_problem(lr, f"column '{name}' must be an integer from -2 to 2, not {kind}"))
        elif name not in OPTIONAL_COLUMNS and name not in TEXT_COLUMNS and _UNWRITABLE.search(kind):
            problems.append(output_problem(lr, f"explain column '{name}' has type {kind}, which a report cannot show; cast it to text"))
    return problems


def row_problem(lr: LoadedRule, row: Mapping[str, Any], homes: Collection[str]) -> Diagnostic | None:
    """The first problem with the values of one row (None when it keeps the contract)."""
    for name in RESERVED_COLUMNS:
        if not isinstance(row.get(name), str) or not row[name]:
            return output_problem(lr, f"a row has no {name} (null or empty); every finding names its home, asset and reason")
    if row["home_id"] not in homes:
        return output_problem(lr, f"a row names home_id '{_short(row['home_id'])}', which is not a home of the model")
    if row["asset_kind"] not in ASSET_KINDS:
        return output_problem(lr, f"asset_kind '{_short(row['asset_kind'])}' is not one of {', '.join(ASSET_KINDS)}")
    return None


def sql_row_problems(table: str, homes_table: str) -> str:
    """A query over ``table`` (``rule_id`` and the reserved columns as text) giving the first broken row's rule and problem."""
    kinds = ", ".join(f"'{k}'" for k in ASSET_KINDS)
    missing = "every finding names its home, asset and reason"
    checks = [
        *(f"when r.{c} is null or r.{c} = '' then 'a row has no {c} (null or empty); {missing}'" for c in RESERVED_COLUMNS),
        f"when r.home_id not in (select home_id from {homes_table}) "
        "then 'a row names home_id ''' || left(r.home_id, 80) || ''', which is not a home of the model'",
        f"when r.asset_kind not in ({kinds}) then 'asset_kind ''' || left(r.asset_kind, 80) || ''' is not one of {', '.join(ASSET_KINDS)}'",
    ]
    return (
        f"select rule_id, problem from (select r.rule_id, case {' '.join(checks)} end as problem from {table} as r) "
        "where problem is not null order by rule_id limit 1"
    )


def explain_values(row: Mapping[str, Any], columns: Iterable[str]) -> dict[str, Any]:
    """The explain columns of a row as JSON values; a value JSON cannot hold raises ValueError naming the column."""
    out = {}
    for name in columns:
        try:
            out[name] = _jsonable(row[name])
        except ValueError as exc:
            raise ValueError(f"explain column '{name}' holds {exc}, which a report cannot show; cast it to text") from None
    return out


def adjustment(value: Any, name: str) -> int:
    """A likelihood or impact adjustment: an integer clamped to −2…+2 (null is 0)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"column '{name}' must be an integer from -2 to 2, not {_short(repr(value))}")
    return max(-2, min(2, value))


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    raise ValueError(f"a {type(value).__name__} value")


def _short(text: Any) -> str:
    flat = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return flat if len(flat) <= 80 else flat[:77] + "..."
