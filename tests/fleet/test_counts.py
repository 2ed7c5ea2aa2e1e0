"""The run checks its own books: homes in = homes assessed + homes rejected, or it stops."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from domosec.engine.scoring import Matrix
from domosec.fleet.run import BatchOutcome, FleetCountError, Job, finish
from domosec.fleet.source import Batch, RejectRecord


def test_a_home_that_neither_was_assessed_nor_rejected_stops_the_run(tmp_path: Path) -> None:
    batch = Batch(0, "jsonl", str(tmp_path / "fleet.jsonl"), homes=3)
    lost = BatchOutcome(
        0, homes_in=3, assessed=1, rejects=[RejectRecord("fleet.jsonl:2", "h2", ("bad",))], stats={}, home_hashes=[1], seconds=0.0
    )
    job = Job([], Matrix(), dt.date(2026, 11, 23), str(tmp_path))
    with pytest.raises(FleetCountError, match=r"homes in \(3\) ≠ homes assessed \(1\) \+ homes rejected \(1\)"):
        finish([lost], [batch], job, engine="duckdb")
    assert not (tmp_path / "summary.json").exists()


def test_a_home_assessed_twice_stops_the_run(tmp_path: Path) -> None:
    batches = [Batch(i, "parquet", str(tmp_path), homes=1, part=i) for i in range(2)]
    twice = [BatchOutcome(i, homes_in=1, assessed=1, rejects=[], stats={}, home_hashes=[42], seconds=0.0) for i in range(2)]
    job = Job([], Matrix(), dt.date(2026, 11, 23), str(tmp_path))
    with pytest.raises(FleetCountError, match="assessed twice"):
        finish(twice, batches, job, engine="duckdb")
