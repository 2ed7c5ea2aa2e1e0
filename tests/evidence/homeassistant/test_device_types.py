"""Type accuracy against hand-given types of 340 real devices (device_types.csv).

The table holds devices of the public configurations in bench/ha_corpus.txt: the facts the importer
sees (manufacturer, model, integrations, enabled entities as ``domain[:device_class][@category]``,
whether other devices hang off it) and the type a person gave each from the product itself, before
looking at what the importer says (``not_hardware`` for registry entries that are software, accounts
or virtual groups). Device names are left out of the table: people name devices after themselves.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from domosec.catalog.load import load_catalogue
from domosec.evidence.homeassistant import classify, hints
from domosec.evidence.homeassistant.iot_classes import shipped_table
from domosec.evidence.homeassistant.registries import HaEntity

TABLE = Path(__file__).resolve().parent / "device_types.csv"
TARGET = 0.90


def _entity(n: int, token: str) -> HaEntity:
    token, _, category = token.partition("@")
    domain, _, device_class = token.partition(":")
    return HaEntity(f"{domain}.e{n}", domain, "", "d", None, device_class or None, None, False, category or None)


def predict(row: dict[str, str]) -> str:
    """What the importer makes of the device: ``not_hardware``, ``hub`` for a bridge, else the device's type."""
    integrations = row["integrations"].split()
    entities = [_entity(n, token) for n, token in enumerate(row["entities"].split(";")) if token]
    table = shipped_table()[1]
    kinds = [table[d][1] if d in table else None for d in integrations]
    if hints.not_hardware(integrations, row["model"], {e.domain for e in entities}, kinds):
        return "not_hardware"
    kind = classify.device_type(entities, integrations, row["manufacturer"], row["model"])[1]
    return "hub" if row["bridge"] and kind not in classify.NOT_BRIDGE_TYPES else kind


def test_the_table_is_large_and_uses_catalogue_types() -> None:
    rows = list(csv.DictReader(TABLE.open(encoding="utf-8")))
    types = set(load_catalogue().device_types)
    assert len(rows) >= 300
    assert {r["expected_type"] for r in rows} <= types | {"not_hardware"}
    assert len({r["corpus_repository"] for r in rows}) >= 30


def test_type_accuracy_is_at_least_90_percent() -> None:
    rows = list(csv.DictReader(TABLE.open(encoding="utf-8")))
    wrong = [
        (r["manufacturer"], r["model"], r["integrations"], r["expected_type"], predict(r)) for r in rows if predict(r) != r["expected_type"]
    ]
    accuracy = 1 - len(wrong) / len(rows)
    confusion = Counter((expected, got) for *_, expected, got in wrong)
    print(f"\ntype accuracy: {accuracy:.1%} ({len(rows) - len(wrong)} of {len(rows)} hand-labelled devices)")
    for (expected, got), n in confusion.most_common():
        print(f"  {n:3d} labelled {expected}, imported as {got}")
    assert accuracy >= TARGET, wrong
