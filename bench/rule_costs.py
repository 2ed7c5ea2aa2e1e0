"""What each rule query costs over a fleet batch, and proof that a rewrite of a rule finds the same rows.

Two fleets are built in ``--workdir`` on first use: a generated one (``--homes``, seed 1, one part per
5,000 homes) and one home per rule example and example model (every ``.fail.yaml``/``.pass.yaml`` and
``examples/*.yaml``, so every rule has rows to compare). Every rule runs over each batch as the fleet
engine runs it (one DuckDB thread, after the engine views); the time is CPU time (``time.process_time``,
so other work on a shared machine does not count), the minimum of ``--repeat`` runs on the generated fleet,
summed over its batches.

    # before rewriting rules: keep every rule's rows and times
    .venv/bin/python bench/rule_costs.py snapshot BASELINE_DIR [RULE_ID ...]
    # after: the same rows? (exit 1 if any rule differs) and the times before -> after
    .venv/bin/python bench/rule_costs.py compare BASELINE_DIR [RULE_ID ...]
    # the rules in shared plans (domosec.engine.plans): each rule's rows against the baseline taken alone, the
    # fleet engine's inserted rows against its rule-by-rule inserts, and the CPU time of both
    .venv/bin/python bench/rule_costs.py compare BASELINE_DIR --shared
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from ruamel.yaml import YAML

from domosec.catalog.load import load_catalogue
from domosec.engine import plans
from domosec.engine.database import Database, QueryClock
from domosec.engine.ruleset import builtin_rules_dir, load_rules
from domosec.engine.scoring import Matrix
from domosec.fleet.engine import RulePlan, _run_rule, _run_shared
from domosec.fleet.source import open_batch, plan_batches
from domosec.fleet.validate import check_queries

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 23)


def domosec(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).with_name("domosec")), *args], check=True, capture_output=True)


def build_fleets(workdir: Path, homes: int) -> tuple[Path, Path]:
    generated = workdir / f"generated-{homes}"
    if not (generated / "homes").is_dir():
        domosec("fleet", "generate", "--homes", str(homes), "--seed", "1", "-o", str(generated))
    examples = workdir / "examples"
    if not (examples / "homes").is_dir():
        rules_dir = builtin_rules_dir()
        files = [
            *sorted(rules_dir.rglob("*.fail.yaml")),
            *sorted(rules_dir.rglob("*.pass.yaml")),
            *sorted((ROOT / "examples").glob("*.yaml")),
        ]
        lines = []
        for file in files:
            doc = YAML(typ="safe").load(file.read_text(encoding="utf-8"))
            # Named after the file (rule IDs and example names are unique), so adding an example renames no other home.
            doc["system"]["id"] = "ex-" + file.name.removesuffix(".yaml").replace(".", "-")
            lines.append(json.dumps(doc, default=str))
        jsonl = workdir / "examples.jsonl"
        jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
        domosec("fleet", "export", str(jsonl), "-o", str(examples))
    return generated, examples


def _as_lines(columns: list[str], rows: list[tuple[object, ...]] | list[dict[str, object]]) -> list[str]:
    return [json.dumps(row if isinstance(row, dict) else dict(zip(columns, row, strict=True)), default=str, sort_keys=True) for row in rows]


def run_shared(con: duckdb.DuckDBPyConnection, plan: RulePlan, rows: dict[str, list[str]], repeat: int) -> tuple[float, float, bool]:
    """One batch's rows of every rule from shared plans; CPU seconds of the fleet inserts alone and shared; same inserts?"""
    rules = plan.rules
    with QueryClock(600) as clock:
        for group in plans.groups(rules):
            queries = [rules[i].rule.query for i in group]
            for index, result in zip(group, plans.run_group(con, clock, queries, 10**9), strict=True):
                if isinstance(result, Exception):
                    sys.exit(f"{rules[index].rule.id}: {result}")
                rows[rules[index].rule.id] += _as_lines(result.columns, result.records)
        db = Database.__new__(Database)
        db.con, db.row_limit = con, 10**9
        con.execute(f"create or replace temp table fleet_raw as select * from ({FLEET_RAW}) limit 0")
        inserted: list[list[tuple[object, ...]]] = []
        best = [float("inf"), float("inf")]
        for _ in range(repeat):
            for way in (0, 1):
                con.execute("delete from fleet_raw")
                start = time.process_time()
                if way == 0:
                    for lr in rules:
                        _run_rule(db, plan, lr, clock)
                elif not _run_shared(db, plan, clock):
                    sys.exit("the shared plans failed")
                best[way] = min(best[way], time.process_time() - start)
                inserted.append(sorted(con.execute("select * from fleet_raw").fetchall(), key=repr))
    return best[0], best[1], all(rows == inserted[0] for rows in inserted)


FLEET_RAW = (
    "select ''::varchar as rule_id, ''::varchar as home_id, ''::varchar as asset_kind, ''::varchar as asset_id, ''::varchar as reason, "
    "''::varchar as detail_key, 0::integer as likelihood_adjust, 0::integer as impact_adjust, ''::varchar as explain, true as verified"
)


def run(
    fleets: list[tuple[Path, bool]], ids: list[str], repeat: int, shared: bool = False
) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Each rule's rows (as sorted JSON lines) over every fleet, and its CPU time over the timed ones."""
    cat = load_catalogue()
    rules = [lr for lr in load_rules() if not ids or lr.rule.id in ids]
    missing = sorted(set(ids) - {lr.rule.id for lr in rules})
    if missing:
        sys.exit(f"no such rule: {', '.join(missing)}")
    plan = RulePlan(rules, Matrix(), cat)
    queries = check_queries(cat)
    rows: dict[str, list[str]] = {lr.rule.id: [] for lr in rules}
    seconds: dict[str, float] = dict.fromkeys(rows, 0.0)
    for fleet, timed in fleets:
        for batch in plan_batches(fleet):
            con = open_batch(batch, cat, queries).con
            for name, table in plan.rule_tables().items():
                con.register(f"_arrow_{name}", table)
                con.execute(f"create table {name} as select * from _arrow_{name}")
            Database.from_connection(con, as_of=AS_OF)
            if shared:
                alone, together, same = run_shared(con, plan, rows, repeat if timed else 1)
                print(
                    f"{fleet.name} {batch.index}: fleet inserts rule by rule {alone:.3f} s, shared {together:.3f} s CPU, "
                    f"{'same rows' if same else 'DIFFERENT ROWS'}"
                )
                if timed:
                    seconds["rule by rule"] = seconds.get("rule by rule", 0.0) + alone
                    seconds["shared"] = seconds.get("shared", 0.0) + together
                if not same:
                    sys.exit(1)
                con.close()
                continue
            for lr in rules:
                best = float("inf")
                for _ in range(repeat if timed else 1):
                    start = time.process_time()
                    con.execute(f"create or replace temp table _rule_rows as {lr.rule.query}")
                    best = min(best, time.process_time() - start)
                if timed:
                    seconds[lr.rule.id] += best
                cursor = con.execute("select * from _rule_rows")
                rows[lr.rule.id] += _as_lines([d[0] for d in cursor.description or []], cursor.fetchall())
            con.close()
    return {k: sorted(v) for k, v in rows.items()}, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["snapshot", "compare"])
    parser.add_argument("baseline", type=Path, help="folder for each rule's rows and CPU time")
    parser.add_argument("rules", nargs="*", help="rule IDs (default: every built-in rule)")
    parser.add_argument("--homes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(".bench-rule-costs"))
    parser.add_argument("--shared", action="store_true", help="compare: take each rule's rows from the shared plans")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    generated, examples = build_fleets(args.workdir, args.homes)
    rows, seconds = run([(generated, True), (examples, False)], args.rules, args.repeat, args.shared and args.mode == "compare")
    if "shared" in seconds:
        together, alone = seconds.pop("shared"), seconds.pop("rule by rule")
        print(f"fleet inserts over {args.homes:,} generated homes: rule by rule {alone:.3f} s, shared {together:.3f} s CPU")
        seconds = dict.fromkeys(rows, float("nan"))
    args.baseline.mkdir(parents=True, exist_ok=True)
    differ = 0
    print(f"CPU time (min of {args.repeat} runs) per rule over {args.homes:,} generated homes")
    for rule_id in sorted(rows, key=lambda r: -seconds[r]):
        rows_file, time_file = args.baseline / f"{rule_id}.jsonl", args.baseline / f"{rule_id}.seconds"
        if args.mode == "snapshot":
            rows_file.write_text("\n".join(rows[rule_id]), encoding="utf-8")
            time_file.write_text(f"{seconds[rule_id]}\n", encoding="utf-8")
            print(f"{rule_id:<10} {seconds[rule_id] * 1000:8.1f} ms  {len(rows[rule_id]):>8,} rows")
            continue
        text = rows_file.read_text(encoding="utf-8") if rows_file.exists() else None
        before = text.split("\n") if text else []
        same = text is not None and before == rows[rule_id]
        differ += not same
        was = float(time_file.read_text(encoding="utf-8")) * 1000 if time_file.exists() else float("nan")
        verdict = "same rows" if same else "DIFFERENT"
        now = "  (shared)" if math.isnan(seconds[rule_id]) else f"{seconds[rule_id] * 1000:8.1f} ms"
        print(f"{rule_id:<10} {verdict:<9} {len(rows[rule_id]):>8,} rows  {was:8.1f} -> {now}")
        if not same and text is not None:
            print("  only now:     ", sorted(set(rows[rule_id]) - set(before))[:3])
            print("  only before:  ", sorted(set(before) - set(rows[rule_id]))[:3])
    if not math.isnan(sum(seconds.values())):
        print(f"total {sum(seconds.values()) * 1000:.1f} ms CPU over {args.homes:,} generated homes")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
