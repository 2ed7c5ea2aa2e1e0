"""`domosec fleet` as a user runs it: generate, export, assess (with rejects), diff, progress on a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from domosec.fleet.layout import part_file
from tests.conftest import ROOT, run_cli
from tests.fleet.conftest import generate_jsonl

AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_jsonl(tmp_path_factory, homes=150, seed=9)


def _findings(run: Path) -> list[tuple[object, ...]]:
    return duckdb.sql(f"select * from read_parquet('{run}/findings/*.parquet') order by finding_id").fetchall()


def test_a_home_line_over_the_size_limit_is_rejected_unread_and_the_rest_assessed(jsonl: Path, tmp_path: Path) -> None:
    from domosec.fleet.source import MAX_HOME_BYTES

    lines = jsonl.read_text(encoding="utf-8").splitlines()[:4]
    huge = json.loads(lines[1])
    huge["system"]["name"] = "x" * (MAX_HOME_BYTES + 1)
    mixed = tmp_path / "huge.jsonl"
    mixed.write_text("\n".join([lines[0], json.dumps(huge), *lines[2:]]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("fleet", "assess", mixed, "-o", out, "--as-of", AS_OF, "--batch-homes", "2", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "4 homes in: 3 assessed, 1 rejected" in result.stdout
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rejects) == 1 and rejects[0]["source"].endswith(":2") and rejects[0]["home_id"] is None
    assert f"over the limit of {MAX_HOME_BYTES:,} bytes for one home" in rejects[0]["reasons"][0]
    homes = {row[0] for row in duckdb.sql(f"select distinct home_id from read_parquet('{out}/findings/*.parquet')").fetchall()}
    assert homes == {json.loads(line)["system"]["id"] for line in (lines[0], *lines[2:])}


def test_export_converts_both_ways_without_loss(jsonl: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "fleet"
    assert run_cli("fleet", "export", jsonl, "-o", parquet, "--part-homes", "60").returncode == 0
    assert sorted(p.name for p in (parquet / "homes").iterdir()) == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    back = tmp_path / "back.jsonl"
    result = run_cli("fleet", "export", parquet, "-o", back)
    assert result.returncode == 0, result.stderr
    assert back.read_text(encoding="utf-8") == jsonl.read_text(encoding="utf-8")


def test_assess_sets_bad_homes_aside_and_counts_every_home(jsonl: Path, tmp_path: Path) -> None:
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[5])
    broken["devices"][0]["type"] = "fridge"
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([*lines[:5], json.dumps(broken), *lines[6:], "{not json", "", lines[0]]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("fleet", "assess", mixed, "-o", out, "--as-of", AS_OF, "--batch-homes", "50", "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert "152 homes in: 149 assessed, 3 rejected" in result.stdout
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["source"].rsplit(":", 1)[1], r["home_id"]) for r in rejects] == [
        ("6", "home-0000005"),
        ("151", None),
        ("153", "home-0000000"),
    ]
    assert "devices[0].type: 'fridge' is not a known device type" in rejects[0]["reasons"][0]
    assert rejects[1]["reasons"][0].startswith("invalid JSON")
    assert "also used on line 1" in rejects[2]["reasons"][0]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["homes"] == {"in": 152, "assessed": 149, "rejected": 3}
    assert sum(summary["homes_by_worst_level"].values()) == 149
    homes = {row[0] for row in duckdb.sql(f"select distinct home_id from read_parquet('{out}/findings/*.parquet')").fetchall()}
    assert "home-0000005" not in homes and len(homes) == 149
    assert len(list((out / "findings").glob("part-*.parquet"))) == 4
    top = summary["equipment"][0]
    assert top["risk"] >= summary["equipment"][-1]["risk"] and top["units"] >= top["units_affected"] > 0
    html = (out / "summary.html").read_text(encoding="utf-8")
    assert "Device models and firmware, ranked by the risk they carry" in html and top["model"] in html


def test_parquet_and_jsonl_inputs_give_the_same_findings(jsonl: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "fleet"
    assert run_cli("fleet", "export", jsonl, "-o", parquet, "--part-homes", "75").returncode == 0
    for source, out in ((jsonl, tmp_path / "a"), (parquet, tmp_path / "b")):
        assert run_cli("fleet", "assess", source, "-o", out, "--as-of", AS_OF, "--workers", "2").returncode == 0
    assert _findings(tmp_path / "a") == _findings(tmp_path / "b")
    assert (tmp_path / "a" / "summary.json").read_text() == (tmp_path / "b" / "summary.json").read_text()


def test_diff_reports_new_and_resolved_findings(jsonl: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    assert run_cli("fleet", "assess", jsonl, "-o", old, "--as-of", "2025-01-01", "--workers", "1").returncode == 0
    assert run_cli("fleet", "assess", jsonl, "-o", new, "--as-of", "2029-01-01", "--workers", "1").returncode == 0
    report = tmp_path / "diff.json"
    result = run_cli("fleet", "diff", old, new, "-o", report)
    assert result.returncode == 0, result.stderr
    diff = json.loads(report.read_text(encoding="utf-8"))
    by_rule = {r["rule_id"]: r for r in diff["rules"]}
    # More products are past their support end in 2029: new end-of-support findings, none resolved.
    assert by_rule["DEV-S03"]["new"] > 0 and by_rule["DEV-S03"]["resolved"] == 0
    assert diff["totals"]["new"] == sum(r["new"] for r in diff["rules"])
    assert diff["equipment"] and all(e["new"] + e["resolved"] > 0 for e in diff["equipment"])
    table = run_cli("fleet", "diff", old, new)
    assert "DEV-S03" in table.stdout and "new" in table.stdout


def test_bad_input_is_an_error_with_exit_code_2(tmp_path: Path, jsonl: Path) -> None:
    missing = run_cli("fleet", "assess", tmp_path / "nope.jsonl", "-o", tmp_path / "out")
    assert missing.returncode == 2 and "nope.jsonl: error[file-not-found]" in missing.stderr and "Traceback" not in missing.stderr
    parquet = tmp_path / "fleet"
    assert run_cli("fleet", "export", jsonl, "-o", parquet).returncode == 0
    devices = parquet / part_file("devices", 0)
    pq.write_table(pq.read_table(devices).drop_columns(["type"]), devices)
    broken = run_cli("fleet", "assess", parquet, "-o", tmp_path / "out")
    assert broken.returncode == 2 and "error[table-columns]: table devices: missing column(s) type" in broken.stderr
    not_run = run_cli("fleet", "diff", tmp_path, tmp_path)
    assert not_run.returncode == 2 and "error[not-a-fleet-run]" in not_run.stderr


def test_progress_bar_shows_homes_per_second_on_a_terminal(jsonl: Path, tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    cmd = [sys.executable, "-m", "domosec", "fleet", "assess", str(jsonl), "-o", str(tmp_path / "out"), "--as-of", AS_OF]
    proc = subprocess.run(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=secondary, cwd=ROOT, env=env, timeout=300, check=False
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "homes/s" in screen and "150/150" in screen
    # Not on a terminal: no bar, only the closing line.
    plain = run_cli("fleet", "assess", jsonl, "-o", tmp_path / "out2", "--as-of", AS_OF, "--workers", "1")
    assert "homes/s" not in plain.stderr and "150 homes in" in plain.stdout
