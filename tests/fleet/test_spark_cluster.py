"""The Spark engine on a real standalone cluster (a master and two workers on loopback, started with Spark's own
classes): the same files as the DuckDB engine, even when a worker is killed in the middle of the run."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domosec.fleet.export import write_jsonl_fleet
from domosec.fleet.generate import generate
from tests.conftest import ROOT, run_cli
from tests.fleet.spark_cluster import Cluster, spark_env, start_cluster

HOMES = 240
BATCH = "40"
AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = start_cluster(tmp_path_factory.mktemp("spark-cluster"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The fleet as JSON Lines, and its DuckDB run to compare with."""
    path = tmp_path_factory.mktemp("cluster-fleet") / "fleet.jsonl"
    write_jsonl_fleet(generate(homes=HOMES, seed=31), path)
    reference = path.parent / "out-duckdb"
    result = run_cli("fleet", "assess", path, "-o", reference, "--as-of", AS_OF, "--batch-homes", BATCH, "--workers", "2")
    assert result.returncode == 0, result.stderr
    return path, reference


def _assess_on(cluster: Cluster, source: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "domosec", "fleet", "assess", str(source), "-o", str(out), "--as-of", AS_OF, "--batch-homes", BATCH,
         "--engine", "spark", "--master", cluster.url],
        cwd=ROOT, env=spark_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def _files(out: Path) -> dict[str, bytes]:
    """Every file a run wrote, with the summaries' engine line left out (the one thing that names the engine)."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and not path.name.endswith(".lock"):
            data = path.read_bytes()
            if path.name.startswith("summary."):
                data = data.replace(b"spark", b"duckdb")
            files[str(path.relative_to(out))] = data
    return files


def test_a_cluster_writes_what_duckdb_writes(cluster: Cluster, fleet: tuple[Path, Path], tmp_path: Path) -> None:
    source, reference = fleet
    run = _assess_on(cluster, source, tmp_path / "out")
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr
    assert f"{HOMES} homes in: {HOMES} assessed" in stdout
    assert _files(tmp_path / "out") == _files(reference)


def test_a_worker_killed_mid_run_is_replaced_and_nothing_is_lost(cluster: Cluster, fleet: tuple[Path, Path], tmp_path: Path) -> None:
    source, reference = fleet
    out = tmp_path / "out"
    run = _assess_on(cluster, source, out)
    try:
        deadline = time.monotonic() + 300
        while not list(out.glob(".domosec-run-*/findings/part-*.parquet")):  # the first batch is written: both are busy
            assert run.poll() is None, run.communicate()[1]
            assert time.monotonic() < deadline, "no batch finished"
            time.sleep(0.2)
        cluster.kill_worker(0)
        stdout, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, stderr
    assert "Lost executor" in stderr, "the worker died while its executor was part of the run"
    assert f"{HOMES} homes in: {HOMES} assessed" in stdout
    assert _files(out) == _files(reference)
