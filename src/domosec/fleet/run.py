"""Run a fleet assessment: every batch read, checked, assessed and written, then the summary.

The unit of work is :func:`domosec.fleet.batch.run_batch`; here the DuckDB engine runs it in worker
processes on this machine, or :mod:`domosec.fleet.spark` (imported only for ``--engine spark``) in
Spark tasks. Both write the same files and return the same counts.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from domosec.catalog.load import load_catalogue
from domosec.errors import DomosecError
from domosec.fleet.aggregate import merge_stats
from domosec.fleet.batch import BatchOutcome, Job, hash_home, run_batch
from domosec.fleet.incremental import check_since, inputs_fingerprint, run_record
from domosec.fleet.outdir import REJECTS, STATE_DIR, SUMMARY_HTML, SUMMARY_JSON, discard, open_staging, publish
from domosec.fleet.source import Batch, plan_batches
from domosec.fleet.state_parts import RUN_FILE
from domosec.fleet.summary import build_summary, render_summary_json

__all__ = ["BatchOutcome", "FleetCountError", "Job", "RunResult", "assess_fleet", "finish", "hash_home", "run_batch", "run_local"]


class FleetCountError(DomosecError):
    """Homes in and homes out do not add up: a defect in domosec, never the input's fault."""


@dataclass
class RunResult:
    summary: dict[str, Any]
    outcomes: list[BatchOutcome] = field(default_factory=list)
    seconds: float = 0.0
    since_note: str | None = None
    """Why ``--since`` reused nothing (every home was assessed), when it did not."""


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def run_local(batches: list[Batch], job: Job, *, workers: int, on_done: Callable[[BatchOutcome], None] | None = None) -> list[BatchOutcome]:
    """The DuckDB engine: batches on ``workers`` processes (in this process when 1)."""
    outcomes: list[BatchOutcome] = []

    def collect(results: Iterator[BatchOutcome]) -> None:
        for outcome in results:
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)

    if workers <= 1 or len(batches) <= 1:
        collect(run_batch(b, job) for b in batches)
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(workers, len(batches)),
            mp_context=context,
            max_tasks_per_child=None,
            initializer=_start_worker,
            initargs=(os.getpid(),),
        ) as pool:
            futures = [pool.submit(run_batch, b, job) for b in batches]
            try:
                collect(f.result() for f in as_completed(futures))
            except BaseException:
                # Ctrl-C or a failed batch: stop the other batches now rather than let them run to the end.
                _stop_workers(pool)
                raise
    return sorted(outcomes, key=lambda o: o.index)


def _start_worker(parent: int) -> None:
    """In a worker: ignore Ctrl-C, which a terminal sends to every process of the job (the parent stops the workers),
    and end when the parent ends, even by SIGKILL, which gives it no chance to stop them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """Ask Linux for SIGKILL when the parent process ends (``PR_SET_PDEATHSIG``); elsewhere, a thread that watches it."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent ended before the request was made
                os._exit(1)
            return
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="domosec-parent-watch", daemon=True).start()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel the batches not started and end the running ones."""
    # The executor ends its workers itself only from Python 3.14 on (terminate_workers); before, its process table
    # is the way, read before shutdown() clears it.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()


def finish(outcomes: list[BatchOutcome], batches: list[Batch], job: Job, *, engine: str) -> dict[str, Any]:
    """Check the counts, write the rejects and the summary; return the summary."""
    homes_in = sum(o.homes_in for o in outcomes)
    assessed = sum(o.assessed for o in outcomes)
    rejected = sum(len(o.rejects) for o in outcomes)
    if len(outcomes) != len(batches) or homes_in != assessed + rejected:
        raise FleetCountError(f"homes in ({homes_in:,}) ≠ homes assessed ({assessed:,}) + homes rejected ({rejected:,})")
    jsonl_lines = sum(b.homes for b in batches if b.kind == "jsonl")
    if jsonl_lines and jsonl_lines != homes_in:
        raise FleetCountError(f"the input has {jsonl_lines:,} homes but {homes_in:,} were read")
    hashes = [h for o in outcomes for h in o.home_hashes]
    if len(set(hashes)) != len(hashes):
        raise FleetCountError("a home was assessed twice although duplicates are set aside")
    outdir = Path(job.outdir)
    with (outdir / REJECTS).open("w", encoding="utf-8") as handle:
        for o in outcomes:
            for r in o.rejects:
                handle.write(json.dumps(r.as_json(), ensure_ascii=False) + "\n")
    stats = merge_stats([o.stats for o in outcomes])
    summary = build_summary(
        stats,
        rules=job.rules,
        catalogue=load_catalogue(),
        as_of=job.as_of.isoformat(),
        engine=engine,
        homes_in=homes_in,
        rejected=rejected,
    )
    (outdir / SUMMARY_JSON).write_text(render_summary_json(summary), encoding="utf-8")
    (outdir / STATE_DIR).mkdir(exist_ok=True)
    (outdir / STATE_DIR / RUN_FILE).write_text(run_record(job.as_of, job.inputs, outdir / STATE_DIR), encoding="utf-8")
    from domosec.fleet.html import render_summary_html

    (outdir / SUMMARY_HTML).write_text(render_summary_html(summary), encoding="utf-8")
    return summary


def assess_fleet(
    source: Path,
    job: Job,
    *,
    engine: str = "duckdb",
    workers: int = 1,
    batch_homes: int = 5_000,
    spark_master: str | None = None,
    spark_session: Any = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[BatchOutcome], None] | None = None,
) -> RunResult:
    """Assess a fleet directory or JSON Lines file into ``job.outdir``."""
    start = time.perf_counter()
    # Absolute paths: Spark executors run in folders of their own, where a relative path names nothing.
    source = Path(source).resolve()
    batches = plan_batches(source, batch_homes=batch_homes)
    job = replace(job, outdir=str(Path(job.outdir).resolve()), inputs=inputs_fingerprint(job.rules, job.matrix))
    note = None
    if job.since is not None:
        since_as_of, note = check_since(Path(job.since), job.inputs, as_of_now=job.as_of, rules=job.rules)
        job = replace(job, since=str(Path(job.since).resolve()) if since_as_of else None, since_as_of=since_as_of)
    outdir = Path(job.outdir)
    staging = open_staging(outdir)
    staged = replace(job, outdir=str(staging))
    try:
        if on_start:
            on_start(sum(b.homes for b in batches))
        if engine == "spark":
            from domosec.fleet.spark import run_spark

            outcomes = run_spark(batches, staged, master=spark_master, session=spark_session)
            if on_done:
                for o in outcomes:
                    on_done(o)
        else:
            outcomes = run_local(batches, staged, workers=workers, on_done=on_done)
        summary = finish(outcomes, batches, staged, engine=engine)
    except BaseException:
        discard(staging)
        raise
    publish(staging, outdir)
    return RunResult(summary, outcomes, time.perf_counter() - start, note)
