"""Where a fleet batch's time goes: each step of one batch timed on its own, with the costliest rules.

It runs the same functions `domosec fleet assess` runs for a batch (load the Parquet part, check
every home, materialise the engine views, the rule queries, rating and sorting, the counts,
writing the findings part), one DuckDB thread, and prints the median CPU seconds of each step over
``--runs`` runs, its share, the same step on a ten-home batch (what every batch pays, whatever its size),
and the ten rules that cost most. It also times the least any engine would
pay for the same input and output (reading the part's tables into Arrow, writing the findings
uncompressed, computing their SHA-256 IDs), against the CPU the speed target leaves for a batch.
Figures are in docs/performance.md.

    .venv/bin/python bench/fleet_stages.py [--homes 5000] [--runs 3] [--workdir DIR] [--solo]

The rule queries run in shared plans (:mod:`domosec.engine.plans`), as the engine runs them; ``--solo``
runs them one by one instead, as before shared plans, and lists the costliest rules.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from domosec.catalog.load import load_catalogue
from domosec.engine.database import Database, QueryClock
from domosec.engine.ruleset import load_rules
from domosec.engine.scoring import Matrix
from domosec.fleet import engine, rating
from domosec.fleet.aggregate import batch_stats
from domosec.fleet.layout import FLEET_TABLES, part_file
from domosec.fleet.source import _load_parquet, plan_batches
from domosec.fleet.validate import check_queries, drop_rejected, find_problems

AS_OF = dt.date(2026, 11, 23)
FIXED_HOMES = 10
SOLO = False
"""``--solo``: the rule queries one by one (as before shared plans), each timed, instead of in shared plans."""


def one_run(root: Path, times: dict[str, list[float]], rule_times: dict[str, list[float]], floors: dict[str, list[float]]) -> int:
    import duckdb

    cat = load_catalogue()
    rules = load_rules()
    plan = engine.RulePlan(rules, Matrix(), cat)
    queries = check_queries(cat)
    batch = plan_batches(root)[0]
    con = duckdb.connect(":memory:")
    con.execute("set threads = 1")
    con.execute("set enable_progress_bar = false")

    def step(name: str, work: Callable[[], Any]) -> Any:
        start = time.process_time()
        result = work()
        times[name].append(time.process_time() - start)
        return result

    def load() -> None:
        for name, spec in FLEET_TABLES.items():
            _load_parquet(con, root / part_file(name, batch.part), name, spec.schema())

    def check() -> None:
        rejects, _ = find_problems(con, cat, queries)
        drop_rejected(con, rejects)

    def views() -> Database:
        for name, table in plan.rule_tables().items():
            con.register(f"_arrow_{name}", table)
            con.execute(f"create table {name} as select * from _arrow_{name}")
            con.unregister(f"_arrow_{name}")
        return Database.from_connection(con, as_of=AS_OF)

    step("load the Parquet part", load)
    step("check every home", check)
    db = step("materialise the engine views", views)
    con.execute(
        "create table fleet_raw (rule_id varchar, home_id varchar, asset_kind varchar, asset_id varchar, reason varchar, "
        "detail_key varchar, likelihood_adjust integer, impact_adjust integer, explain varchar, verified boolean)"
    )
    for lr in rules:  # column lists are learnt once per worker; not timed
        described = con.execute(f"select * from ({lr.rule.query}) as r limit 0")
        plan.columns[lr.rule.id] = [d[0] for d in described.description or []]
        described.fetchall()

    def run_rules() -> None:
        with QueryClock(engine.BATCH_TIME_LIMIT_S) as clock:
            if not SOLO:
                if not engine._run_shared(db, plan, clock):
                    sys.exit("the shared plans failed")
                return
            for lr in rules:
                start = time.process_time()
                engine._run_rule(db, plan, lr, clock)
                rule_times[lr.rule.id].append(time.process_time() - start)

    step("the rule queries", run_rules)

    def rate() -> Any:
        findings = engine.sort_table(engine.db_fetch(db, rating.rating_sql(plan.matrix)).cast(engine.FINDINGS_SCHEMA), engine.SORT_KEYS)
        engine._check_unique(con, plan, findings)
        con.register("fleet_findings", findings)
        return findings

    findings = step("rating, IDs, treatment; sort and fetch", rate)

    def counts() -> None:
        con.register("fleet_contradicted", engine.db_fetch(db, rating.contradicted_sql(cat)))
        batch_stats(con, findings)

    step("contradicted controls and batch counts", counts)
    with tempfile.TemporaryDirectory() as out:
        step("write the findings part (zstd)", lambda: pq.write_table(findings, Path(out) / "part.parquet", compression="zstd"))
        # The least any engine pays for the same input and output: read the part's tables as Arrow, write the
        # findings without compression, compute the SHA-256 finding IDs.
        floors["read the part's tables (pyarrow, one thread)"].append(
            _cpu(
                lambda: [
                    pq.read_table(root / part_file(name, batch.part), use_threads=False)
                    for name in FLEET_TABLES
                    if (root / part_file(name, batch.part)).exists()
                ]
            )
        )
        floors["write the findings uncompressed"].append(
            _cpu(lambda: pq.write_table(findings, Path(out) / "plain.parquet", compression="none"))
        )
        floors["SHA-256 of the finding keys"].append(_cpu(lambda: con.sql("select max(sha256(key)) from fleet_findings").fetchall()))
    con.close()
    return int(findings.num_rows)


def _cpu(work: Callable[[], Any]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def _fleet(workdir: Path, homes: int) -> Path:
    """A generated fleet of ``homes`` homes in one part (built once in ``workdir``)."""
    root = workdir / f"stages-{homes}"
    if not (root / "homes").is_dir():
        domosec = Path(sys.executable).with_name("domosec")
        part_homes = max(1, -(-homes // 5_000)) * 5_000  # the generator's parts hold a multiple of 5,000 homes
        command = [
            str(domosec),
            "fleet",
            "generate",
            "--homes",
            str(homes),
            "--seed",
            "1",
            "--part-homes",
            str(part_homes),
            "-o",
            str(root),
        ]
        subprocess.run(command, check=True, capture_output=True)
    return root


def _measure(root: Path, runs: int) -> tuple[dict[str, float], dict[str, list[float]], dict[str, list[float]], int]:
    times: dict[str, list[float]] = defaultdict(list)
    rule_times: dict[str, list[float]] = defaultdict(list)
    floors: dict[str, list[float]] = defaultdict(list)
    findings = 0
    for _ in range(runs):
        findings = one_run(root, times, rule_times, floors)
    return {name: statistics.median(values) for name, values in times.items()}, rule_times, floors, findings


def main() -> None:
    # As the engine's worker processes do (fleet/batch.py): Arrow memory from the C library's allocator, which keeps
    # the pages one batch frees for the next.
    pa.set_memory_pool(pa.system_memory_pool())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--solo", action="store_true", help="run the rules one by one (and list the costliest)")
    args = parser.parse_args()
    global SOLO
    SOLO = args.solo
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        medians, rule_times, floors, findings = _measure(_fleet(workdir, args.homes), args.runs)
        # The same steps on a batch of ten homes: what every batch pays whatever its size (planning and starting
        # 150+ queries, creating the tables and views), so the rest of each step grows with the homes.
        fixed, _, _, _ = _measure(_fleet(workdir, FIXED_HOMES), args.runs)
    total = sum(medians.values())
    fixed_total = sum(fixed.values())
    print(f"one batch of {args.homes:,} homes, {findings:,} findings; median CPU seconds of {args.runs} runs, one DuckDB thread")
    print(f"{'step':<45} {'s':>7} {'share':>6} {f'{FIXED_HOMES} homes':>9}")
    for name, value in medians.items():
        print(f"{name:<45} {value:7.2f} {value / total:6.0%} {fixed[name]:9.2f}")
    print(f"{'total':<45} {total:7.2f} {'':6} {fixed_total:9.2f}   ({total / args.homes * 1000:.2f} ms per home)")
    if args.homes > FIXED_HOMES:
        print(
            f"a batch's fixed cost (the same steps on {FIXED_HOMES} homes) is {fixed_total:.2f} s; "
            f"each further home costs {(total - fixed_total) / (args.homes - FIXED_HOMES) * 1000:.2f} ms"
        )
    print("the least any engine pays for this input and output (CPU seconds, median and min):")
    for name, values in floors.items():
        print(f"  {name:<43} {statistics.median(values):7.2f} {min(values):6.2f}")
    budget = 2 / 8_000 * args.homes
    together = sum(statistics.median(v) for v in floors.values()), sum(min(v) for v in floors.values())
    print(
        f"  {'together':<43} {together[0]:7.2f} {together[1]:6.2f}   "
        f"(8,000 homes/s on 2 cores leaves {budget:.2f} s of CPU for {args.homes:,} homes)"
    )
    print("costliest rules (median CPU ms):")
    ranked = sorted(((statistics.median(v), k) for k, v in rule_times.items()), reverse=True)
    for value, rule_id in ranked[:10]:
        print(f"  {rule_id:<10} {value * 1000:7.1f}")


if __name__ == "__main__":
    main()
