"""The per-home state files of a fleet run (``state/part-NNNNN.parquet``): what they hold, reading an earlier run's, writing this run's.

Each batch writes one row per home it assessed or rejected: the home's content hash (over its rows as read,
:func:`domosec.fleet.incremental.content_hashes`), the clause-7 items its declarations contradict and, for a
rejected home, its reasons. A later ``--since`` run looks its homes up here (:mod:`domosec.fleet.incremental`).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domosec.fleet.outdir import STATE_DIR
from domosec.fleet.source import RejectRecord

RUN_FILE = "run.json"
STATE_SCHEMA = pa.schema(
    [
        pa.field("home_id", pa.string()),
        pa.field("content_hash", pa.string()),
        pa.field("contradicted", pa.list_(pa.string())),
        pa.field("reasons", pa.list_(pa.string())),
    ]
)
"""Per home of a batch; ``reasons`` is null for an assessed home and says why a rejected home was set aside."""
CONTRADICTED_SCHEMA = pa.schema([pa.field("home_id", pa.string()), pa.field("control_id", pa.string())])


def previous_state(since: Path, index: int, home_ids: pa.ChunkedArray) -> pa.Table:
    """The earlier run's state rows of these homes, with the part they were in: the same part first, then the parts
    that :func:`home_parts` says hold the others (a home new tonight costs no read)."""
    wanted = set(home_ids.to_pylist())
    found: list[pa.Table] = []

    def take(part: int) -> None:
        nonlocal wanted
        table = pq.read_table(since / STATE_DIR / f"part-{part:05d}.parquet", schema=STATE_SCHEMA)
        table = table.filter(pc.is_in(table.column("home_id"), value_set=pa.array(sorted(wanted), pa.string())))
        if table.num_rows:
            found.append(table.append_column("part", pa.array([part] * table.num_rows, pa.int32())))
            wanted -= set(table.column("home_id").to_pylist())

    if (since / STATE_DIR / f"part-{index:05d}.parquet").exists():
        take(index)
    if wanted:
        where = home_parts(since)
        elsewhere = where.filter(pc.is_in(where.column("home_id"), value_set=pa.array(sorted(wanted), pa.string())))
        for part in sorted(set(elsewhere.column("part").to_pylist()) - {index}):
            take(part)
    if not found:
        return STATE_SCHEMA.append(pa.field("part", pa.int32())).empty_table()
    return pa.concat_tables(found)


_HOME_PARTS: dict[tuple[str, bytes], pa.Table] = {}


def home_parts(since: Path) -> pa.Table:
    """Which state part of the earlier run holds each home (``home_id``, ``part``), read once per process and run."""
    key = (str(since), (since / STATE_DIR / RUN_FILE).read_bytes())
    if key not in _HOME_PARTS:
        _HOME_PARTS.clear()
        tables = []
        for path in sorted((since / STATE_DIR).glob("part-*.parquet")):
            stem = path.name.removeprefix("part-").removesuffix(".parquet")
            if stem.isdigit():
                ids = pq.read_table(path, columns=["home_id"]).column("home_id")
                tables.append(pa.table({"home_id": ids, "part": pa.array([int(stem)] * len(ids), pa.int32())}))
        empty = pa.schema([pa.field("home_id", pa.string()), pa.field("part", pa.int32())]).empty_table()
        _HOME_PARTS[key] = pa.concat_tables(tables).combine_chunks() if tables else empty
    return _HOME_PARTS[key]


def write_state(
    outdir: Path,
    index: int,
    hashes: pa.Table,
    assessed: list[str],
    contradicted: pa.Table,
    rejects: list[RejectRecord],
    copies: set[str],
) -> None:
    """Write the batch's state part: each assessed or rejected home's content hash, contradicted items and reasons.

    A home set aside as a second copy of a home of an earlier part gets no row (it is checked again each run).
    """
    by_home: dict[str, list[str]] = {}
    for home, control in zip(contradicted.column("home_id").to_pylist(), contradicted.column("control_id").to_pylist(), strict=True):
        by_home.setdefault(str(home), []).append(str(control))
    kept = set(assessed)
    reasons = {r.home_id: list(r.reasons) for r in rejects if r.home_id and r.home_id not in kept and r.home_id not in copies}
    ids = hashes.column("home_id").to_pylist()
    rows = [i for i, home in enumerate(ids) if home in kept or home in reasons]
    if len(rows) < len(ids):
        hashes = hashes.take(pa.array(rows, pa.int64()))
        ids = [ids[i] for i in rows]
    table = pa.table(
        {
            "home_id": hashes.column("home_id"),
            "content_hash": hashes.column("content_hash"),
            "contradicted": pa.array([sorted(by_home.get(h, [])) for h in ids], pa.list_(pa.string())),
            "reasons": pa.array([reasons.get(h) for h in ids], pa.list_(pa.string())),
        },
        schema=STATE_SCHEMA,
    )
    out = outdir / STATE_DIR / f"part-{index:05d}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(out)
