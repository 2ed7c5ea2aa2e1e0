"""Small helpers that build the columns of generated tables from NumPy draws."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from domosec.fleet.layout import FLEET_TABLES, column_defaults

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def draw(rng: np.random.Generator, shares: Mapping[str, float] | Sequence[float], size: int) -> Ints:
    """Indices drawn with the given shares (normalised)."""
    weights = np.array(list(shares.values()) if isinstance(shares, Mapping) else list(shares), dtype=float)
    return rng.choice(len(weights), size=size, p=weights / weights.sum()).astype(np.int64)


def pick(options: Sequence[Any], index: Ints, kind: pa.DataType | None = None) -> pa.Array:
    """``options[index]`` as an Arrow array."""
    return pa.array(list(options), type=kind).take(pa.array(index, type=pa.int64()))


def tri(rng: np.random.Generator, size: int, p_true: float, p_false: float | None = None) -> pa.Array:
    """Booleans that are true with ``p_true``, false with ``p_false`` (default: the rest) and unknown otherwise."""
    r = rng.random(size)
    false_share = 1.0 - p_true if p_false is None else p_false
    values = r < p_true
    unknown = r >= p_true + false_share
    return pa.array(values, type=pa.bool_(), mask=unknown)


def maybe(values: pa.Array, keep: Bools) -> pa.Array:
    """``values`` where ``keep`` holds, null elsewhere."""
    return pc.if_else(pa.array(keep, type=pa.bool_()), values, pa.nulls(len(values), type=values.type))


def expand(counts: Ints) -> tuple[Ints, Ints]:
    """For per-home counts: the home of each row and the row's position within its home (0-based)."""
    home = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    return home, np.arange(len(home), dtype=np.int64) - np.repeat(starts, counts)


def make_table(name: str, size: int, columns: Mapping[str, Any]) -> pa.Table:
    """A table of the fleet layout: given columns as they are, the others at the model's defaults."""
    schema = FLEET_TABLES[name].schema()
    defaults = column_defaults()[name]
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise KeyError(f"{name} has no columns {sorted(unknown)}")
    arrays = []
    for f in schema:
        value = columns.get(f.name)
        if value is None:
            arrays.append(pa.repeat(pa.scalar(defaults.get(f.name), type=f.type), size))
        elif isinstance(value, (pa.Array, pa.ChunkedArray)):
            arrays.append(value.cast(f.type) if value.type != f.type else value)
        elif isinstance(value, (str, bool, int)):
            arrays.append(pa.repeat(pa.scalar(value, type=f.type), size))
        else:
            arrays.append(pa.array(value, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)
