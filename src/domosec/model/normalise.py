"""Normalise system models into the tables of :mod:`domosec.model.tables`.

One model gives one ``home_id``; many models (a fleet) give the same tables with many homes.
:func:`normalise_rows` gives plain rows (what the single-model path loads into DuckDB, without
pyarrow); :func:`normalise` gives Arrow tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from domosec.catalog.load import Catalogue, load_catalogue
from domosec.model import elements as el
from domosec.model import parts
from domosec.model.tables import SPECS, flat_values

if TYPE_CHECKING:
    import pyarrow as pa

WIRED_KINDS = frozenset({"ethernet", "powerline", "wan"})
LEAVES_HOME_KINDS = frozenset({"wan", "cellular"})

TableRows = dict[str, list[list[Any]]]
"""Each table's rows, every row a list of values in the order of the table's columns."""


class _Rows:
    def __init__(self) -> None:
        self.rows: TableRows = {name: [] for name in SPECS}

    def add(self, table: str, row: list[Any]) -> None:
        self.rows[table].append(row)


def normalise_rows(models: Iterable[tuple[el.SystemModel, str]], catalogue: Catalogue | None = None) -> TableRows:
    """The rows of every table for ``(model, source_file)`` pairs, in the order given."""
    cat = catalogue or load_catalogue()
    rows = _Rows()
    for model, source_file in models:
        _add_model(rows, model, source_file, cat)
    return rows.rows


def normalise(models: Iterable[tuple[el.SystemModel, str]], catalogue: Catalogue | None = None) -> dict[str, pa.Table]:
    """Arrow tables for ``(model, source_file)`` pairs, in the order given."""
    return arrow_tables(normalise_rows(models, catalogue))


def arrow_tables(rows: TableRows) -> dict[str, pa.Table]:
    import pyarrow as pa

    out: dict[str, pa.Table] = {}
    for name, spec in SPECS.items():
        schema = spec.schema()
        table_rows = rows[name]
        columns: list[Any] = list(zip(*table_rows, strict=True)) if table_rows else [[] for _ in schema]
        out[name] = pa.table([pa.array(list(col), type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema)
    return out


def _flat(obj: Any, cls: type[Any]) -> list[Any]:
    out: list[Any] = []
    flat_values(obj, cls, out)
    return out


def _add_model(rows: _Rows, m: el.SystemModel, source_file: str, cat: Catalogue) -> None:
    h = m.system.id
    rows.add("homes", [h, *[v for v in _flat(m.system, el.System)], source_file])
    for i, st in enumerate(m.system.stakeholders):
        rows.add("stakeholders", [h, i, *_flat(st, parts.Stakeholder)])
    vulnerable = set(cat.vulnerable_roles())
    for u in m.users:
        roles = dict.fromkeys(u.other_roles)
        roles.pop(u.role, None)
        is_vulnerable = u.vulnerable if u.vulnerable is not None else bool(u.needs) or any(r in vulnerable for r in (u.role, *roles))
        rows.add("users", [h, u.id, *_flat(u, el.User), is_vulnerable])
        for role in roles:
            rows.add("user_roles", [h, u.id, role])
        for need in sorted(set(u.needs)):
            rows.add("user_needs", [h, u.id, need])
        for svc in u.services:
            rows.add("user_services", [h, u.id, svc])
        grants: dict[str, parts.DeviceGrant] = {}
        for entry in u.devices:
            grant = entry if isinstance(entry, parts.DeviceGrant) else parts.DeviceGrant(device=entry)
            grants.setdefault(grant.device, grant)
        for grant in grants.values():
            never = grant.never_expires if grant.never_expires is not None or grant.expires is None else False
            rows.add("user_devices", [h, u.id, grant.device, grant.expires, never, grant.last_reviewed])
    for z in m.zones:
        privacy = z.privacy or ("high" if z.kind in el.PRIVATE_ZONE_KINDS else "low")
        rows.add("zones", [h, z.id, *_flat(z, el.Zone), privacy == "high"])
    for n in m.networks:
        rows.add("networks", [h, n.id, *_flat(n, el.Network), n.kind not in WIRED_KINDS])
    for g in m.gateways:
        rows.add("gateways", [h, g.id, *_flat(g, el.Gateway)])
        _add_equipment(rows, h, "gateway", g, cat)
        for i, pf in enumerate(g.port_forwards):
            kind = "gateway" if any(x.id == pf.target for x in m.gateways) else "device"
            rows.add("port_forwards", [h, g.id, i, *_flat(pf, parts.PortForward), kind])
        for i, bridge in enumerate(g.bridges):
            rows.add("gateway_bridges", [h, g.id, i, *_flat(bridge, parts.Bridge)])
    for d in m.devices:
        dtype = cat.device_types[d.type]
        safety = d.safety_relevant if d.safety_relevant is not None else dtype.safety_relevant
        child = d.child_directed if d.child_directed is not None else dtype.child_directed
        rows.add("devices", [h, d.id, *_flat(d, el.Device), dtype.tier, safety, child])
        _add_equipment(rows, h, "device", d, cat)
        for sensor in sorted(set(d.sensors)):
            rows.add("device_sensors", [h, d.id, sensor])
        for a in sorted(set(d.actuators)):
            rows.add("device_actuators", [h, d.id, a])
    for s in m.services:
        rows.add("services", [h, s.id, *_flat(s, el.Service)])
        for e_i, ep in enumerate(s.endpoints):
            rows.add("endpoints", [h, "service", s.id, e_i, *_flat(ep, parts.Endpoint)])
        for purpose in sorted(set(s.sharing_purposes)):
            rows.add("service_sharing", [h, s.id, purpose])
        for i, dec in enumerate(s.automated_decisions):
            rows.add("service_decisions", [h, s.id, i, *_flat(dec, parts.AutomatedDecision)])
        for i, link in enumerate(s.linked_accounts):
            rows.add("service_links", [h, s.id, i, link.service, link.scope])
    kinds = _kinds(m)
    net_kind = {n.id: n.kind for n in m.networks}
    for f in m.flows:
        leaves = "service" in (kinds.get(f.source), kinds.get(f.target)) or any(net_kind.get(v) in LEAVES_HOME_KINDS for v in f.via)
        flat = _flat(f, el.Flow)
        rows.add("flows", [h, f.id, f.source, kinds.get(f.source), f.target, kinds.get(f.target), *flat[2:], leaves])
        for net in dict.fromkeys(f.via):
            rows.add("flow_networks", [h, f.id, net])
        for category in sorted(set(f.data)):
            rows.add("flow_data", [h, f.id, category, cat.data_categories[category].sensitivity])
    for i, auto in enumerate(m.automations):
        rows.add("automations", [h, i, *_flat(auto, el.Automation)])
    for c in m.controls:
        rows.add("controls", [h, c.id, *_flat(c, el.ControlStatus), len(c.evidence)])


def _add_equipment(rows: _Rows, h: str, kind: str, eq: el.Gateway | el.Device, cat: Catalogue) -> None:
    collected = set(eq.data) if isinstance(eq, el.Device) else set()
    stored = set(eq.data_at_rest.categories)
    for category in sorted(collected | stored):
        sensitivity = cat.data_categories[category].sensitivity
        rows.add("equipment_data", [h, kind, eq.id, category, category in collected, category in stored, sensitivity])
    for net in dict.fromkeys(eq.networks):
        rows.add("equipment_networks", [h, kind, eq.id, net])
    for i, cred in enumerate(eq.credentials):
        rows.add("credentials", [h, kind, eq.id, i, *_flat(cred, parts.Credential)])
    for i, ep in enumerate(eq.endpoints):
        rows.add("endpoints", [h, kind, eq.id, i, *_flat(ep, parts.Endpoint)])
    for i, comp in enumerate(eq.software):
        rows.add("software", [h, kind, eq.id, i, *_flat(comp, parts.SoftwareComponent)])
        for vuln in {v.id: v for v in comp.vulnerabilities}.values():
            rows.add("software_vulnerabilities", [h, kind, eq.id, i, vuln.id, *_flat(vuln, parts.KnownVulnerability)])


def _kinds(m: el.SystemModel) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for kind, items in (("user", m.users), ("gateway", m.gateways), ("device", m.devices), ("service", m.services)):
        for item in items:
            kinds[item.id] = kind
    return kinds
