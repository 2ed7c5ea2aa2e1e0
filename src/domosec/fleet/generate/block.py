"""The block being drawn and what every part of the generator shares: constants, dates, firmware flags."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from domosec.catalog.load import Catalogue
from domosec.fleet import products as P
from domosec.fleet.columns import Bools, Ints, make_table
from domosec.fleet.layout import FLEET_TABLES

BLOCK = 5_000
"""Homes drawn from one random stream."""

DEVICE_TYPES = tuple(P.DEVICE_TYPE_SHARES)
VENDORS = tuple(P.VENDOR_CLOUDS)
ZONES = (
    ("living", "living"),
    ("kitchen", "kitchen"),
    ("hallway", "hallway"),
    ("bedroom", "bedroom"),
    ("bathroom", "bathroom"),
    ("entrance", "entrance"),
    ("garden", "garden"),
    ("kids-room", "children_room"),
    ("office", "office"),
    ("garage", "garage"),
)


def dates(values: list[str] | np.ndarray) -> pa.Array:
    return pa.array(np.array(values, dtype="datetime64[D]"), type=pa.date32())


def flag(flags: tuple[str, ...], letter: str, fw: Ints) -> Bools:
    table = np.array([letter in f for f in flags], dtype=bool)
    return table[fw]


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in ["home_id", *keys]])


def _concat(name: str, parts: list[pa.Table]) -> pa.Table:
    keys = [c.name for c in FLEET_TABLES[name].keys]
    return _sorted(pa.concat_tables(parts), keys) if parts else FLEET_TABLES[name].schema().empty_table()


class Block:
    """One block of homes being drawn."""

    def __init__(self, seed: int, block: int, first: int, size: int, cat: Catalogue) -> None:
        self.rng = np.random.default_rng([seed, block])
        self.n = size
        self.cat = cat
        self.home_ids = [f"home-{i:07d}" for i in range(first, first + size)]
        self.hid = pa.array(self.home_ids, type=pa.string())
        self.tables: dict[str, list[pa.Table]] = {name: [] for name in FLEET_TABLES}

    def homes_of(self, rows: Ints) -> pa.Array:
        return self.hid.take(pa.array(rows, type=pa.int64()))

    def add(self, name: str, size: int, columns: dict[str, object]) -> None:
        if size:
            self.tables[name].append(make_table(name, size, columns))

    def result(self) -> dict[str, pa.Table]:
        return {name: _concat(name, parts) for name, parts in self.tables.items()}
