"""Homes that are not valid models are set aside with their reasons, in Parquet and in JSON Lines, and never crash a run."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from domosec.catalog.load import load_catalogue
from domosec.errors import ModelError
from domosec.fleet.generate import generate_block
from domosec.fleet.layout import FLEET_TABLES
from domosec.fleet.models import models_from_tables
from domosec.fleet.validate import validate_tables
from domosec.model.load import model_from_document
from domosec.model.source import SourceDocument

Row = dict[str, Any]


def _edit(tables: dict[str, pa.Table], name: str, change: Callable[[list[Row]], list[Row]]) -> None:
    tables[name] = pa.Table.from_pylist(change(tables[name].to_pylist()), schema=FLEET_TABLES[name].schema())


def _first(rows: list[Row], home: str, **match: Any) -> Row:
    return next(r for r in rows if r["home_id"] == home and all(r[k] == v for k, v in match.items()))


def _set(home: str, column: str, value: Any, **match: Any) -> Callable[[list[Row]], list[Row]]:
    def change(rows: list[Row]) -> list[Row]:
        _first(rows, home, **match)[column] = value
        return rows

    return change


# (home, table, change, words the reason must contain, whether the same mistake can be written in a model file)
MUTATIONS: list[tuple[str, str, Callable[[list[Row]], list[Row]], str, bool]] = [
    ("home-0000001", "devices", _set("home-0000001", "type", "fridge", device_id="dev-01"), "devices[dev-01].type: 'fridge'", True),
    ("home-0000002", "devices", _set("home-0000002", "zone_id", "attic", device_id="dev-02"), "zone 'attic' is not defined", True),
    (
        "home-0000003",
        "networks",
        _set("home-0000003", "encryption", "rot13", network_id="wifi"),
        "networks[wifi].encryption: 'rot13'",
        True,
    ),
    ("home-0000004", "endpoints", _set("home-0000004", "port", 70000, asset_id="router"), "is above 65535", True),
    ("home-0000005", "users", _set("home-0000005", "role", None, user_id="owner"), "users[owner].role: is required", True),
    (
        "home-0000006",
        "zones",
        _set("home-0000006", "zone_id", "dev-01", zone_id="garden"),
        "the ID 'dev-01' is used by devices and zones",
        True,
    ),
    ("home-0000007", "flows", _set("home-0000007", "target_id", "dev-01", flow_id="flow-dev-01"), "goes from 'dev-01' to itself", True),
    ("home-0000008", "devices", _set("home-0000008", "device_id", "bad id!", device_id="dev-03"), "is not a valid ID", True),
    ("home-0000009", "devices", _set("home-0000009", "tier", "low", device_id="dev-01"), "derived column tier", False),
]


@pytest.fixture(scope="module")
def fleet() -> dict[str, pa.Table]:
    return generate_block(13, 0, 40)


def test_a_clean_fleet_has_no_rejects(fleet: dict[str, pa.Table]) -> None:
    kept, rejects, homes_in = validate_tables(fleet, load_catalogue())
    assert rejects == [] and homes_in == 40
    assert all(kept[n].equals(fleet[n]) for n in FLEET_TABLES)


def test_each_mistake_rejects_its_home_with_a_reason_and_keeps_the_others(fleet: dict[str, pa.Table]) -> None:
    tables = dict(fleet)
    for home, table, change, _, _ in MUTATIONS:
        if table == "devices" and home == "home-0000009":
            # The tier of dev-01 must really differ from the catalogue's for the check to mean anything.
            row = _first(tables["devices"].to_pylist(), home, device_id="dev-01")
            assert row["tier"] != "low"
        _edit(tables, table, change)
    # Rows of a home that has no row in homes: a home in the input that cannot be assessed.
    _edit(tables, "device_sensors", lambda rows: [*rows, {"home_id": "home-ghost", "device_id": "dev-01", "sensor": "motion"}])
    kept, rejects, homes_in = validate_tables(tables, load_catalogue())
    by_home = {r.home_id: " | ".join(r.reasons) for r in rejects}
    expected = {m[0] for m in MUTATIONS} | {"home-ghost"}
    assert set(by_home) == expected
    for home, _, _, words, _ in MUTATIONS:
        assert words in by_home[home], (home, by_home[home])
    assert "no row in homes" in by_home["home-ghost"]
    assert homes_in == 41
    assert kept["homes"].num_rows == 40 - len(MUTATIONS)
    assert not set(kept["devices"].column("home_id").to_pylist()) & expected


def test_bulk_checks_agree_with_the_model_validation(fleet: dict[str, pa.Table]) -> None:
    """For every mistake a model file can hold, pydantic and the bulk checks reject the same homes."""
    tables = dict(fleet)
    for _, table, change, _, in_files in MUTATIONS:
        if in_files:
            _edit(tables, table, change)
    _, rejects, _ = validate_tables(tables, load_catalogue())
    by_model = set()
    for doc in models_from_tables(tables):
        try:
            model_from_document(SourceDocument("x", json.loads(json.dumps(doc))))
        except ModelError:
            by_model.add(doc["system"]["id"])
    assert {r.home_id for r in rejects} == by_model == {m[0] for m in MUTATIONS if m[4]}


def _add(tables: dict[str, pa.Table], name: str, row: Row) -> None:
    _edit(tables, name, lambda rows: [*rows, row])


def _home(n: int) -> str:
    return f"home-{n:07d}"


def test_edge_cases_get_exactly_the_reasons_of_the_row_by_row_checks(fleet: dict[str, pa.Table]) -> None:
    """Where the bulk checks take shortcuts (ID lengths, lists of values, references, homes missing from homes),
    the reasons, and the homes counted in, stay those of checking each row on its own."""
    tables = dict(fleet)
    user = tables["users"].to_pylist()[0]
    for n, user_id in [(10, "a" * 128), (11, "a" * 129), (12, "owner\n"), (13, "ünïcode"), (14, "_x")]:
        _add(tables, "users", {**user, "home_id": _home(n), "user_id": user_id})
    _edit(tables, "devices", _set(_home(15), "type", "fridge", device_id="dev-01"))
    _edit(tables, "devices", _set(_home(16), "update_mechanism", None, device_id="dev-01"))
    _edit(tables, "devices", _set(_home(16), "physical_debug_ports", "x", device_id="dev-01"))
    # One ID for a device, a service and a user: the flow from dev-01 names two kinds at once.
    _add(tables, "users", {**user, "home_id": _home(17), "user_id": "dev-01"})
    _add(tables, "services", {**_first(tables["services"].to_pylist(), _home(17)), "service_id": "dev-01"})
    _add(tables, "devices", _first(tables["devices"].to_pylist(), _home(18), device_id="dev-01"))
    for i, asset in enumerate(["nowhere", "*", _home(19)]):
        risk = {"rule": "R1", "asset": asset, "reason": "r", "approver": "a", "expires": dt.date(2027, 1, 1), "ticket": "T-1"}
        _add(tables, "accepted_risks", {"home_id": _home(19), "risk_index": i, **risk})
    # Rows of homes that have no row in homes: a home seen only in a part table, a home whose row is gone, no home.
    _add(tables, "device_sensors", {"home_id": "home-ghost", "device_id": "dev-01", "sensor": "motion"})
    _edit(tables, "homes", lambda rows: [r for r in rows if r["home_id"] != _home(20)])
    _add(tables, "devices", {**_first(tables["devices"].to_pylist(), _home(21), device_id="dev-01"), "home_id": None})
    _edit(tables, "flows", _set(_home(22), "target_id", "bathroom", flow_id="flow-dev-06"))
    forward = {"external_port": 8080, "internal_port": 80, "transport": "tcp", "via_upnp": False, "provenance": "declared"}
    for i, target in enumerate(["router", "nowhere", "dev-01"]):
        _add(
            tables,
            "port_forwards",
            {"home_id": _home(23), "gateway_id": "router", "forward_index": i, "target_id": target, "target_kind": "device", **forward},
        )
    # Flows to a gateway leave the home only through a network that does: flow-dev-01 goes through wan, flow-dev-02 no more.
    for flow_id in ("flow-dev-01", "flow-dev-02"):
        _edit(tables, "flows", _set(_home(24), "target_id", "router", flow_id=flow_id))
        _edit(tables, "flows", _set(_home(24), "target_kind", "gateway", flow_id=flow_id))
        _edit(tables, "flows", _set(_home(24), "leaves_home", False, flow_id=flow_id))
    _edit(
        tables,
        "flow_networks",
        lambda rows: [r for r in rows if (r["home_id"], r["flow_id"], r["network_id"]) != (_home(24), "flow-dev-02", "wan")],
    )
    _edit(tables, "equipment_data", _set(_home(25), "asset_kind", "service", asset_id="dev-01"))
    endpoint = _first(tables["endpoints"].to_pylist(), _home(25))
    service = _first(tables["services"].to_pylist(), _home(25))["service_id"]
    _add(tables, "endpoints", {**endpoint, "asset_kind": "service", "asset_id": service, "endpoint_index": 0})
    _add(tables, "flow_networks", {"home_id": _home(26), "flow_id": "flow-dev-01", "network_id": "nowhere"})
    _add(tables, "flow_data", {**_first(tables["flow_data"].to_pylist(), _home(26)), "flow_id": "no-flow"})

    kept, rejects, homes_in = validate_tables(tables, load_catalogue())

    not_an_id = "is not a valid ID (letters, digits and _ . : @ / -)"
    stray = ": rows for a home that has no row in homes"
    long_id = "a" * 129
    assert {r.home_id: r.reasons for r in rejects} == {
        None: ("devices" + stray, "devices[dev-01].zone: zone 'kitchen' is not defined"),
        _home(11): (f"users[{long_id}].user_id: '{long_id}' {not_an_id}",),
        _home(12): (f"users[owner\n].user_id: 'owner\n' {not_an_id}",),
        _home(13): (f"users[ünïcode].user_id: 'ünïcode' {not_an_id}",),
        _home(14): (f"users[_x].user_id: '_x' {not_an_id}",),
        _home(15): (
            "devices: the derived column is_child_directed is false, the catalogue gives null",
            "devices: the derived column is_safety_relevant is false, the catalogue gives null",
            "devices: the derived column tier is low, the catalogue gives null",
            "devices[dev-01].type: 'fridge' is not a known device type",
        ),
        _home(16): ("devices[dev-01].physical_debug_ports: 'x' is not one of none, disabled, exposed",),
        _home(17): (
            "flows: the derived column source_kind of flow-dev-01 does not match the element it names",
            "the ID 'dev-01' is used by devices and services and users; IDs must be unique across the model",
        ),
        _home(18): (
            "devices: the row dev-01 appears 2 times",
            "the ID 'dev-01' is used by devices and devices; IDs must be unique across the model",
        ),
        _home(19): ("accepted_risks[0].asset: asset 'nowhere' is not defined",),
        _home(20): tuple(
            name + stray
            for name in sorted(FLEET_TABLES)
            if name != "homes" and fleet[name].filter(pc.equal(fleet[name].column("home_id"), _home(20))).num_rows
        ),
        _home(22): (
            "flows: the derived column target_kind of flow-dev-06 does not match the element it names",
            "flows[flow-dev-06].to: user, gateway, device or service 'bathroom' is not defined",
        ),
        _home(23): (
            "gateways[router].port_forwards: device or gateway 'nowhere' is not defined",
            "port_forwards: the derived column target_kind is wrong",
        ),
        _home(24): ("flows: the derived column leaves_home of flow-dev-01 is wrong",),
        _home(25): ("equipment_data: service 'dev-01' does not exist",),
        _home(26): ("flow_data: flows[no-flow] does not exist", "flows[flow-dev-01].via: network 'nowhere' is not defined"),
        "home-ghost": ("device_sensors: devices[dev-01] does not exist", "device_sensors" + stray),
    }
    assert homes_in == 42  # the 40 homes, home-ghost and the rows without a home
    assert set(kept["homes"].column("home_id").to_pylist()) == {_home(n) for n in range(40)} - {
        _home(n) for n in [*range(11, 21), *range(22, 27)]
    }
