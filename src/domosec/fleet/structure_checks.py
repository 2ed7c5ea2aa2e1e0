"""The fleet checks that span rows and tables: duplicate keys and IDs, references between elements, rows of homes
missing from ``homes``, what flows and port forwards name.

:mod:`domosec.fleet.validate` checks each row on its own and runs these with them. What costs here is
hashing strings, and every query is planned again for each batch: so each table of elements is hashed once
for all the references to it, one aggregate over every element ID finds duplicates, IDs used twice and
undefined accepted-risk assets, and the SQL is kept lean (see the notes on each builder).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any

from domosec.fleet.layout import FLEET_TABLES
from domosec.model.normalise import LEAVES_HOME_KINDS


def sql_literal(value: Any) -> str:
    """``value`` as an SQL literal: a string quoted (quotes doubled), anything else as written."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


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


def structure_queries() -> list[str]:
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
            _Reference("gateway_bridges", "gateway_id", missing("gateway_bridges", "gateways"), parent=True),
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
                "gateway_bridges",
                "service",
                undefined("'gateways[' || _a || '].bridges'", "service"),
                where="service is not null",
                a="gateway_id",
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
        "users": [
            _Reference(child, "user_id", missing(child, "users"), parent=True)
            for child in ("user_services", "user_devices", "user_roles", "user_needs")
        ],
        "devices": [
            _Reference(
                "user_devices",
                "device_id",
                undefined("'users[' || _a || '].devices'", "device"),
                where="device_id is not null",
                a="user_id",
            ),
            _Reference(
                "automations",
                "target_id",
                undefined("'automations[' || _a || '].target'", "device"),
                where="target_id is not null",
                a="automation_index",
            ),
            *(_Reference(child, "device_id", missing(child, "devices"), parent=True) for child in ("device_sensors", "device_actuators")),
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
        strays = " ".join(f"when {i} then {sql_literal(table + STRAY)}" for i, table in parents.items())
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
        f"as reason from {child} where asset_kind is null or asset_kind not in ({', '.join(sql_literal(k) for k in kinds)})"
        for child, kinds in ASSET_TABLES.items()
    )
    out.append(
        f"with r as materialized ({wrong_kind}) select home_id, reason from r "
        f"union all select home_id, child || {sql_literal(STRAY)} from r anti join homes using (home_id)"
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
        f"select distinct home_id, {sql_literal(child + STRAY)} from {child} where home_id in (select home_id from s)"
        for child in FLEET_TABLES
        if child in children
    )
    return (
        f"with s as materialized (select name, home_id from ({homes}) anti join homes using (home_id)) "
        f"select home_id, name || {sql_literal(STRAY)} from s union all {rows}"
    )


def _flows_sql() -> list[str]:
    """What the two ends of each flow name, and the flows' derived columns.

    Both ends go through one join with the elements a flow can name, which tells at once whether the end
    names one and of what kind.
    """
    leaves = ", ".join(sql_literal(k) for k in sorted(LEAVES_HOME_KINDS))
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
