"""Generated fleets: deterministic, valid models, and drawn from the documented distributions."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from domosec.fleet import products as P
from domosec.fleet.generate import BLOCK, generate, generate_block
from domosec.fleet.layout import FLEET_TABLES
from domosec.fleet.models import models_from_tables, tables_from_models
from domosec.model.load import model_from_document
from domosec.model.source import SourceDocument


@pytest.fixture(scope="module")
def block() -> dict[str, pa.Table]:
    return generate_block(11, 0, 200)


def _sorted(name: str, table: pa.Table) -> pa.Table:
    keys = ["home_id", *[c.name for c in FLEET_TABLES[name].keys]]
    if name == "homes":
        table = table.drop_columns(["source_file"])
    return table.sort_by([(k, "ascending") for k in keys])


def test_same_seed_same_fleet_and_a_small_fleet_is_a_prefix_of_a_large_one() -> None:
    small = next(generate(homes=300, seed=5, part_size=BLOCK))
    again = next(generate(homes=300, seed=5, part_size=BLOCK))
    other = next(generate(homes=300, seed=6, part_size=BLOCK))
    for name in FLEET_TABLES:
        assert small[name].equals(again[name]), name
    assert not small["devices"].equals(other["devices"])
    one_block = next(generate(homes=BLOCK, seed=5, part_size=BLOCK))
    two_blocks = next(generate(homes=2 * BLOCK, seed=5, part_size=2 * BLOCK))
    for name in FLEET_TABLES:
        first = two_blocks[name].filter(pa.compute.less(two_blocks[name].column("home_id"), f"home-{BLOCK:07d}"))
        assert first.equals(one_block[name]), name


def test_every_generated_home_is_a_valid_model_and_round_trips(block: dict[str, pa.Table]) -> None:
    docs = list(models_from_tables(block))
    assert len(docs) == 200
    models = []
    for doc in docs:
        # Through JSON text, as a JSON Lines reader sees it; model_from_document raises on any problem.
        data = json.loads(json.dumps(doc))
        models.append((model_from_document(SourceDocument(doc["system"]["id"], data)).model, ""))
    back = tables_from_models(models)
    for name in FLEET_TABLES:
        assert _sorted(name, back[name]).equals(_sorted(name, block[name])), name


def test_distributions_match_the_documented_shares() -> None:
    tables = next(generate(homes=BLOCK, seed=2, part_size=BLOCK))
    homes = tables["homes"].num_rows
    devices = tables["devices"].num_rows / homes
    assert P.DEVICES_BASE + P.DEVICES_EXTRA_MEAN - 1.5 < devices < P.DEVICES_BASE + P.DEVICES_EXTRA_MEAN + 1.5
    users = tables["users"].to_pylist()
    with_children = len({u["home_id"] for u in users if u["role"] == "child"}) / homes
    assert abs(with_children - P.SHARE["children"]) < 0.03
    forwards = len(set(tables["port_forwards"].column("home_id").to_pylist())) / homes
    assert abs(forwards - P.SHARE["port_forward"]) < 0.03
    wifi = [n for n in tables["networks"].to_pylist() if n["network_id"] == "wifi"]
    assert abs(sum(1 for n in wifi if n["default_password"]) / homes - P.SHARE["wifi_default_password"]) < 0.03
    types = tables["devices"].column("type").to_pylist()
    assert abs(types.count("camera") / len(types) - P.DEVICE_TYPE_SHARES["camera"]) < 0.01
    firmware_versions = {(d["model"], d["firmware"]) for d in tables["devices"].to_pylist()}
    assert len(firmware_versions) > 40, "old and new firmware of each product should be in the fleet"


def test_generate_refuses_a_part_size_that_splits_a_block() -> None:
    with pytest.raises(ValueError, match="multiple"):
        next(generate(homes=10, seed=1, part_size=BLOCK + 1))
