"""Homes that are not valid models are set aside with their reasons, in Parquet and in JSON Lines, and never crash a run."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
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
