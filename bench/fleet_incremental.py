"""Benchmark `domosec fleet assess --since`: a night on which 1 % of the homes changed.

Generates a Parquet fleet of N homes (seed 1, parts of 5,000 homes), assesses it in full (night one),
then for each way of spreading the changes makes a copy of the fleet, changes the firmware of every
device in 1 % of its homes and times, as whole processes:

- ``spread``: every hundredth home changed, so every part holds changed homes (each part is read,
  its changed homes assessed and the part written again);
- ``clustered``: the first 1 % of the homes changed, so they fill the first parts and every other
  part is unchanged (its files are linked from night one unread);

the incremental run (``--since`` night one) and, with ``--check``, a full run of the changed fleet and
whether both outputs are byte-identical. Each run is given in wall seconds and in CPU seconds (user + system
of the process and its workers), which the other jobs of a shared machine distort far less. With
``--part-runs N`` it also times one batch in this process (``run_batch``, CPU clock, median of N after a
warm-up run): the first part of each changed fleet (a part holding changed homes) and, for ``clustered``,
the second (unchanged) part. Figures in docs/fleet.md and docs/performance.md. Run another domosec tree
with ``PYTHONPATH=OTHER/src`` (a baseline from ``git worktree add``).

    .venv/bin/python bench/fleet_incremental.py [--homes 100000] [--changed 0.01] [--workers 2] [--check]
        [--modes spread,clustered] [--part-runs 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

AS_OF = "2026-11-23"


def _timed(*args: str | Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the process and the workers it waited for) of one domosec command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "domosec", *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(wall, 1), round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1)


def _part_cpu(fleet: Path, since: Path, work: Path, parts: list[int], runs: int) -> dict[str, float]:
    """CPU seconds of ``run_batch`` on these parts of ``fleet`` with ``--since since``, in this process (median of ``runs``)."""
    from domosec.engine.ruleset import load_rules
    from domosec.engine.scoring import Matrix
    from domosec.fleet.batch import Job, run_batch
    from domosec.fleet.incremental import check_since, inputs_fingerprint
    from domosec.fleet.source import plan_batches

    rules, matrix, as_of = load_rules(), Matrix(), dt.date.fromisoformat(AS_OF)
    inputs = inputs_fingerprint(rules, matrix)
    since_as_of, note = check_since(since, inputs, as_of_now=as_of, rules=rules)
    assert note is None, note
    out = work / "part-runs"
    job = Job(rules, matrix, as_of, str(out), since=str(since), since_as_of=since_as_of, inputs=inputs)
    batches = plan_batches(fleet)
    result = {}
    for part in parts:
        shutil.rmtree(out, ignore_errors=True)
        run_batch(batches[part], job)  # warm-up: the catalogue, the rule plan and the index of the earlier run's homes
        times = []
        for _ in range(runs):
            shutil.rmtree(out, ignore_errors=True)
            start = time.process_time()
            run_batch(batches[part], job)
            times.append(time.process_time() - start)
        result[f"part_{part}_cpu_s"] = round(statistics.median(times), 3)
    shutil.rmtree(out, ignore_errors=True)
    return result


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
    parser.add_argument("--part-runs", type=int, default=0, help="also time one part in this process, median of N runs")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="domosec-incremental-"))
    work.mkdir(parents=True, exist_ok=True)
    fleet, one = work / "fleet", work / "night-one"
    for path in (fleet, one):
        shutil.rmtree(path, ignore_errors=True)
    common = ["--as-of", AS_OF, "--workers", str(args.workers)]
    result: dict[str, object] = {"homes": args.homes, "workers": args.workers, "load_average": round(os.getloadavg()[0], 1)}
    result["generate_s"] = _timed("fleet", "generate", "--homes", args.homes, "--seed", 1, "-o", fleet)[0]
    result["full_run_s"], result["full_run_cpu_s"] = _timed("fleet", "assess", fleet, "-o", one, *common)
    for mode in args.modes.split(","):
        changed, two, full = work / f"fleet-{mode}", work / f"night-two-{mode}", work / f"full-{mode}"
        for path in (changed, two, full):
            shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(fleet, changed)
        entry: dict[str, object] = {"homes_changed": _change(changed, args.homes, args.changed, mode)}
        entry["incremental_run_s"], entry["incremental_run_cpu_s"] = _timed("fleet", "assess", changed, "-o", two, "--since", one, *common)
        if args.check:
            entry["full_run_s"], entry["full_run_cpu_s"] = _timed("fleet", "assess", changed, "-o", full, *common)
            entry["byte_identical"] = _same(two, full)
        if args.part_runs:
            parts = [0, 1] if mode == "clustered" and args.homes > 5_000 else [0]
            entry |= _part_cpu(changed, one, work, parts, args.part_runs)
        result[mode] = entry
    result["load_average_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result, indent=2))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
