"""Write fleets: as a Parquet fleet directory (one part per batch) or as JSON Lines (one model per line).

Both writers fill a temporary sibling and rename it at the end, so a failed run never leaves
half a fleet behind. ``convert`` goes from one form to the other; a home that is not a valid
model stops the conversion with its reasons (nothing is dropped silently).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from domosec.catalog.load import load_catalogue
from domosec.errors import Diagnostic, InputError
from domosec.fleet.layout import FLEET_TABLES, part_file
from domosec.fleet.models import models_from_tables
from domosec.fleet.source import plan_batches, read_batch
from domosec.output_file import check_output_file, output_file_problems, output_problem

Progress = Callable[[int], None]


def write_parquet_fleet(parts: Iterable[dict[str, pa.Table]], out: Path, *, progress: Progress | None = None) -> int:
    """Write each part's tables as ``<table>/part-NNNNN.parquet``; returns the number of homes.

    ``out`` may be new, empty, or an earlier fleet, which is replaced; a directory holding anything
    else is refused before any home is made, so that no file of the user's is removed.
    """
    check_fleet_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    homes = 0
    try:
        for index, tables in enumerate(parts):
            for name in FLEET_TABLES:
                path = tmp / part_file(name, index)
                path.parent.mkdir(exist_ok=True)
                pq.write_table(tables[name], path, compression="zstd")
            homes += tables["homes"].num_rows
            if progress:
                progress(tables["homes"].num_rows)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return homes


def check_fleet_output(out: Path) -> None:
    """Raise :class:`InputError` unless ``out`` is free for a Parquet fleet: absent, empty, or an earlier fleet."""
    if out.exists() and not out.is_dir():
        raise InputError([output_problem(out, "output-not-a-directory", "is a file; a Parquet fleet is a directory")])
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if not (p.is_dir() and p.name in FLEET_TABLES))
        if others:
            shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            message = f"holds {shown}, which no fleet has; give a new or empty directory, or an earlier fleet to replace"
            raise InputError([output_problem(out, "output-not-a-fleet", message)])
    problems = output_file_problems(out.with_name(f".{out.name}.tmp"))  # the fleet is made beside `out`, then renamed
    if problems:
        raise InputError([output_problem(out, p.code, p.message) for p in problems])


def write_jsonl_fleet(parts: Iterable[dict[str, pa.Table]], out: Path, *, progress: Progress | None = None) -> int:
    """Write one model per line, in the order of the homes; returns the number of homes."""
    check_output_file(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    homes = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for tables in parts:
                for model in models_from_tables(tables):
                    handle.write(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n")
                    homes += 1
                if progress:
                    progress(tables["homes"].num_rows)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return homes


def read_valid_parts(source: Path, *, part_homes: int) -> Iterable[dict[str, pa.Table]]:
    """The parts of a fleet (directory or JSON Lines); raises :class:`InputError` on the first batch with invalid homes."""
    cat = load_catalogue()
    for batch in plan_batches(source, batch_homes=part_homes):
        data = read_batch(batch, cat)
        if data.rejects:
            raise InputError(
                [
                    Diagnostic(r.source, None, None, "invalid-home", f"home {r.home_id or '?'}: {'; '.join(r.reasons)}")
                    for r in data.rejects[:20]
                ]
            )
        yield data.tables


def convert(source: Path, out: Path, *, to: str, part_homes: int = 5_000, progress: Progress | None = None) -> int:
    """Convert a fleet between a Parquet directory and JSON Lines; returns the number of homes."""
    parts = read_valid_parts(source, part_homes=part_homes)
    if to == "parquet":
        return write_parquet_fleet(parts, out, progress=progress)
    return write_jsonl_fleet(parts, out, progress=progress)
