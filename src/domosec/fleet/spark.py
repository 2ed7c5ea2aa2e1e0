"""The Spark engine: Spark hands out the batches, and each task runs the embedded DuckDB engine on its batch.

The rules are the same files and :func:`domosec.fleet.batch.run_batch` the same code, so the
findings are the same as on one machine. Tasks write their findings part straight into the
output directory, which must therefore be on storage every executor sees (a shared file system
on a cluster; any local folder in ``local[N]`` mode). docs/fleet.md shows a spark-submit example.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from domosec.fleet.batch import BatchOutcome, Job, run_batch
from domosec.fleet.source import Batch

DEFAULT_MASTER = "local[2]"


def spark_session(master: str | None = None, *, app_name: str = "domosec-fleet") -> Any:
    """A Spark session; in local mode its Python workers run this interpreter, so they import this domosec."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installation
        from domosec.errors import Diagnostic, InputError

        raise InputError(
            [Diagnostic("--engine spark", None, None, "spark-missing", f"PySpark is not installed ({exc}); install domosec[spark]")]
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    elif not os.environ.get("SPARK_HOME") and "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        builder = builder.master(DEFAULT_MASTER)
    builder = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.python.worker.reuse", "true")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def run_spark(batches: list[Batch], job: Job, *, master: str | None = None, session: Any = None) -> list[BatchOutcome]:
    """Run every batch as a Spark task; returns the outcomes in batch order."""
    own = session is None
    spark = session or spark_session(master)
    try:
        rdd = spark.sparkContext.parallelize(batches, numSlices=len(batches))
        outcomes: list[BatchOutcome] = rdd.map(lambda b: run_batch(b, job)).collect()
    finally:
        if own:
            spark.stop()
    return sorted(outcomes, key=lambda o: o.index)
