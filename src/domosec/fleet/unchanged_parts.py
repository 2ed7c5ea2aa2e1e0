"""Incremental fleet runs, part by part: a batch whose input has not changed is linked from the earlier run unread.

Every batch writes, beside its state part, ``state/part-NNNNN.json``: a digest of the batch's input
(the bytes of its Parquet files, or of its run of JSON Lines, with where the batch sits in the input
and the homes it shares with other batches), the SHA-256 of the findings part it wrote, the dates
its accepted risks end on, its rejected homes and its summary counts. A later ``--since`` run whose
batch has the same digest, the same input path (when a reject or a rule can show the path), an
earlier findings part with the recorded SHA-256 and no acceptance ending between the two
``--as-of`` dates takes that batch from the earlier run whole: the findings part and the state
part are hard-linked (copied across file systems) and the counts read from the record, so the
batch costs a few file reads however many homes it holds. Other batches go through
:class:`domosec.fleet.incremental.Unchanged`, home by home.

``state/run.json`` lists the SHA-256 of every state file (:func:`state_digests`); an earlier run
whose state files do not match is assessed in full.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from domosec.fleet.aggregate import Stats
from domosec.fleet.layout import FLEET_TABLES, part_file
from domosec.fleet.outdir import FINDINGS_DIR, STATE_DIR
from domosec.fleet.source import Batch, RejectRecord

RECORD_VERSION = 1
CHUNK = 1 << 20


def input_digest(batch: Batch) -> str:
    """SHA-256 over a batch's input bytes and its place in the input (not the input's path: see :func:`reuse_part`)."""
    digest = hashlib.sha256()
    place = {
        "kind": batch.kind,
        "index": batch.index,
        "part": batch.part,
        "homes": batch.homes,
        "first_line": batch.first_line,
        "duplicate_lines": batch.duplicate_lines,
        "duplicate_homes": batch.duplicate_homes,
        "oversize": batch.oversize,
    }
    digest.update(json.dumps(place, sort_keys=True).encode() + b"\0")
    if batch.kind == "parquet":
        for name in FLEET_TABLES:
            file = Path(batch.path) / part_file(name, batch.part)
            digest.update(f"{name}\0".encode())
            if file.exists():
                digest.update(b"1" + file_digest(file).encode())
            else:
                digest.update(b"0")
    elif not batch.oversize:
        with open(batch.path, "rb") as handle:
            handle.seek(batch.start)
            left = batch.end - batch.start
            while left > 0 and (chunk := handle.read(min(CHUNK, left))):
                digest.update(chunk)
                left -= len(chunk)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def record_path(outdir: Path, index: int) -> Path:
    return outdir / STATE_DIR / f"part-{index:05d}.json"


def write_record(
    outdir: Path,
    batch: Batch,
    *,
    digest: str,
    findings: Path,
    expires: list[dt.date],
    homes_in: int,
    assessed: int,
    rejects: list[RejectRecord],
    stats: Stats,
) -> None:
    """Write the batch's part record (sorted keys, no dates of the run: a full run writes the same bytes)."""
    record = {
        "version": RECORD_VERSION,
        "input": digest,
        "source": batch.path,
        "findings": file_digest(findings),
        "expires": sorted({d.isoformat() for d in expires}),
        "homes_in": homes_in,
        "assessed": assessed,
        "rejects": [r.as_json() for r in rejects],
        "stats": stats,
    }
    out = record_path(outdir, batch.index)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)


@dataclass(frozen=True)
class ReusedPart:
    """A batch taken whole from the earlier run: its counts, rejected homes and assessed homes."""

    homes_in: int
    rejects: list[RejectRecord]
    stats: Stats
    homes: list[str]


def reuse_part(
    batch: Batch, *, digest: str, since: Path, outdir: Path, dates: tuple[dt.date, dt.date], path_shown: bool
) -> ReusedPart | None:
    """Link the batch's findings and state from ``since`` into ``outdir`` when its input is unchanged; else None.

    ``dates`` are the two runs' ``--as-of`` dates, lowest first; ``path_shown`` whether a rule reads the input's
    file name (then the input's path must be the same too, as it must when the batch rejected homes).
    """
    record = read_record(since, batch.index)
    if record is None or record["input"] != digest:
        return None
    try:
        rejects = [RejectRecord(str(r["source"]), r["home_id"], tuple(map(str, r["reasons"]))) for r in record["rejects"]]
        low, high = (d.isoformat() for d in dates)
        expiring = any(low <= str(day) < high for day in record["expires"])
    except (KeyError, TypeError, ValueError):
        return None  # not a record this domosec wrote: the batch is read as any other
    if record["source"] != batch.path and (rejects or path_shown):
        return None
    if expiring:
        return None  # an acceptance ends between the runs: those homes are rated again
    findings = since / FINDINGS_DIR / f"part-{batch.index:05d}.parquet"
    state = since / STATE_DIR / f"part-{batch.index:05d}.parquet"
    if not state.is_file() or not findings.is_file() or file_digest(findings) != record["findings"]:
        return None
    rows = pq.read_table(state, columns=["home_id", "reasons"])
    homes = [
        str(h) for h, reasons in zip(rows.column("home_id").to_pylist(), rows.column("reasons").to_pylist(), strict=True) if reasons is None
    ]
    if len(homes) != record["assessed"]:
        return None
    _link(findings, outdir / FINDINGS_DIR / findings.name)
    _link(state, outdir / STATE_DIR / state.name)
    out = record_path(outdir, batch.index)
    text = json.dumps({**record, "source": batch.path}, sort_keys=True, ensure_ascii=False) + "\n"
    out.write_text(text, encoding="utf-8")
    return ReusedPart(int(record["homes_in"]), rejects, record["stats"], homes)


def read_record(since: Path, index: int) -> dict[str, Any] | None:
    try:
        record = json.loads(record_path(since, index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = {"version", "input", "source", "findings", "expires", "homes_in", "assessed", "rejects", "stats"}
    if not isinstance(record, dict) or not keys <= record.keys() or record["version"] != RECORD_VERSION:
        return None
    return record


def _link(source: Path, target: Path) -> None:
    """Hard-link an earlier run's file (never changed in place: runs replace files whole), or copy it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def state_digests(state: Path) -> dict[str, str]:
    """SHA-256 of every file in a run's ``state/`` but ``run.json`` (kept in ``run.json``)."""
    return {p.name: file_digest(p) for p in sorted(state.iterdir()) if p.is_file() and p.name.startswith("part-")}
