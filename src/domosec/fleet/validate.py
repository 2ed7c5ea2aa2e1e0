"""Check the homes of a batch of normalised tables in bulk, and set aside the ones that are not valid models.

A model file is checked by pydantic and :mod:`domosec.model.references`; a fleet in Parquet is
already tables, and checking a million homes one object at a time would take hours. So the same
rules are applied as SQL over the whole batch: the allowed values, required fields, ID patterns
and ranges are read from the model classes (so they cannot drift), then come the references
between elements, unique IDs, and the derived columns (which must match the catalogue). A home
with any problem is rejected with every reason found; the others go on to the rules.

Every query is planned again for each batch (a new connection), and what costs is hashing strings:
so the checks on one table share one scan, the references to one kind of element share one hash table
of those elements, and the SQL is kept lean (see the notes on each builder).
"""

from __future__ import annotations

import types
import typing
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import KW_ONLY, dataclass
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


def _lit(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _field_conditions(f: _Field, path: str = "") -> Iterator[tuple[str, str]]:
    """``(condition, reason)`` pairs, as SQL over one row, for what ``f`` requires.

    A reason starts with ``_label``, the row's place in the model (see :func:`_row_checks`), then ``path``.
    Each operator costs time to plan, in every batch: a reason is ``_label || concat(...)`` (the label may
    be null, the value is not), and a long list of allowed values is one string split once when planned.
    """
    col = f'"{f.column}"'
    where = f"{path}.{f.column}: "

    def reason(text: str, shown: bool = True) -> str:
        return f"_label || concat({_lit(where + chr(39))}, {col}, {_lit(chr(39) + text)})" if shown else f"_label || {_lit(where + text)}"

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
        return f"list_position(string_split({_lit(','.join(allowed))}, ','), {col}) is null"
    return f"{col} not in ({', '.join(_lit(v) for v in allowed)})"


def _not_matching(col: str, pattern: str) -> str:
    """SQL true when the value ``col`` does not fully match ``pattern`` (null for a null value).

    The ID pattern bounds its length with ``{0,127}``, which makes the regular expression ten times dearer to
    compile (each time a query names it); its characters are all ASCII, so the same test is a pattern without
    the bound and at most 128 bytes.
    """
    if pattern == ID_PATTERN:
        return f"(strlen({col}) > {_ID_LENGTH} or not regexp_full_match({col}, '[{_ID_FIRST}][{_ID_CHARS}]*'))"
    return f"not regexp_full_match({col}, {_lit(pattern)})"


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


# The elements with an ID, and its column: an ID names one element of its home, whatever its kind.
ID_COLUMNS: dict[str, str] = {
    "users": "user_id",
    "zones": "zone_id",
    "networks": "network_id",
    "gateways": "gateway_id",
    "devices": "device_id",
    "services": "service_id",
    "flows": "flow_id",
}
# The reason for the rows of a home that has no row in homes, after the table's name.
STRAY = ": rows for a home that has no row in homes"
# The parts of an asset, and the kinds of asset that can have them.
ASSET_TABLES: dict[str, tuple[str, ...]] = {
    "equipment_networks": ("gateway", "device"),
    "equipment_data": ("gateway", "device"),
    "credentials": ("gateway", "device"),
    "endpoints": ("gateway", "device", "service"),
}


@dataclass(frozen=True)
class _Reference:
    """Rows of ``table`` that name an element by ``column``, and the reason when it names none.

    ``reason`` is SQL over ``_id`` (the name), ``_a`` and ``_b`` (two more columns of the row, for the reason).
    """

    table: str
    column: str
    reason: str
    _: KW_ONLY
    where: str = "true"
    a: str = "null"
    b: str = "null"
    # Every row of ``table`` names its parent this way (an asset's kind picks the table of its parent).
    parent: bool = False


def _structure_sql(cat: Catalogue) -> list[str]:
    """Duplicate keys, parents and references, rows of homes missing from homes, and derived columns across tables."""
    duplicates = []
    for name, spec in FLEET_TABLES.items():
        if name in ID_COLUMNS:
            continue  # see _ids_sql
        keys = ["home_id", *[c.name for c in spec.keys]]
        key_text = " || ', ' || ".join(f"coalesce(cast({k} as varchar), 'null')" for k in keys[1:]) or "'home'"
        duplicates.append(
            f"select home_id, '{name}: the row ' || {key_text} || ' appears ' || count(*) || ' times' "
            f"from {name} group by {', '.join(keys)} having count(*) > 1"
        )
    out = [" union all ".join(duplicates)]
    out.append(_ids_sql())
    out += _reference_sql()
    out.append(_stray_sql())
    out += _flows_sql()
    out.append(_port_forwards_sql())
    return out


def _ids_sql() -> str:
    """Duplicate elements, IDs used twice in a home, and accepted risks for an asset that is not there.

    One aggregate over every element's ID finds all three: an accepted risk's asset joins the rows with
    no section, so a group without any element names no asset. Only the (rare) groups that are not a
    single element are looked at again, to count their rows by section.
    """
    ids = " union all ".join(f"select home_id, {col} as id, '{table}' as section from {table}" for table, col in ID_COLUMNS.items())
    return (
        f"with ids as not materialized ({ids} union all select home_id, asset, null from accepted_risks where asset <> '*' and asset <> home_id), "
        "odd as materialized (select home_id, id, count(section) as n from ids group by home_id, id having count(section) <> 1), "
        "dup as materialized (select i.home_id, i.id, i.section from ids as i semi join (select * from odd where n > 1) as d "
        "on d.home_id is not distinct from i.home_id and d.id is not distinct from i.id where i.section is not null) "
        "select home_id, section || ': the row ' || coalesce(id, 'null') || ' appears ' || count(*) || ' times' "
        "from dup group by home_id, id, section having count(*) > 1 "
        "union all select home_id, 'the ID ''' || id || ''' is used by ' || string_agg(section, ' and ' order by section) "
        "|| '; IDs must be unique across the model' from dup where home_id is not null and id is not null group by home_id, id "
        "union all select r.home_id, 'accepted_risks[' || r.risk_index || '].asset: asset ''' || r.asset || ''' is not defined' "
        "from accepted_risks as r semi join (select * from odd where n = 0) as u on u.home_id = r.home_id and u.id = r.asset "
        "where r.asset <> '*' and r.asset <> r.home_id"
    )


def _references() -> dict[str, list[_Reference]]:
    """Every reference to an element, by the table of the element it must name."""

    def undefined(label: str, what: str) -> str:
        return f"{label} || ': {what} ''' || _id || ''' is not defined'"

    def missing(child: str, parent: str) -> str:
        return f"'{child}: {parent}[' || _id || '] does not exist'"

    refs: dict[str, list[_Reference]] = {
        "zones": [
            _Reference(
                "gateways", "zone_id", undefined("'gateways[' || _a || '].zone'", "zone"), where="zone_id is not null", a="gateway_id"
            ),
            _Reference("devices", "zone_id", undefined("'devices[' || _a || '].zone'", "zone"), where="zone_id is not null", a="device_id"),
        ],
        "gateways": [
            _Reference(
                "devices",
                "gateway_id",
                undefined("'devices[' || _a || '].gateway'", "gateway"),
                where="gateway_id is not null",
                a="device_id",
            ),
            _Reference(
                "networks",
                "gateway_id",
                undefined("'networks[' || _a || '].gateway'", "gateway"),
                where="gateway_id is not null",
                a="network_id",
            ),
            _Reference("port_forwards", "gateway_id", missing("port_forwards", "gateways"), parent=True),
        ],
        "networks": [
            _Reference(
                "equipment_networks",
                "network_id",
                undefined("_a || 's[' || _b || '].networks'", "network"),
                where="network_id is not null",
                a="asset_kind",
                b="asset_id",
            ),
            _Reference(
                "flow_networks",
                "network_id",
                undefined("'flows[' || _a || '].via'", "network"),
                where="network_id is not null",
                a="flow_id",
            ),
        ],
        "services": [
            _Reference(
                "user_services",
                "service_id",
                undefined("'users[' || _a || '].services'", "service"),
                where="service_id is not null",
                a="user_id",
            ),
            _Reference(
                "service_links",
                "linked_service_id",
                undefined("'services[' || _a || '].linked_accounts'", "service"),
                where="linked_service_id is not null",
                a="service_id",
            ),
            *(
                _Reference(child, "service_id", missing(child, "services"), parent=True)
                for child in ("service_sharing", "service_decisions", "service_links")
            ),
        ],
        "users": [_Reference("user_services", "user_id", missing("user_services", "users"), parent=True)],
        "devices": [
            _Reference(child, "device_id", missing(child, "devices"), parent=True) for child in ("device_sensors", "device_actuators")
        ],
        "flows": [_Reference(child, "flow_id", missing(child, "flows"), parent=True) for child in ("flow_networks", "flow_data")],
    }
    for child, kinds in ASSET_TABLES.items():
        for kind in kinds:
            reason = f"'{child}: {kind} ''' || _id || ''' does not exist'"
            refs[f"{kind}s"].append(_Reference(child, "asset_id", reason, where=f"asset_kind = '{kind}'", parent=True))
    return refs


def _reference_sql() -> list[str]:
    """One anti join per kind of element named, for all the references to it: each table of elements is hashed once.

    A row of a home that has no row in homes names no parent, or has a parent of such a home (see
    :func:`_stray_sql`): so among the rows that name no parent, those of a home missing from homes are the
    strays of their table.
    """
    out = []
    for target, refs in _references().items():
        rows = " union all ".join(
            f"select home_id, {r.column} as _id, {i} as _ref, {r.a} as _a, {r.b} as _b from {r.table} where {r.where}"
            for i, r in enumerate(refs)
        )
        reasons = " ".join(f"when {i} then {r.reason}" for i, r in enumerate(refs))
        parents = {i: r.table for i, r in enumerate(refs) if r.parent}
        strays = " ".join(f"when {i} then {_lit(table + STRAY)}" for i, table in parents.items())
        query = (
            f"with r as materialized (select r.home_id, r._ref, case r._ref {reasons} end as reason from ({rows}) as r "
            f"anti join {target} as t on t.home_id = r.home_id and t.{ID_COLUMNS[target]} = r._id) "
            "select home_id, reason from r"
        )
        if parents:
            query += (
                f" union all select home_id, case _ref {strays} end from r anti join homes using (home_id) "
                f"where _ref in ({', '.join(map(str, parents))})"
            )
        out.append(query)
    # An asset of a kind that has no such parts names nothing.
    wrong_kind = " union all ".join(
        f"select home_id, '{child}' as child, '{child}: ' || coalesce(asset_kind, 'null') || ' ''' || asset_id || ''' does not exist' "
        f"as reason from {child} where asset_kind is null or asset_kind not in ({', '.join(_lit(k) for k in kinds)})"
        for child, kinds in ASSET_TABLES.items()
    )
    out.append(
        f"with r as materialized ({wrong_kind}) select home_id, reason from r "
        f"union all select home_id, child || {_lit(STRAY)} from r anti join homes using (home_id)"
    )
    return out


def _stray_sql() -> str:
    """Rows of a home that has no row in homes.

    Each table's homes are a few thousand, so the tables whose rows have no parent are reduced to their homes
    first. A row with a parent shares its parent's home: it is a stray if its parent is one (found here,
    where the rows of those homes are looked up, a lookup skipped when there are none) or if it names no
    parent (found with the references, see :func:`_reference_sql`).
    """
    children = {r.table for refs in _references().values() for r in refs if r.parent}
    roots = [name for name in FLEET_TABLES if name != "homes" and name not in children]
    homes = " union all ".join(f"select '{name}' as name, home_id from (select distinct home_id from {name})" for name in roots)
    rows = " union all ".join(
        f"select distinct home_id, {_lit(child + STRAY)} from {child} where home_id in (select home_id from s)"
        for child in FLEET_TABLES
        if child in children
    )
    return (
        f"with s as materialized (select name, home_id from ({homes}) anti join homes using (home_id)) "
        f"select home_id, name || {_lit(STRAY)} from s union all {rows}"
    )


def _flows_sql() -> list[str]:
    """What the two ends of each flow name, and the flows' derived columns.

    Both ends go through one join with the elements a flow can name, which tells at once whether the end
    names one and of what kind.
    """
    leaves = ", ".join(_lit(k) for k in sorted(LEAVES_HOME_KINDS))
    named = " union all ".join(
        f"select home_id, {ID_COLUMNS[t]} as id, '{t[:-1]}' as kind from {t}" for t in ("users", "gateways", "devices", "services")
    )
    ends = (
        "select home_id, flow_id, 0 as _end, source_id as _id, source_kind as _kind from flows "
        "union all select home_id, flow_id, 1, target_id, target_kind from flows"
    )
    return [
        f"with e as materialized (select e.home_id, e.flow_id, e._end, e._id, e._kind, k.kind as _found, k.home_id is null as _missing "
        f"from ({ends}) as e left join ({named}) as k on k.home_id = e.home_id and k.id = e._id "
        "where (e._id is not null and k.home_id is null) or e._kind is distinct from k.kind) "
        "select home_id, 'flows[' || flow_id || case _end when 0 then '].from' else '].to' end "
        "|| ': user, gateway, device or service ''' || _id || ''' is not defined' from e where _id is not null and _missing "
        "union all select home_id, 'flows: the derived column ' || case _end when 0 then 'source' else 'target' end || '_kind of ' "
        "|| flow_id || ' does not match the element it names' from e where _kind is distinct from _found",
        "select home_id, 'flows[' || flow_id || ']: goes from ''' || source_id || ''' to itself' from flows where source_id = target_id",
        # A flow with a service at one end leaves the home whatever networks it goes through; only the others
        # need a look at their networks.
        "select home_id, 'flows: the derived column leaves_home of ' || flow_id || ' is wrong' from flows "
        "where coalesce(source_kind = 'service' or target_kind = 'service', false) and leaves_home is distinct from true "
        "union all select f.home_id, 'flows: the derived column leaves_home of ' || f.flow_id || ' is wrong' from flows as f "
        "where not coalesce(f.source_kind = 'service' or f.target_kind = 'service', false) "
        "and f.leaves_home is distinct from (f.source_kind = 'service' or f.target_kind = 'service' or exists ("
        "select 1 from flow_networks as fn join networks as n on n.home_id = fn.home_id and n.network_id = fn.network_id "
        f"where fn.home_id = f.home_id and fn.flow_id = f.flow_id and n.kind in ({leaves})))",
    ]


def _port_forwards_sql() -> str:
    """What each port forward's target names: port forwards are few, so the elements are matched against them."""
    found = (
        "select g.home_id, g.gateway_id as id, true as gateway from gateways as g semi join port_forwards as p "
        "on p.home_id = g.home_id and p.target_id = g.gateway_id "
        "union all select d.home_id, d.device_id, false from devices as d semi join port_forwards as p "
        "on p.home_id = d.home_id and p.target_id = d.device_id"
    )
    return (
        "with p as materialized (select p.home_id, p.gateway_id, p.target_id, p.target_kind, f.id is not null as _found, "
        "coalesce(f.gateway, false) as _gateway from port_forwards as p "
        f"left join (select home_id, id, bool_or(gateway) as gateway from ({found}) group by home_id, id) as f "
        "on f.home_id = p.home_id and f.id = p.target_id) "
        "select home_id, 'gateways[' || gateway_id || '].port_forwards: device or gateway ''' || target_id || ''' is not defined' "
        "from p where target_id is not null and not _found "
        "union all select home_id, 'port_forwards: the derived column target_kind is wrong' from p "
        "where target_kind is distinct from (case when _gateway then 'gateway' else 'device' end)"
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
        values = ", ".join("(" + ", ".join(_lit(v) for v in (k, *vals)) + ")" for k, vals in rows.items())
        columns = ", ".join(f"_lookup.{n} as _catalogue_{n}" for n in names)
        out[table] = (
            f"(select {table}.*, {columns} from {table} left join (values {values}) as _lookup(_key, {', '.join(names)}) "
            f"on _lookup._key = {table}.{key})"
        )
    return out


def _derived_conditions(cat: Catalogue) -> Iterator[tuple[str, tuple[str, str]]]:
    """``(table, (condition, reason))``: a derived column must say what the catalogue and the model say."""
    vulnerable = ", ".join(_lit(r) for r in cat.vulnerable_roles())
    private = ", ".join(_lit(k) for k in sorted(el.PRIVATE_ZONE_KINDS))
    wired = ", ".join(_lit(k) for k in sorted(WIRED_KINDS))
    expected = [
        ("devices", "tier", "_catalogue_tier"),
        ("devices", "is_safety_relevant", "coalesce(safety_relevant, _catalogue_safety_relevant)"),
        ("devices", "is_child_directed", "coalesce(child_directed, _catalogue_child_directed)"),
        ("users", "is_vulnerable", f"role in ({vulnerable})" if vulnerable else "false"),
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
    return queries + _structure_sql(cat)


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
