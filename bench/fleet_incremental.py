"""Benchmark `domosec fleet assess --since`: a night on which 1 % of the homes changed.

Generates a Parquet fleet of N homes (seed 1, parts of 5,000 homes), assesses it in full (night one),
then for each way of spreading the changes makes a copy of the fleet, changes the firmware of every
device in 1 % of its homes and times, as whole processes:

- ``spread``: every hundredth home changed, so every part holds changed homes (each part is read,
  its changed homes assessed and the part written again);
- ``clustered``: the first 1 % of the homes changed, so they fill the first parts and every other
  part is unchanged (its files are linked from night one unread);

the incremental run (``--since`` night one) and, with ``--check``, a full run of the changed fleet and
whether both outputs are byte-identical. Figures in docs/fleet.md and docs/performance.md. Run another
domosec tree with ``PYTHONPATH=OTHER/src`` (a baseline from ``git worktree add``).

    .venv/bin/python bench/fleet_incremental.py [--homes 100000] [--changed 0.01] [--workers 2] [--check]
        [--modes spread,clustered] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

AS_OF = "2026-11-23"


def _timed(*args: str | Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "domosec", *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _change(fleet: Path, homes: int, share: float, mode: str) -> int:
    """New firmware on every device of the changed homes; returns how many homes changed."""
    every = round(1 / share)
    changed = set()
    for part in sorted((fleet / "devices").glob("part-*.parquet")):
        table = pq.read_table(part)
        number = pc.cast(pc.utf8_slice_codeunits(table.column("home_id"), 5), pa.int64())
        mask = pc.equal(pc.remainder(number, every), 0) if mode == "spread" else pc.less(number, round(homes * share))
        if not pc.any(mask).as_py():
            continue  # the part's files stay as they are
        changed.update(pc.filter(table.column("home_id"), mask).to_pylist())
        firmware = pc.if_else(mask, pa.scalar("9.9.9-bench"), table.column("firmware"))
        pq.write_table(table.set_column(table.schema.get_field_index("firmware"), "firmware", firmware), part, compression="zstd")
    return len(changed)


def _same(a: Path, b: Path) -> bool:
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}

    return files(a) == files(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--homes", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of homes changed (default 1 %%)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="also run each changed fleet in full and compare the bytes")
    parser.add_argument("--modes", default="spread,clustered", help="which changes to time (spread, clustered)")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="domosec-incremental-"))
    work.mkdir(parents=True, exist_ok=True)
    fleet, one = work / "fleet", work / "night-one"
    for path in (fleet, one):
        shutil.rmtree(path, ignore_errors=True)
    common = ["--as-of", AS_OF, "--workers", str(args.workers)]
    result: dict[str, object] = {"homes": args.homes, "workers": args.workers, "load_average": round(os.getloadavg()[0], 1)}
    result["generate_s"] = round(_timed("fleet", "generate", "--homes", args.homes, "--seed", 1, "-o", fleet), 1)
    result["full_run_s"] = round(_timed("fleet", "assess", fleet, "-o", one, *common), 1)
    for mode in args.modes.split(","):
        changed, two, full = work / f"fleet-{mode}", work / f"night-two-{mode}", work / f"full-{mode}"
        for path in (changed, two, full):
            shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(fleet, changed)
        entry: dict[str, object] = {"homes_changed": _change(changed, args.homes, args.changed, mode)}
        entry["incremental_run_s"] = round(_timed("fleet", "assess", changed, "-o", two, "--since", one, *common), 1)
        if args.check:
            entry["full_run_s"] = round(_timed("fleet", "assess", changed, "-o", full, *common), 1)
            entry["byte_identical"] = _same(two, full)
        result[mode] = entry
    result["load_average_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result, indent=2))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
