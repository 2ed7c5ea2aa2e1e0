"""Check the homes of a batch of normalised tables in bulk, and set aside the ones that are not valid models.

A model file is checked by pydantic and :mod:`domosec.model.references`; a fleet in Parquet is
already tables, and checking a million homes one object at a time would take hours. So the same
rules are applied as SQL over the whole batch: the allowed values, required fields, ID patterns
and ranges are read from the model classes (so they cannot drift), then come the references
between elements, unique IDs, and the derived columns (which must match the catalogue). A home
with any problem is rejected with every reason found; the others go on to the rules.

Every query is planned again for each batch (a new connection): so the checks on one table share one scan,
and the SQL is kept lean (see the notes on each builder). The checks across rows and tables (keys, IDs,
references) are built in :mod:`domosec.fleet.structure_checks`.
"""

from __future__ import annotations

import types
import typing
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from domosec.catalog.load import Catalogue
from domosec.fleet.layout import FLEET_TABLES
from domosec.fleet.structure_checks import sql_literal, structure_queries
from domosec.model import elements as el
from domosec.model import parts
from domosec.model.choices import CatalogueChoice
from domosec.model.normalise import WIRED_KINDS
from domosec.model.tables import REFERENCE_FIELDS, _nested_model

ELEMENT_TABLES: dict[str, tuple[type[BaseModel], str]] = {
    "homes": (el.System, "'system'"),
    "stakeholders": (parts.Stakeholder, "'system.stakeholders[' || stakeholder_index || ']'"),
    "users": (el.User, "'users[' || user_id || ']'"),
    "zones": (el.Zone, "'zones[' || zone_id || ']'"),
    "networks": (el.Network, "'networks[' || network_id || ']'"),
    "gateways": (el.Gateway, "'gateways[' || gateway_id || ']'"),
    "devices": (el.Device, "'devices[' || device_id || ']'"),
    "credentials": (parts.Credential, "asset_kind || 's[' || asset_id || '].credentials[' || credential_index || ']'"),
    "endpoints": (parts.Endpoint, "asset_kind || 's[' || asset_id || '].endpoints[' || endpoint_index || ']'"),
    "port_forwards": (parts.PortForward, "'gateways[' || gateway_id || '].port_forwards[' || forward_index || ']'"),
    "gateway_bridges": (parts.Bridge, "'gateways[' || gateway_id || '].bridges[' || bridge_index || ']'"),
    "services": (el.Service, "'services[' || service_id || ']'"),
    "service_decisions": (parts.AutomatedDecision, "'services[' || service_id || '].automated_decisions[' || decision_index || ']'"),
    "flows": (el.Flow, "'flows[' || flow_id || ']'"),
    "automations": (el.Automation, "'automations[' || automation_index || ']'"),
    "controls": (el.ControlStatus, "'controls[' || control_id || ']'"),
}
# The parts that are not elements: the label of the element they belong to, and their path in it.
PART_LABELS: dict[str, tuple[str, str]] = {
    "device_sensors": ("'devices[' || device_id || ']'", ".sensors"),
    "device_actuators": ("'devices[' || device_id || ']'", ".actuators"),
    "equipment_data": ("asset_kind || 's[' || asset_id || ']'", ".data"),
    "flow_data": ("'flows[' || flow_id || ']'", ".data"),
    "service_links": ("'services[' || service_id || ']'", ".linked_accounts"),
    "service_sharing": ("'services[' || service_id || ']'", ".sharing_purposes"),
    "accepted_risks": ("'accepted_risks[' || risk_index || ']'", ""),
}
_ID_FIRST, _ID_CHARS, _ID_LENGTH = "A-Za-z0-9", "A-Za-z0-9_.:@/-", 128
ID_PATTERN = f"^[{_ID_FIRST}][{_ID_CHARS}]{{0,{_ID_LENGTH - 1}}}$"


@dataclass(frozen=True)
class Reject:
    """A home set aside, with every reason found."""

    home_id: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Field:
    column: str
    nullable: bool
    allowed: tuple[Any, ...] | None
    what: str
    pattern: str | None
    ge: int | None
    le: int | None


def _strip(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """The annotation without ``| None`` and ``Annotated``, whether None is allowed, and the metadata found."""
    nullable = False
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = typing.get_args(annotation)
            nullable = nullable or type(None) in args
            inner = [a for a in args if a is not type(None)]
            annotation = inner[0] if len(inner) == 1 else annotation
            if len(inner) != 1:
                return annotation, nullable, meta
        elif origin is typing.Annotated:
            args = typing.get_args(annotation)
            annotation, meta = args[0], [*meta, *args[1:]]
        else:
            return annotation, nullable, meta


def field_checks(cls: type[BaseModel], prefix: str = "", id_column: str = "") -> Iterator[_Field]:
    """What each column of ``cls`` must hold, read from the class the way ``flat_columns`` reads it."""
    for name, info in cls.model_fields.items():
        if name == "id":
            if id_column:
                yield _Field(id_column, False, None, "", ID_PATTERN, None, None)
            continue
        if name == "provenance":
            yield _Field(f"{prefix}provenance", True, typing.get_args(parts.Source), "provenance source", None, None, None)
            continue
        if typing.get_origin(info.annotation) is list:
            continue
        nested = _nested_model(info.annotation)
        if nested is not None:
            yield from field_checks(nested, f"{prefix}{name}_")
            continue
        column = f"{prefix}{name}_id" if name in REFERENCE_FIELDS and not prefix else f"{prefix}{name}"
        yield _describe(column, info)


def _describe(column: str, info: FieldInfo) -> _Field:
    base, nullable, meta = _strip(info.annotation)
    meta = [*meta, *info.metadata]
    allowed: tuple[Any, ...] | None = None
    what = ""
    pattern = None
    if typing.get_origin(base) is Literal:
        allowed = typing.get_args(base)
    for m in meta:
        if isinstance(m, CatalogueChoice):
            allowed, what = tuple(m.ids()), m.what
        elif getattr(m, "pattern", None):
            pattern = m.pattern
    ge = next((int(str(m.ge)) for m in meta if isinstance(m, annotated_types.Ge)), None)
    le = next((int(str(m.le)) for m in meta if isinstance(m, annotated_types.Le)), None)
    return _Field(column, nullable, allowed, what, pattern, ge, le)


def _field_conditions(f: _Field, path: str = "") -> Iterator[tuple[str, str]]:
    """``(condition, reason)`` pairs, as SQL over one row, for what ``f`` requires.

    A reason starts with ``_label``, the row's place in the model (see :func:`_row_checks`), then ``path``.
    Each operator costs time to plan, in every batch: a reason is ``_label || concat(...)`` (the label may
    be null, the value is not), and a long list of allowed values is one string split once when planned.
    """
    col = f'"{f.column}"'
    where = f"{path}.{f.column}: "

    def reason(text: str, shown: bool = True) -> str:
        return (
            f"_label || concat({sql_literal(where + chr(39))}, {col}, {sql_literal(chr(39) + text)})"
            if shown
            else f"_label || {sql_literal(where + text)}"
        )

    if not f.nullable:
        yield f"{col} is null", reason("is required", shown=False)
    if f.allowed is not None:
        expected = f"not a known {f.what}" if f.what else f"not one of {', '.join(str(v) for v in f.allowed)}"
        yield f"{col} is not null and {_not_allowed(col, f.allowed)}", reason(" is " + expected)
    if f.pattern:
        yield _not_matching(col, f.pattern), reason(" is not a valid ID (letters, digits and _ . : @ / -)")
    if f.ge is not None:
        yield f"{col} < {f.ge}", reason(f" is below {f.ge}")
    if f.le is not None:
        yield f"{col} > {f.le}", reason(f" is above {f.le}")


def _not_allowed(col: str, allowed: tuple[Any, ...]) -> str:
    """SQL true when the value ``col`` (not null) is not one of ``allowed``.

    DuckDB turns ``not in`` with more than a few values (and ``list_contains`` of a constant list) into a
    join per column, dearer to plan and to run than looking the value up in the list, which is one string
    split when planned. The lookup is null for a null value: the caller's condition rules that out first.
    """
    if len(allowed) > 3 and all(isinstance(v, str) and "," not in v for v in allowed):
        return f"list_position(string_split({sql_literal(','.join(allowed))}, ','), {col}) is null"
    return f"{col} not in ({', '.join(sql_literal(v) for v in allowed)})"


def _not_matching(col: str, pattern: str) -> str:
    """SQL true when the value ``col`` does not fully match ``pattern`` (null for a null value).

    The ID pattern bounds its length with ``{0,127}``, which makes the regular expression ten times dearer to
    compile (each time a query names it); its characters are all ASCII, so the same test is a pattern without
    the bound and at most 128 bytes.
    """
    if pattern == ID_PATTERN:
        return f"(strlen({col}) > {_ID_LENGTH} or not regexp_full_match({col}, '[{_ID_FIRST}][{_ID_CHARS}]*'))"
    return f"not regexp_full_match({col}, {sql_literal(pattern)})"


def _row_checks(source: str, label: str, conditions: list[tuple[str, str]]) -> str:
    """One scan of ``source`` for many row conditions: only failing rows get a label and are expanded into reasons.

    A reason is null when the row's label is (its ID is missing): such a reason is dropped, as the missing ID
    has a reason of its own. The filter needs no ``coalesce``: a condition that is null keeps no row, and
    one that is true keeps it whatever the others are.
    """
    reasons = ", ".join(f"case when {c} then {m} end" for c, m in conditions)
    any_fails = " or ".join(f"({c})" for c, _ in conditions)
    return (
        f"select home_id, reason from (select home_id, unnest(list_value({reasons})) as reason "
        f"from (select *, {label} as _label from {source} where {any_fails})) where reason is not null"
    )


def _part_conditions(cat: Catalogue) -> Iterator[tuple[str, tuple[str, str]]]:
    """``(table, (condition, reason))`` for the values of the parts that are not elements."""
    checks = [
        ("device_sensors", "sensor", "", typing.get_args(el.Sensor)),
        ("device_actuators", "actuator", "", typing.get_args(el.Actuator)),
        ("equipment_data", "category", "", tuple(cat.data_categories)),
        ("flow_data", "category", "", tuple(cat.data_categories)),
        ("service_links", "scope", "", ("full", "limited", "read_only")),
        ("service_sharing", "purpose", "", _sharing_purposes()),
        *(("accepted_risks", c, f".{c}", None) for c in ("rule", "reason", "approver", "expires", "asset", "ticket")),
    ]
    for table, column, path, allowed in checks:
        field = _Field(column, column == "scope", allowed, "", None, None, None)
        for condition in _field_conditions(field, PART_LABELS[table][1] + path):
            yield table, condition


def _sharing_purposes() -> tuple[str, ...]:
    annotation = el.Service.model_fields["sharing_purposes"].annotation
    return typing.get_args(typing.get_args(annotation)[0])


def _catalogue_lookups(cat: Catalogue) -> dict[str, str]:
    """For the tables whose derived columns come from the catalogue: the table with the catalogue's values joined.

    A join on a small list of values costs a fifth of a ``case`` with one branch per device type or data
    category, and a ``case`` that long, twice per derived column, makes the query slow to plan.
    The values come out as ``_catalogue_<name>`` columns (null for a type the catalogue does not know).
    """
    types_ = cat.device_types
    devices = {k: (v.tier, v.safety_relevant, v.child_directed) for k, v in types_.items()}
    sensitivity = {k: (v.sensitivity,) for k, v in cat.data_categories.items()}
    out: dict[str, str] = {}
    for table, key, names, rows in (
        ("devices", "type", ("tier", "safety_relevant", "child_directed"), devices),
        ("equipment_data", "category", ("sensitivity",), sensitivity),
        ("flow_data", "category", ("sensitivity",), sensitivity),
    ):
        values = ", ".join("(" + ", ".join(sql_literal(v) for v in (k, *vals)) + ")" for k, vals in rows.items())
        columns = ", ".join(f"_lookup.{n} as _catalogue_{n}" for n in names)
        out[table] = (
            f"(select {table}.*, {columns} from {table} left join (values {values}) as _lookup(_key, {', '.join(names)}) "
            f"on _lookup._key = {table}.{key})"
        )
    return out


def _derived_conditions(cat: Catalogue) -> Iterator[tuple[str, tuple[str, str]]]:
    """``(table, (condition, reason))``: a derived column must say what the catalogue and the model say."""
    vulnerable = ", ".join(sql_literal(r) for r in cat.vulnerable_roles())
    private = ", ".join(sql_literal(k) for k in sorted(el.PRIVATE_ZONE_KINDS))
    wired = ", ".join(sql_literal(k) for k in sorted(WIRED_KINDS))
    expected = [
        ("devices", "tier", "_catalogue_tier"),
        ("devices", "is_safety_relevant", "coalesce(safety_relevant, _catalogue_safety_relevant)"),
        ("devices", "is_child_directed", "coalesce(child_directed, _catalogue_child_directed)"),
        # needs and other roles are child tables: a row alone can only show when is_vulnerable must be true or is stated
        (
            "users",
            "is_vulnerable",
            f"coalesce(vulnerable, case when role in ({vulnerable}) then true else is_vulnerable end)"
            if vulnerable
            else "coalesce(vulnerable, is_vulnerable)",
        ),
        ("zones", "is_private", f"coalesce(privacy, case when kind in ({private}) then 'high' else 'low' end) = 'high'"),
        ("networks", "is_wireless", f"kind not in ({wired})"),
        ("equipment_data", "sensitivity", "_catalogue_sensitivity"),
        ("flow_data", "sensitivity", "_catalogue_sensitivity"),
        ("controls", "evidence_count", "greatest(evidence_count, 0)"),
    ]
    for table, column, expr in expected:
        yield (
            table,
            (
                f"{column} is distinct from ({expr})",
                f"concat('{table}: the derived column {column} is ', coalesce(cast({column} as varchar), 'null'), "
                f"', the catalogue gives ', coalesce(cast({expr} as varchar), 'null'))",
            ),
        )


def check_queries(cat: Catalogue) -> list[str]:
    """Queries that list ``(home_id, reason)`` for every problem of every home in the batch."""
    conditions: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for table, (cls, label) in ELEMENT_TABLES.items():
        spec = FLEET_TABLES[table]
        key_names = {c.name for c in spec.keys}
        for f in field_checks(cls):
            if f.column not in key_names:
                conditions[table] += _field_conditions(f)
        id_column = next((c.name for c in spec.keys if c.name.endswith("_id")), None)
        if id_column:
            # When the label names the ID, a missing ID has no label and its "is required" reason would be
            # null (dropped): the key's own check reports it.
            required = id_column not in label
            conditions[table] += _field_conditions(_Field(id_column, not required, None, "", ID_PATTERN, None, None))
        if table == "homes":
            conditions[table] += _field_conditions(_Field("home_id", False, None, "", ID_PATTERN, None, None))
    for table, condition in [*_part_conditions(cat), *_derived_conditions(cat)]:
        conditions[table].append(condition)
    for name, spec in FLEET_TABLES.items():
        conditions[name] += [(f"{k.name} is null", f"'{name}: {k.name} is required'") for k in spec.keys]
    labels = {**{t: label for t, (_, label) in ELEMENT_TABLES.items()}, **{t: label for t, (label, _) in PART_LABELS.items()}}
    sources = _catalogue_lookups(cat)
    queries = [
        _row_checks(sources.get(table, table), labels.get(table, "null"), conditions[table]) for table in FLEET_TABLES if conditions[table]
    ]
    return queries + structure_queries()


def load_arrow(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> None:
    """Copy the fleet tables into the database (missing ones empty)."""
    for name, spec in FLEET_TABLES.items():
        con.register(f"_arrow_{name}", tables.get(name, spec.schema().empty_table()))
        con.execute(f"create table {name} as select * from _arrow_{name}")
        con.unregister(f"_arrow_{name}")


def find_problems(
    con: duckdb.DuckDBPyConnection, cat: Catalogue, queries: list[str] | None = None, *, extra: dict[str, str] | None = None
) -> tuple[list[Reject], int]:
    """The rejected homes of the tables in ``con``, and how many homes came in (every home_id seen).

    ``extra`` sets aside more homes, with a reason found elsewhere (a home already in an earlier part).
    """
    rows = [row for query in (queries or check_queries(cat)) for row in con.execute(query).fetchall()]
    # A home came in if it has a row in homes or, if not, a row elsewhere: such a row is a problem, with its home.
    listed = {home for (home,) in con.execute("select distinct home_id from homes").fetchall()}
    homes_in = len(listed | {home for home, _ in rows})
    problems = sorted(rows, key=lambda r: (r[0] or "", r[1] or ""))
    reasons: dict[str | None, list[str]] = defaultdict(list)
    for home_id, reason in [*sorted((extra or {}).items()), *problems]:
        text = str(reason) if reason is not None else "a row breaks a rule of the layout"
        if text not in reasons[home_id]:
            reasons[home_id].append(text)
    return [Reject(h, tuple(r)) for h, r in sorted(reasons.items(), key=lambda item: item[0] or "")], homes_in


def drop_rejected(con: duckdb.DuckDBPyConnection, rejects: list[Reject]) -> None:
    """Delete every row of the rejected homes (and rows without a home) from the tables in ``con``."""
    if not rejects:
        return
    con.register("_rejected", pa.table({"home_id": pa.array(sorted({r.home_id for r in rejects if r.home_id is not None}), pa.string())}))
    for name in FLEET_TABLES:
        con.execute(f"delete from {name} where home_id is null or home_id in (select home_id from _rejected)")
    con.unregister("_rejected")


def validate_tables(
    tables: dict[str, pa.Table], cat: Catalogue, queries: list[str] | None = None, *, extra: dict[str, str] | None = None
) -> tuple[dict[str, pa.Table], list[Reject], int]:
    """The tables of the valid homes, the rejected homes, and how many homes came in."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("set threads = 1")
        con.execute("set enable_progress_bar = false")
        load_arrow(con, tables)
        rejects, homes_in = find_problems(con, cat, queries, extra=extra)
    finally:
        con.close()
    if not rejects:
        return tables, [], homes_in
    bad = pa.array(sorted(r.home_id for r in rejects if r.home_id is not None), type=pa.string())
    kept = {
        name: t.filter(pc.and_(pc.is_valid(t.column("home_id")), pc.invert(pc.is_in(t.column("home_id"), value_set=bad))))
        for name, t in tables.items()
    }
    return kept, rejects, homes_in
