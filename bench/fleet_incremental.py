"""Benchmark `domosec fleet assess --since`: a night on which 1 % of the homes changed.

Generates a Parquet fleet of N homes (seed 1), assesses it in full (night one), changes the firmware
of every device in 1 % of the homes (every hundredth home), and times, as whole processes:

- the incremental run (`--since` night one), and
- with `--check`, a full run of the changed fleet, and whether both outputs are byte-identical.

Generating, the full run and the incremental run are each timed (wall seconds). Figures in docs/fleet.md.

    .venv/bin/python bench/fleet_incremental.py [--homes 100000] [--changed 0.01] [--workers 2] [--check] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
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


def _change(fleet: Path, every: int) -> int:
    """New firmware on every device of each ``every``-th home; returns how many homes changed."""
    changed = set()
    for part in sorted((fleet / "devices").glob("part-*.parquet")):
        table = pq.read_table(part)
        number = pc.cast(pc.utf8_slice_codeunits(table.column("home_id"), 5), pa.int64())
        mask = pc.equal(pc.remainder(number, every), 0)
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
    parser.add_argument("--check", action="store_true", help="also run the changed fleet in full and compare the bytes")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="domosec-incremental-"))
    work.mkdir(parents=True, exist_ok=True)
    fleet, one, two, full = work / "fleet", work / "night-one", work / "night-two", work / "full"
    for path in (fleet, one, two, full):
        shutil.rmtree(path, ignore_errors=True)
    common = ["--as-of", AS_OF, "--workers", str(args.workers)]
    result: dict[str, object] = {"homes": args.homes, "workers": args.workers}
    result["generate_s"] = round(_timed("fleet", "generate", "--homes", args.homes, "--seed", 1, "-o", fleet), 1)
    result["full_run_s"] = round(_timed("fleet", "assess", fleet, "-o", one, *common), 1)
    result["homes_changed"] = _change(fleet, round(1 / args.changed))
    result["incremental_run_s"] = round(_timed("fleet", "assess", fleet, "-o", two, "--since", one, *common), 1)
    if args.check:
        result["full_run_changed_s"] = round(_timed("fleet", "assess", fleet, "-o", full, *common), 1)
        result["byte_identical"] = _same(two, full)
    print(json.dumps(result, indent=2))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
