"""Between the two shapes of a fleet: models (one JSON document per home) and the normalised tables.

``tables_from_models`` is :func:`domosec.model.normalise.normalise` plus the fleet's
``accepted_risks`` table. ``models_from_tables`` goes back: it rebuilds each home's model from
its rows, walking the model classes the same way :mod:`domosec.model.tables` flattens them,
and leaving out what equals the model's default. Derived columns are not written back: the
model recomputes them. What the tables do not keep is lost on the way (provenance details,
evidence texts, stakeholder contact order is kept).
"""

from __future__ import annotations

import datetime as dt
import typing
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

from domosec.catalog.load import Catalogue
from domosec.fleet.layout import ACCEPTED_RISKS, FLEET_TABLES
from domosec.model import elements as el
from domosec.model import parts
from domosec.model.normalise import normalise
from domosec.model.tables import REFERENCE_FIELDS, _nested_model

Row = dict[str, Any]


def tables_from_models(models: Iterable[tuple[el.SystemModel, str]], catalogue: Catalogue | None = None) -> dict[str, pa.Table]:
    """The fleet tables of validated models (``(model, source_file)`` pairs)."""
    pairs = list(models)
    tables = normalise(pairs, catalogue)
    rows = [
        [m.system.id, i, ar.rule, ar.asset, ar.reason, ar.approver, ar.expires, ar.ticket]
        for m, _ in pairs
        for i, ar in enumerate(m.accepted_risks)
    ]
    schema = ACCEPTED_RISKS.schema()
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    tables[ACCEPTED_RISKS.name] = pa.table([pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)
    return {name: tables[name] for name in FLEET_TABLES}


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def unflatten(row: Row, cls: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """The fields of ``cls`` from a flat row (the inverse of ``flat_values``), defaults left out."""
    out: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if name == "id" or typing.get_origin(info.annotation) is list:
            continue
        if name == "provenance":
            source = row.get(f"{prefix}provenance")
            if source not in (None, "declared"):
                out[name] = {"source": source}
            continue
        nested = _nested_model(info.annotation)
        if nested is not None:
            sub = unflatten(row, nested, f"{prefix}{name}_")
            if sub:
                out[name] = sub
            continue
        column = f"{prefix}{name}_id" if name in REFERENCE_FIELDS and not prefix else f"{prefix}{name}"
        value = row.get(column)
        if value is None or (not info.is_required() and value == info.default):
            continue
        out[info.alias or name] = _jsonable(value)
    return out


def _by_home(table: pa.Table) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in table.to_pylist():
        grouped[row["home_id"]].append(row)
    return grouped


def _by(rows: list[Row], *keys: str) -> dict[tuple[Any, ...], list[Row]]:
    grouped: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        grouped[tuple(row[k] for k in keys)].append(row)
    return grouped


def models_from_tables(tables: dict[str, pa.Table]) -> Iterator[dict[str, Any]]:
    """One model document per row of ``homes``, in that order."""
    t = {name: _by_home(tables[name]) if name in tables else {} for name in FLEET_TABLES}
    for home in tables["homes"].to_pylist():
        h = home["home_id"]
        yield _model(h, home, {name: rows.get(h, []) for name, rows in t.items()})


def _grant(row: Row) -> Any:
    """A ``users[].devices`` entry: the plain device ID unless the grant states an expiry or a review."""
    extra = {k: _jsonable(row[k]) for k in ("expires", "never_expires", "last_reviewed") if row.get(k) is not None}
    if not extra:
        return row["device_id"]
    return {"device": row["device_id"], **extra}


def _model(h: str, home: Row, rows: dict[str, list[Row]]) -> dict[str, Any]:
    system = {"id": h, **unflatten(home, el.System)}
    stakeholders = sorted(rows["stakeholders"], key=lambda r: r["stakeholder_index"])
    if stakeholders:
        system["stakeholders"] = [unflatten(r, parts.Stakeholder) for r in stakeholders]
    model: dict[str, Any] = {"domosec": 1, "system": system}
    user_services = _by(rows["user_services"], "user_id")
    user_roles = _by(rows["user_roles"], "user_id")
    user_needs = _by(rows["user_needs"], "user_id")
    user_devices = _by(rows["user_devices"], "user_id")
    model["users"] = [
        {
            "id": u["user_id"],
            **unflatten(u, el.User),
            **_list("other_roles", [r["role"] for r in user_roles.get((u["user_id"],), [])]),
            **_list("needs", [r["need"] for r in user_needs.get((u["user_id"],), [])]),
            **_list("services", [r["service_id"] for r in user_services.get((u["user_id"],), [])]),
            **_list("devices", [_grant(r) for r in user_devices.get((u["user_id"],), [])]),
        }
        for u in rows["users"]
    ]
    model["zones"] = [{"id": z["zone_id"], **unflatten(z, el.Zone)} for z in rows["zones"]]
    model["networks"] = [{"id": n["network_id"], **unflatten(n, el.Network)} for n in rows["networks"]]
    equipment = {
        name: _by(rows[name], "asset_kind", "asset_id") for name in ("equipment_networks", "credentials", "endpoints", "equipment_data")
    }
    forwards, bridges = _by(rows["port_forwards"], "gateway_id"), _by(rows["gateway_bridges"], "gateway_id")
    model["gateways"] = [
        {
            "id": g["gateway_id"],
            **_equipment(unflatten(g, el.Gateway), equipment, "gateway", g["gateway_id"]),
            **_list(
                "port_forwards",
                [
                    unflatten(r, parts.PortForward) | {"target": r["target_id"]}
                    for r in _ordered(forwards, (g["gateway_id"],), "forward_index")
                ],
            ),
            **_list(
                "bridges",
                [unflatten(r, parts.Bridge) for r in _ordered(bridges, (g["gateway_id"],), "bridge_index")],
            ),
        }
        for g in rows["gateways"]
    ]
    sensors, actuators = _by(rows["device_sensors"], "device_id"), _by(rows["device_actuators"], "device_id")
    model["devices"] = [
        {
            "id": d["device_id"],
            **_equipment(unflatten(d, el.Device), equipment, "device", d["device_id"]),
            **_list("sensors", sorted(r["sensor"] for r in sensors.get((d["device_id"],), []))),
            **_list("actuators", sorted(r["actuator"] for r in actuators.get((d["device_id"],), []))),
        }
        for d in rows["devices"]
    ]
    sharing, decisions, links = (_by(rows[n], "service_id") for n in ("service_sharing", "service_decisions", "service_links"))
    model["services"] = [
        {
            "id": s["service_id"],
            **unflatten(s, el.Service),
            **_list(
                "endpoints",
                [unflatten(r, parts.Endpoint) for r in _ordered(equipment["endpoints"], ("service", s["service_id"]), "endpoint_index")],
            ),
            **_list("sharing_purposes", sorted(r["purpose"] for r in sharing.get((s["service_id"],), []))),
            **_list(
                "automated_decisions",
                [unflatten(r, parts.AutomatedDecision) for r in _ordered(decisions, (s["service_id"],), "decision_index")],
            ),
            **_list(
                "linked_accounts",
                [
                    {"service": r["linked_service_id"], **({"scope": r["scope"]} if r["scope"] is not None else {})}
                    for r in _ordered(links, (s["service_id"],), "link_index")
                ],
            ),
        }
        for s in rows["services"]
    ]
    via, data = _by(rows["flow_networks"], "flow_id"), _by(rows["flow_data"], "flow_id")
    model["flows"] = [
        {
            "id": f["flow_id"],
            **unflatten(f, el.Flow),
            **_list("via", [r["network_id"] for r in via.get((f["flow_id"],), [])]),
            **_list("data", sorted(r["category"] for r in data.get((f["flow_id"],), []))),
        }
        for f in rows["flows"]
    ]
    model["automations"] = [unflatten(r, el.Automation) for r in sorted(rows["automations"], key=lambda r: r["automation_index"])]
    model["controls"] = [
        {
            "id": c["control_id"],
            **unflatten(c, el.ControlStatus),
            **_list("evidence", [{"kind": "other", "ref": f"evidence-{i + 1}"} for i in range(c["evidence_count"] or 0)]),
        }
        for c in rows["controls"]
    ]
    model["accepted_risks"] = [
        {k: _jsonable(r[k]) for k in ("rule", "asset", "reason", "approver", "expires", "ticket") if r[k] not in (None, "")}
        for r in sorted(rows["accepted_risks"], key=lambda r: r["risk_index"])
    ]
    return {k: v for k, v in model.items() if v != []}


def _ordered(grouped: dict[tuple[Any, ...], list[Row]], key: tuple[Any, ...], index: str) -> list[Row]:
    return sorted(grouped.get(key, []), key=lambda r: r[index])


def _list(name: str, values: list[Any]) -> dict[str, Any]:
    return {name: values} if values else {}


def _equipment(fields: dict[str, Any], equipment: dict[str, dict[tuple[Any, ...], list[Row]]], kind: str, ident: str) -> dict[str, Any]:
    key = (kind, ident)
    out = dict(fields)
    out |= _list("networks", [r["network_id"] for r in equipment["equipment_networks"].get(key, [])])
    out |= _list("credentials", [unflatten(r, parts.Credential) for r in _ordered(equipment["credentials"], key, "credential_index")])
    out |= _list("endpoints", [unflatten(r, parts.Endpoint) for r in _ordered(equipment["endpoints"], key, "endpoint_index")])
    data = equipment["equipment_data"].get(key, [])
    if kind == "device":
        out |= _list("data", sorted(r["category"] for r in data if r["collected"]))
    stored = sorted(r["category"] for r in data if r["stored"])
    if stored:
        out["data_at_rest"] = {**out.get("data_at_rest", {}), "categories": stored}
    return out
