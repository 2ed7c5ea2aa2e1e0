"""`domosec fleet assess --since`: reusing unchanged homes gives the same bytes as assessing every home again."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.engine.scoring import Matrix
from domosec.fleet import source
from domosec.fleet.export import write_jsonl_fleet, write_parquet_fleet
from domosec.fleet.generate import generate, generate_block
from domosec.fleet.incremental import date_rules
from domosec.fleet.run import Job, RunResult, assess_fleet
from tests.conftest import run_cli

EARLIER = dt.date(2026, 6, 1)
LATER = dt.date(2026, 11, 23)
"""Half of the generated acceptances end on 2026-06-30: accepted on the earlier date, expired on the later one."""


@pytest.fixture(scope="module")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Night one's fleet, and night two's: some homes changed, one removed, one added, one made invalid."""
    first = tmp_path_factory.mktemp("incremental") / "night-one.jsonl"
    write_jsonl_fleet(generate(homes=240, seed=21), first)
    lines = first.read_text(encoding="utf-8").splitlines()
    homes = [json.loads(line) for line in lines]
    for index in (3, 77, 150, 200):
        homes[index]["devices"][0]["firmware"] = "9.9.9-new"
    homes[201]["devices"][0]["type"] = "fridge"  # rejected tonight
    added = json.loads(lines[10])
    added["system"]["id"] = "home-9999999"
    del homes[42]
    homes.insert(120, added)  # every later home moves to another batch
    second = first.parent / "night-two.jsonl"
    second.write_text("".join(json.dumps(h) + "\n" for h in homes), encoding="utf-8")
    return first, second


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def _undated() -> list[LoadedRule]:
    """The built-in rules that do not judge by the date (support periods do), so runs on two dates can share findings."""
    dated = set(date_rules(load_rules()))
    assert {"DEV-S03", "GW-S20", "SVC-S12"} <= dated
    return [lr for lr in load_rules() if lr.rule.id not in dated]


def _run(source: Path, out: Path, as_of: dt.date, **options: Any) -> int:
    """:func:`_result`'s run; the count of homes whose findings it reused."""
    return sum(o.reused for o in _result(source, out, as_of, **options).outcomes)


def _result(
    source: Path,
    out: Path,
    as_of: dt.date,
    *,
    since: Path | None = None,
    matrix: Matrix | None = None,
    rules: list[LoadedRule] | None = None,
    note: str | None = None,
) -> RunResult:
    job = Job(load_rules() if rules is None else rules, matrix or Matrix(), as_of, str(out), since=str(since) if since else None)
    result = assess_fleet(source, job, workers=1, batch_homes=60)
    assert (note or "") in (result.since_note or ""), result.since_note
    assert bool(note) == bool(result.since_note), result.since_note
    return result


def test_since_gives_the_bytes_of_a_full_run(fleets: tuple[Path, Path], tmp_path: Path) -> None:
    first, second = fleets
    rules = _undated()
    assert _run(first, tmp_path / "night-one", EARLIER, rules=rules) == 0
    reused = _run(second, tmp_path / "incremental", LATER, since=tmp_path / "night-one", rules=rules)
    _run(second, tmp_path / "full", LATER, rules=rules)
    full = _files(tmp_path / "full")
    assert "state/part-00000.parquet" in full and "findings/part-00003.parquet" in full
    assert _files(tmp_path / "incremental") == full
    summary = json.loads(full["summary.json"])
    assert summary["homes"] == {"in": 240, "assessed": 239, "rejected": 1}
    assert summary["findings"]["by_treatment"]["acceptance_expired"] > 0, "an acceptance expired between the nights"
    # Changed and added homes are assessed again, and so are unchanged homes whose acceptance expired in between.
    expiring = {
        h["system"]["id"]
        for h in map(json.loads, second.read_text(encoding="utf-8").splitlines())
        if any(EARLIER.isoformat() <= r["expires"] < LATER.isoformat() for r in h.get("accepted_risks", []))
    }
    changed = {"home-0000003", "home-0000077", "home-0000150", "home-0000200", "home-9999999"}
    assert expiring - changed and "home-0000201" not in expiring
    assert reused == 239 - len(changed | expiring)


def test_rules_that_judge_by_the_date_need_the_same_date(fleets: tuple[Path, Path], tmp_path: Path) -> None:
    first, _ = fleets
    _run(first, tmp_path / "one", EARLIER)
    assert _run(first, tmp_path / "two", LATER, since=tmp_path / "one", note="--as-of changed (2026-06-01 → 2026-11-23)") == 0
    _run(first, tmp_path / "three", LATER)
    assert _files(tmp_path / "two") == _files(tmp_path / "three")


def test_the_same_dates_reuse_every_unchanged_home(fleets: tuple[Path, Path], tmp_path: Path) -> None:
    first, _ = fleets
    _run(first, tmp_path / "one", LATER)
    assert _run(first, tmp_path / "two", LATER, since=tmp_path / "one") == 240
    assert _files(tmp_path / "two") == _files(tmp_path / "one")


def test_other_rules_or_matrix_assess_every_home(fleets: tuple[Path, Path], tmp_path: Path) -> None:
    first, _ = fleets
    _run(first, tmp_path / "one", LATER)
    other = Matrix.model_validate({**Matrix().model_dump(), "max_boost": 1})
    assert _run(first, tmp_path / "two", LATER, since=tmp_path / "one", matrix=other, note="matrix") == 0
    _run(first, tmp_path / "three", LATER, matrix=other)
    assert _files(tmp_path / "two") == _files(tmp_path / "three")


def test_since_on_the_command_line(fleets: tuple[Path, Path], tmp_path: Path) -> None:
    first, second = fleets
    assert run_cli("fleet", "assess", first, "-o", tmp_path / "one", "--as-of", str(LATER), "--workers", "1").returncode == 0
    result = run_cli(
        "fleet", "assess", second, "-o", tmp_path / "two", "--as-of", str(LATER), "--since", tmp_path / "one", "--workers", "1"
    )
    assert result.returncode == 0, result.stderr
    assert "homes' findings reused" in result.stdout
    same = run_cli("fleet", "assess", second, "-o", tmp_path / "two", "--as-of", str(LATER), "--since", tmp_path / "two", "--workers", "1")
    assert same.returncode == 0, same.stderr
    assert "239 homes' findings reused, 0 assessed" in same.stdout, "the earlier run may be the directory written to"
    refused = run_cli("fleet", "assess", second, "-o", tmp_path / "three", "--since", tmp_path / "nothing-here")
    assert refused.returncode == 2
    assert "error[since-not-a-run]" in refused.stderr
    assert not (tmp_path / "three" / "findings").exists()


def test_unchanged_batches_are_taken_whole(fleets: tuple[Path, Path], tmp_path: Path) -> None:
    """Batches 0 and 2 unchanged (2 with a rejected home), 1 with one changed home, 3 with a home removed and one added."""
    first, _ = fleets
    lines = first.read_text(encoding="utf-8").splitlines()
    homes = [json.loads(line) for line in lines]
    homes[130]["devices"][0]["type"] = "fridge"  # rejected on both nights
    fleet = tmp_path / "fleet.jsonl"  # one path for both nights, as the rejected home's source shows it
    fleet.write_text("".join(json.dumps(h) + "\n" for h in homes), encoding="utf-8")
    _run(fleet, tmp_path / "one", LATER)
    homes[70]["devices"][0]["firmware"] = "9.9.9-new"
    added = json.loads(lines[10])
    added["system"]["id"] = "home-9999999"
    del homes[230]
    homes.append(added)
    fleet.write_text("".join(json.dumps(h) + "\n" for h in homes), encoding="utf-8")
    result = _result(fleet, tmp_path / "two", LATER, since=tmp_path / "one")
    _run(fleet, tmp_path / "full", LATER)
    full = _files(tmp_path / "full")
    assert _files(tmp_path / "two") == full
    assert json.loads(full["summary.json"])["homes"] == {"in": 240, "assessed": 239, "rejected": 1}
    assert [(o.assessed, o.reused, len(o.rejects)) for o in result.outcomes] == [(60, 60, 0), (60, 59, 0), (59, 59, 1), (60, 59, 0)]
    for name in ("findings/part-00000.parquet", "findings/part-00002.parquet", "state/part-00002.parquet"):
        assert os.path.samefile(tmp_path / "one" / name, tmp_path / "two" / name), f"{name} is linked, not read and written again"
    for name in ("findings/part-00001.parquet", "findings/part-00003.parquet"):
        assert not os.path.samefile(tmp_path / "one" / name, tmp_path / "two" / name)


def test_an_older_or_changed_state_means_a_full_run(fleets: tuple[Path, Path], tmp_path: Path) -> None:
    first, _ = fleets
    _run(first, tmp_path / "one", LATER)
    older, changed = tmp_path / "older", tmp_path / "changed"
    shutil.copytree(tmp_path / "one", older)
    shutil.copytree(tmp_path / "one", changed)
    record = json.loads((older / "state" / "run.json").read_text(encoding="utf-8"))
    (older / "state" / "run.json").write_text(json.dumps({"version": 1, "as_of": record["as_of"], "inputs": record["inputs"]}))
    part = changed / "state" / "part-00001.json"
    counts = json.loads(part.read_text(encoding="utf-8"))
    counts["stats"]["findings"] += 1
    part.write_text(json.dumps(counts, sort_keys=True) + "\n", encoding="utf-8")

    assert _run(first, tmp_path / "after-older", LATER, since=older, note="state version 1, this one reads 3") == 0
    assert _run(first, tmp_path / "after-changed", LATER, since=changed, note="are not the ones the earlier run wrote") == 0
    assert _files(tmp_path / "after-older") == _files(tmp_path / "one") == _files(tmp_path / "after-changed")


Tables = dict[str, pa.Table]


def _parts(tables: Tables, homes: list[list[str]]) -> list[Tables]:
    """The tables split into parts holding these homes."""
    return [{name: t.filter(pc.is_in(t.column("home_id"), value_set=pa.array(ids))) for name, t in tables.items()} for ids in homes]


def _set_value(tables: Tables, table: str, home: str, column: str, value: str) -> None:
    """Set ``column`` of the home's first row in ``table``."""
    rows = tables[table].to_pylist()
    next(r for r in rows if r["home_id"] == home)[column] = value
    tables[table] = pa.Table.from_pylist(rows, schema=tables[table].schema)


def test_a_parquet_fleet_checks_only_the_changed_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three parts of 60 homes: unchanged homes are neither checked nor assessed, unchanged rejects keep their reasons."""
    tables = generate_block(21, 0, 180)
    ids = sorted(tables["homes"].column("home_id").to_pylist())
    _set_value(tables, "devices", ids[5], "type", "fridge")  # rejected on both nights, unchanged
    _set_value(tables, "devices", ids[70], "type", "fridge")  # rejected on both nights, for another reason tonight
    parts = _parts(tables, [ids[:60], ids[60:120], ids[120:]])
    # A copy of a home of part 0 in part 2: assessed in part 0, set aside in part 2 (each run checks it again).
    parts[2] = {
        name: pa.concat_tables([t, parts[0][name].filter(pc.equal(parts[0][name].column("home_id"), ids[7]))])
        for name, t in parts[2].items()
    }
    fleet = tmp_path / "fleet"
    write_parquet_fleet(parts, fleet)
    rules = _undated()
    assert _run(fleet, tmp_path / "one", EARLIER, rules=rules) == 0

    _set_value(parts[0], "devices", ids[10], "firmware", "9.9.9-new")
    _set_value(parts[1], "devices", ids[70], "zone_id", "attic")
    _set_value(parts[2], "devices", ids[150], "firmware", "9.9.9-new")
    shutil.rmtree(fleet)
    write_parquet_fleet(parts, fleet)
    checked: list[list[str]] = []
    find_problems = source.find_problems

    def spy(con: duckdb.DuckDBPyConnection, *args: object, **kwargs: object) -> object:
        checked.append(sorted(str(h) for (h,) in con.execute("select distinct home_id from homes").fetchall()))
        return find_problems(con, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(source, "find_problems", spy)
    result = _result(fleet, tmp_path / "two", LATER, since=tmp_path / "one", rules=rules)
    monkeypatch.undo()
    _run(fleet, tmp_path / "full", LATER, rules=rules)
    full = _files(tmp_path / "full")
    assert _files(tmp_path / "two") == full

    rejects = [json.loads(line) for line in full["rejects.jsonl"].decode().splitlines()]
    assert [(r["home_id"], r["source"].rsplit("/", 2)[-2:]) for r in rejects] == [
        (ids[5], ["homes", "part-00000.parquet"]),
        (ids[70], ["homes", "part-00001.parquet"]),
        (ids[7], ["homes", "part-00002.parquet"]),
    ]
    assert any("zone 'attic' is not defined" in reason for reason in rejects[1]["reasons"])
    assert "the same home is in part 00000" in rejects[2]["reasons"][0]
    # Homes whose acceptance ended between the nights are rated again; every other unchanged home is taken out unchecked.
    expiring = {
        str(h)
        for h, day in zip(
            tables["accepted_risks"].column("home_id").to_pylist(), tables["accepted_risks"].column("expires").to_pylist(), strict=True
        )
        if EARLIER <= day < LATER
    }
    assert expiring and not expiring & {ids[5], ids[7], ids[10], ids[70], ids[150]}
    assert checked == [
        sorted({ids[10]} | {h for h in expiring if h in ids[:60]}),
        sorted({ids[70]} | {h for h in expiring if h in ids[60:120]}),
        sorted({ids[7], ids[150]} | {h for h in expiring if h in ids[120:]}),
    ]
    assert [(o.assessed, o.reused, len(o.rejects)) for o in result.outcomes] == [
        (59, 59 - len(checked[0]), 1),
        (59, 59 - len(checked[1]) + 1, 1),
        (60, 60 - len(checked[2]) + 1, 1),
    ]

    # Night three: the home leaves part 0, so its copy in part 2 is no longer a second copy and is assessed there.
    parts[0] = {name: t.filter(pc.not_equal(t.column("home_id"), ids[7])) for name, t in parts[0].items()}
    _set_value(parts[2], "devices", ids[150], "firmware", "9.9.9-newer")
    shutil.rmtree(fleet)
    write_parquet_fleet(parts, fleet)
    _run(fleet, tmp_path / "three", LATER, since=tmp_path / "two", rules=rules)
    _run(fleet, tmp_path / "three-full", LATER, rules=rules)
    full = _files(tmp_path / "three-full")
    assert _files(tmp_path / "three") == full
    assert ids[7] not in full["rejects.jsonl"].decode()


def test_since_on_spark_gives_the_files_of_a_full_run(tmp_path: Path, spark: Any) -> None:
    """Spark tasks run the same batch code: a --since run on Spark writes what a full DuckDB run writes."""
    tables = generate_block(22, 0, 120)
    ids = sorted(tables["homes"].column("home_id").to_pylist())
    fleet = tmp_path / "fleet"
    write_parquet_fleet(_parts(tables, [ids[:60], ids[60:]]), fleet)
    _run(fleet, tmp_path / "one", LATER)
    _set_value(tables, "devices", ids[3], "firmware", "9.9.9-new")
    shutil.rmtree(fleet)
    write_parquet_fleet(_parts(tables, [ids[:60], ids[60:]]), fleet)
    job = Job(load_rules(), Matrix(), LATER, str(tmp_path / "two"), since=str(tmp_path / "one"))
    result = assess_fleet(fleet, job, engine="spark", spark_session=spark)
    assert [o.reused for o in result.outcomes] == [59, 60], "part 0 reuses its unchanged homes, part 1 is taken whole"
    _run(fleet, tmp_path / "full", LATER)
    on_spark, full = _files(tmp_path / "two"), _files(tmp_path / "full")
    summaries = [json.loads(files.pop("summary.json")) for files in (on_spark, full)]
    assert [s.pop("engine") for s in summaries] == ["spark", "duckdb"]
    assert summaries[0] == summaries[1]
    assert {k: v for k, v in on_spark.items() if k != "summary.html"} == {k: v for k, v in full.items() if k != "summary.html"}
