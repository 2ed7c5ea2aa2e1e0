"""A fleet run that is stopped or fails leaves the output directory as an earlier run left it."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from domosec.engine.ruleset import load_rules
from domosec.engine.scoring import Matrix
from domosec.fleet.layout import part_file
from domosec.fleet.run import BatchOutcome, Job, assess_fleet
from tests.conftest import ROOT, run_cli
from tests.fleet.conftest import generate_jsonl

AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_jsonl(tmp_path_factory, homes=60, seed=4)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def earlier_run(jsonl: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "out"
    result = run_cli("fleet", "assess", jsonl, "-o", out, "--as-of", AS_OF, "--workers", "1", "--batch-homes", "20")
    assert result.returncode == 0, result.stderr
    (out / "notes.txt").write_text("the user's own file\n", encoding="utf-8")
    return out, _files(out)


def test_ctrl_c_stops_the_workers_at_once_and_keeps_the_earlier_run(jsonl: Path, earlier_run: tuple[Path, dict[str, bytes]]) -> None:
    out, before = earlier_run
    # One home per batch: 60 batches at about a second each, so the run is far from done when it is stopped.
    proc = subprocess.Popen(
        [sys.executable, "-m", "domosec", "fleet", "assess", str(jsonl), "-o", str(out), "--as-of", AS_OF, "--workers", "2", "--batch-homes", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(out.glob(".domosec-run-*/findings/part-*.parquet")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: to the command and its workers
    _stdout, stderr = proc.communicate(timeout=30)  # the whole run would take about a minute
    assert proc.returncode == 130, stderr
    assert "domosec fleet assess: interrupted after " in stderr and " of 60 homes; nothing was written to " in stderr
    assert "Traceback" not in stderr
    assert _files(out) == before, "the earlier run's files and the user's own are as they were, with nothing added"
    assert not list(out.glob(".domosec-run-*"))


def test_a_run_stopped_inside_the_library_ends_its_workers_and_removes_what_it_staged(
    jsonl: Path, earlier_run: tuple[Path, dict[str, bytes]]
) -> None:
    out, before = earlier_run
    seen: list[int] = []

    def interrupt(outcome: BatchOutcome) -> None:
        seen.append(outcome.index)
        raise KeyboardInterrupt

    job = Job(load_rules([]), Matrix(), dt.date.fromisoformat(AS_OF), str(out))
    with pytest.raises(KeyboardInterrupt):
        assess_fleet(jsonl, job, workers=2, batch_homes=5, on_done=interrupt)
    assert len(seen) == 1
    assert multiprocessing.active_children() == [], "no worker is left running"
    assert _files(out) == before and not list(out.glob(".domosec-run-*"))


def test_a_failed_run_keeps_the_earlier_run_and_a_good_one_replaces_it(
    jsonl: Path, earlier_run: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    out, before = earlier_run
    broken = tmp_path / "broken"  # a fleet whose devices table lacks a column: the run stops with exit code 2
    assert run_cli("fleet", "export", jsonl, "-o", broken).returncode == 0
    devices = broken / part_file("devices", 0)
    pq.write_table(pq.read_table(devices).drop_columns(["type"]), devices)
    failed = run_cli("fleet", "assess", broken, "-o", out, "--as-of", AS_OF, "--workers", "2")
    assert failed.returncode == 2 and "error[table-columns]" in failed.stderr, failed.stderr
    assert _files(out) == before and not list(out.glob(".domosec-run-*"))

    stale = out / ".domosec-run-999999999"  # left by a run that was killed outright: no such process
    (stale / "findings").mkdir(parents=True)
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("".join(jsonl.read_text(encoding="utf-8").splitlines(keepends=True)[:10]), encoding="utf-8")
    again = run_cli("fleet", "assess", fewer, "-o", out, "--as-of", AS_OF, "--workers", "1")
    assert again.returncode == 0, again.stderr
    after = _files(out)
    assert after["notes.txt"] == before["notes.txt"], "files that are not a run's are left alone"
    assert sorted(p for p in after if p.startswith("findings/")) == ["findings/part-00000.parquet"], "no part of the earlier run is kept"
    assert json.loads(after["summary.json"])["homes"]["in"] == 10
    assert not stale.exists()
