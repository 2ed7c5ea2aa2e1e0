"""Check the homes of a batch of normalised tables in bulk, and set aside the ones that are not valid models.

A model file is checked by pydantic and :mod:`domosec.model.references`; a fleet in Parquet is
already tables, and checking a million homes one object at a time would take hours. So the same
rules are applied as SQL over the whole batch: the allowed values, required fields, ID patterns
and ranges are read from the model classes (so they cannot drift), then come the references
between elements, unique IDs, and the derived columns (which must match the catalogue). A home
with any problem is rejected with every reason found; the others go on to the rules.
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
from domosec.model import elements as el
from domosec.model import parts
from domosec.model.choices import CatalogueChoice
from domosec.model.normalise import LEAVES_HOME_KINDS, WIRED_KINDS
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
    "services": (el.Service, "'services[' || service_id || ']'"),
    "service_decisions": (parts.AutomatedDecision, "'services[' || service_id || '].automated_decisions[' || decision_index || ']'"),
    "flows": (el.Flow, "'flows[' || flow_id || ']'"),
    "controls": (el.ControlStatus, "'controls[' || control_id || ']'"),
}
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$"


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


def _lit(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _field_conditions(label: str, f: _Field) -> Iterator[tuple[str, str]]:
    """``(condition, reason)`` pairs, as SQL over one row, for what ``f`` requires."""
    col = f'"{f.column}"'
    quote = "''''"
    shown = f"coalesce({quote} || cast({col} as varchar) || {quote}, 'null')"
    where = f"{label} || '.{f.column}: '"
    if not f.nullable:
        yield f"{col} is null", f"{where} || 'is required'"
    if f.allowed is not None:
        values = ", ".join(_lit(v) for v in f.allowed)
        expected = f"not a known {f.what}" if f.what else f"not one of {', '.join(str(v) for v in f.allowed)}"
        yield f"{col} is not null and {col} not in ({values})", f"{where} || {shown} || {_lit(' is ' + expected)}"
    if f.pattern:
        yield (
            f"{col} is not null and not regexp_full_match({col}, {_lit(f.pattern)})",
            f"{where} || {shown} || ' is not a valid ID (letters, digits and _ . : @ / -)'",
        )
    if f.ge is not None:
        yield f"{col} < {f.ge}", f"{where} || {shown} || ' is below {f.ge}'"
    if f.le is not None:
        yield f"{col} > {f.le}", f"{where} || {shown} || ' is above {f.le}'"


def _row_checks(table: str, conditions: list[tuple[str, str]]) -> str:
    """One scan of ``table`` for many row conditions: only failing rows are expanded into reasons."""
    reasons = ", ".join(f"case when {c} then {m} end" for c, m in conditions)
    any_fails = " or ".join(f"coalesce({c}, false)" for c, _ in conditions)
    return (
        f"select home_id, reason from (select home_id, unnest(list_value({reasons})) as reason from {table} where {any_fails}) "
        "where reason is not null"
    )


def _structure_sql(cat: Catalogue) -> list[str]:
    """Keys, parents, references and derived columns."""
    out: list[str] = []
    for name, spec in FLEET_TABLES.items():
        keys = ["home_id", *[c.name for c in spec.keys]]
        key_text = " || ', ' || ".join(f"coalesce(cast({k} as varchar), 'null')" for k in keys[1:]) or "'home'"
        out.append(
            f"select home_id, '{name}: the row ' || {key_text} || ' appears ' || count(*) || ' times' "
            f"from {name} group by {', '.join(keys)} having count(*) > 1"
        )
        out += [f"select home_id, '{name}: {k} is required' from {name} where {k} is null" for k in keys[1:]]
        if name != "homes":
            out.append(
                f"select distinct home_id, '{name}: rows for a home that has no row in homes' from {name} anti join homes using (home_id)"
            )
    ids = " union all ".join(
        f"select home_id, {col} as id, '{section}' as section from {table}"
        for table, col, section in (
            ("users", "user_id", "users"),
            ("zones", "zone_id", "zones"),
            ("networks", "network_id", "networks"),
            ("gateways", "gateway_id", "gateways"),
            ("devices", "device_id", "devices"),
            ("services", "service_id", "services"),
            ("flows", "flow_id", "flows"),
        )
    )
    out.append(
        f"select d.home_id, 'the ID ''' || d.id || ''' is used by ' || string_agg(a.section, ' and ' order by a.section) "
        "|| '; IDs must be unique across the model' "
        f"from (select home_id, id from ({ids}) group by home_id, id having count(*) > 1) as d "
        f"join ({ids}) as a on a.home_id = d.home_id and a.id = d.id group by d.home_id, d.id"
    )

    def ref(table: str, column: str, label: str, targets: tuple[str, ...], what: str, where: str = "true") -> None:
        known = " union all ".join(
            f"select home_id, {t}_id as id from {t}s" if t != "gateway" else "select home_id, gateway_id as id from gateways"
            for t in targets
        )
        out.append(
            f"select r.home_id, {label} || ': {what} ''' || r.{column} || ''' is not defined' from {table} as r "
            f"where r.{column} is not null and {where} and not exists (select 1 from ({known}) as k where k.home_id = r.home_id and k.id = r.{column})"
        )

    ref("gateways", "zone_id", "'gateways[' || r.gateway_id || '].zone'", ("zone",), "zone")
    ref("devices", "zone_id", "'devices[' || r.device_id || '].zone'", ("zone",), "zone")
    ref("devices", "gateway_id", "'devices[' || r.device_id || '].gateway'", ("gateway",), "gateway")
    ref("networks", "gateway_id", "'networks[' || r.network_id || '].gateway'", ("gateway",), "gateway")
    ref("equipment_networks", "network_id", "r.asset_kind || 's[' || r.asset_id || '].networks'", ("network",), "network")
    ref("port_forwards", "target_id", "'gateways[' || r.gateway_id || '].port_forwards'", ("device", "gateway"), "device or gateway")
    ref("user_services", "service_id", "'users[' || r.user_id || '].services'", ("service",), "service")
    ref("service_links", "linked_service_id", "'services[' || r.service_id || '].linked_accounts'", ("service",), "service")
    ref(
        "flows",
        "source_id",
        "'flows[' || r.flow_id || '].from'",
        ("user", "gateway", "device", "service"),
        "user, gateway, device or service",
    )
    ref(
        "flows",
        "target_id",
        "'flows[' || r.flow_id || '].to'",
        ("user", "gateway", "device", "service"),
        "user, gateway, device or service",
    )
    ref("flow_networks", "network_id", "'flows[' || r.flow_id || '].via'", ("network",), "network")
    out.append(
        "select home_id, 'flows[' || flow_id || ']: goes from ''' || source_id || ''' to itself' from flows where source_id = target_id"
    )
    out.append(
        "select r.home_id, 'accepted_risks[' || r.risk_index || '].asset: asset ''' || r.asset || ''' is not defined' from accepted_risks as r "
        "where r.asset <> '*' and r.asset <> r.home_id and not exists (select 1 from ("
        + ids
        + ") as k where k.home_id = r.home_id and k.id = r.asset)"
    )
    for child, parent, key, label in (
        ("user_services", "users", "user_id", "users"),
        ("device_sensors", "devices", "device_id", "devices"),
        ("device_actuators", "devices", "device_id", "devices"),
        ("service_sharing", "services", "service_id", "services"),
        ("service_decisions", "services", "service_id", "services"),
        ("service_links", "services", "service_id", "services"),
        ("flow_networks", "flows", "flow_id", "flows"),
        ("flow_data", "flows", "flow_id", "flows"),
        ("port_forwards", "gateways", "gateway_id", "gateways"),
    ):
        out.append(
            f"select c.home_id, '{child}: {label}[' || c.{key} || '] does not exist' from {child} as c "
            f"anti join {parent} as p on p.home_id = c.home_id and p.{key} = c.{key}"
        )
    for child in ("equipment_networks", "equipment_data", "credentials", "endpoints"):
        kinds = "('gateway', 'device', 'service')" if child == "endpoints" else "('gateway', 'device')"
        out.append(
            f"select c.home_id, '{child}: ' || coalesce(c.asset_kind, 'null') || ' ''' || c.asset_id || ''' does not exist' from {child} as c "
            f"where c.asset_kind not in {kinds} or not exists (select 1 from ("
            "select home_id, 'gateway' as k, gateway_id as id from gateways union all select home_id, 'device', device_id from devices "
            "union all select home_id, 'service', service_id from services"
            ") as p where p.home_id = c.home_id and p.k = c.asset_kind and p.id = c.asset_id)"
        )
    out += _enumerated_children(cat)
    out += _derived(cat)
    return out


def _enumerated_children(cat: Catalogue) -> list[str]:
    checks = [
        ("device_sensors", "sensor", "'devices[' || device_id || '].sensors'", typing.get_args(el.Sensor)),
        ("device_actuators", "actuator", "'devices[' || device_id || '].actuators'", typing.get_args(el.Actuator)),
        ("equipment_data", "category", "asset_kind || 's[' || asset_id || '].data'", tuple(cat.data_categories)),
        ("flow_data", "category", "'flows[' || flow_id || '].data'", tuple(cat.data_categories)),
        ("service_links", "scope", "'services[' || service_id || '].linked_accounts'", ("full", "limited", "read_only")),
        ("service_sharing", "purpose", "'services[' || service_id || '].sharing_purposes'", _sharing_purposes()),
        ("accepted_risks", "rule", "'accepted_risks[' || risk_index || '].rule'", None),
        ("accepted_risks", "reason", "'accepted_risks[' || risk_index || '].reason'", None),
        ("accepted_risks", "approver", "'accepted_risks[' || risk_index || '].approver'", None),
        ("accepted_risks", "expires", "'accepted_risks[' || risk_index || '].expires'", None),
        ("accepted_risks", "asset", "'accepted_risks[' || risk_index || '].asset'", None),
        ("accepted_risks", "ticket", "'accepted_risks[' || risk_index || '].ticket'", None),
    ]
    by_table: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for table, column, label, allowed in checks:
        by_table[table] += _field_conditions(label, _Field(column, column == "scope", allowed, "", None, None, None))
    return [_row_checks(table, conditions) for table, conditions in by_table.items()]


def _sharing_purposes() -> tuple[str, ...]:
    annotation = el.Service.model_fields["sharing_purposes"].annotation
    return typing.get_args(typing.get_args(annotation)[0])


def _derived(cat: Catalogue) -> list[str]:
    """Derived columns must say what the catalogue and the model say."""

    def case(column: str, mapping: dict[str, Any]) -> str:
        return "case " + " ".join(f"when {column} = {_lit(k)} then {_lit(v)}" for k, v in mapping.items()) + " end"

    types_ = cat.device_types
    vulnerable = ", ".join(_lit(r) for r in cat.vulnerable_roles())
    private = ", ".join(_lit(k) for k in sorted(el.PRIVATE_ZONE_KINDS))
    wired = ", ".join(_lit(k) for k in sorted(WIRED_KINDS))
    leaves = ", ".join(_lit(k) for k in sorted(LEAVES_HOME_KINDS))
    sens = {k: v.sensitivity for k, v in cat.data_categories.items()}
    expected = [
        ("devices", "tier", case("type", {k: v.tier for k, v in types_.items()})),
        ("devices", "is_safety_relevant", f"coalesce(safety_relevant, {case('type', {k: v.safety_relevant for k, v in types_.items()})})"),
        ("devices", "is_child_directed", f"coalesce(child_directed, {case('type', {k: v.child_directed for k, v in types_.items()})})"),
        ("users", "is_vulnerable", f"role in ({vulnerable})" if vulnerable else "false"),
        ("zones", "is_private", f"coalesce(privacy, case when kind in ({private}) then 'high' else 'low' end) = 'high'"),
        ("networks", "is_wireless", f"kind not in ({wired})"),
        ("equipment_data", "sensitivity", case("category", sens)),
        ("flow_data", "sensitivity", case("category", sens)),
        ("controls", "evidence_count", "greatest(evidence_count, 0)"),
    ]
    out = [
        f"select home_id, '{table}: the derived column {column} is ' || coalesce(cast({column} as varchar), 'null') "
        f"|| ', the catalogue gives ' || coalesce(cast({expr} as varchar), 'null') from {table} where {column} is distinct from ({expr})"
        for table, column, expr in expected
    ]
    kinds = (
        "select home_id, user_id as id, 'user' as kind from users union all select home_id, gateway_id, 'gateway' from gateways "
        "union all select home_id, device_id, 'device' from devices union all select home_id, service_id, 'service' from services"
    )
    for end in ("source", "target"):
        out.append(
            f"select f.home_id, 'flows: the derived column {end}_kind of ' || f.flow_id || ' does not match the element it names' "
            f"from flows as f left join ({kinds}) as k on k.home_id = f.home_id and k.id = f.{end}_id "
            f"where f.{end}_kind is distinct from k.kind"
        )
    out.append(
        "select f.home_id, 'flows: the derived column leaves_home of ' || f.flow_id || ' is wrong' from flows as f "
        "where f.leaves_home is distinct from (f.source_kind = 'service' or f.target_kind = 'service' or exists ("
        f"select 1 from flow_networks as fn join networks as n on n.home_id = fn.home_id and n.network_id = fn.network_id "
        f"where fn.home_id = f.home_id and fn.flow_id = f.flow_id and n.kind in ({leaves})))"
    )
    out.append(
        "select p.home_id, 'port_forwards: the derived column target_kind is wrong' from port_forwards as p "
        "where p.target_kind is distinct from (case when exists (select 1 from gateways as g where g.home_id = p.home_id "
        "and g.gateway_id = p.target_id) then 'gateway' else 'device' end)"
    )
    return out


def check_queries(cat: Catalogue) -> list[str]:
    """Queries that list ``(home_id, reason)`` for every problem of every home in the batch."""
    queries: list[str] = []
    for table, (cls, label) in ELEMENT_TABLES.items():
        spec = FLEET_TABLES[table]
        key_names = {c.name for c in spec.keys}
        conditions: list[tuple[str, str]] = []
        for f in field_checks(cls):
            if f.column not in key_names:
                conditions += _field_conditions(label, f)
        id_column = next((c.name for c in spec.keys if c.name.endswith("_id")), None)
        if id_column:
            conditions += _field_conditions(label, _Field(id_column, False, None, "", ID_PATTERN, None, None))
        if table == "homes":
            conditions += _field_conditions(label, _Field("home_id", False, None, "", ID_PATTERN, None, None))
        queries.append(_row_checks(table, conditions))
    queries += _structure_sql(cat)
    return [f"select home_id, reason from ({q}) as c(home_id, reason)" for q in queries]


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
    problems = sorted(
        (row for query in (queries or check_queries(cat)) for row in con.execute(query).fetchall()),
        key=lambda r: (r[0] or "", r[1] or ""),
    )
    seen = " union ".join(f"select home_id from {name}" for name in FLEET_TABLES)
    homes_in = int(con.execute(f"select count(*) from ({seen})").fetchall()[0][0])
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
