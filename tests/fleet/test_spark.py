"""Spark runs the same rule files on the same batches: a 10,000-home fleet gives identical findings on both engines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from domosec.engine.ruleset import load_rules
from domosec.engine.scoring import Matrix
from domosec.fleet.export import write_parquet_fleet
from domosec.fleet.generate import generate
from domosec.fleet.run import Job, assess_fleet

HOMES = 10_000


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spark") / "fleet"
    write_parquet_fleet(generate(homes=HOMES, seed=17, part_size=5_000), path)
    return path


def test_spark_and_duckdb_find_exactly_the_same(fleet: Path, spark: Any) -> None:
    rules = load_rules()
    runs = {}
    for engine in ("duckdb", "spark"):
        out = fleet.parent / f"out-{engine}"
        job = Job(rules, Matrix(), dt.date(2026, 11, 23), str(out))
        result = assess_fleet(fleet, job, engine=engine, workers=2, spark_session=spark)
        assert result.summary["homes"] == {"in": HOMES, "assessed": HOMES, "rejected": 0}
        runs[engine] = out
    query = "select * from read_parquet('{}/findings/*.parquet') order by finding_id"
    on_duckdb = duckdb.sql(query.format(runs["duckdb"])).fetchall()
    on_spark = duckdb.sql(query.format(runs["spark"])).fetchall()
    assert len(on_duckdb) > HOMES * 30
    assert on_spark == on_duckdb
    ids = [row[1] for row in on_duckdb]
    assert len(set(ids)) == len(ids), "finding IDs are unique across the fleet"
    summaries = [json.loads((runs[e] / "summary.json").read_text(encoding="utf-8")) for e in ("duckdb", "spark")]
    assert [s.pop("engine") for s in summaries] == ["duckdb", "spark"]
    assert summaries[0] == summaries[1]
