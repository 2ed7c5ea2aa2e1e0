"""Assessments off the request-serving process: the engine runs in a small pool of worker processes.

An assessment is CPU-bound for a second or more; run in the web process it holds the interpreter (one GIL) and
every page waits behind it. ``domosec serve`` therefore starts an :class:`Assessor` with a pool of worker processes
(``concurrent.futures.ProcessPoolExecutor``, forkserver start method where the platform has it, else spawn). The
workers import the engine, load the rules and the catalogue once, when they start; each assessment sends the model
text and gets back the Assessment JSON and its findings as plain rows, which the web process stores in its own
transaction, so a worker never writes to the database and a failed or killed worker leaves nothing half-written.

Failures come back as :class:`AssessmentFailed` (HTTP 503 with a plain message, never a hang):

- an assessment that runs longer than the time limit (counted from when a worker takes it) is stopped: the pool's
  processes are killed (the engine runs threads and native code that cannot be interrupted safely) and a new pool
  takes over; the other assessments the old pool held are sent again to the new one;
- a worker that dies (killed, out of memory) fails the assessments the pool held; the pool is replaced for the next.

With ``workers=0`` (the default of :func:`domosec.web.app.create_app`, used by tests that drive the application in
process) the engine runs in the calling thread, as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

DEFAULT_TIME_LIMIT = 300.0
"""Seconds an assessment may run in a worker (a 5,000-device home takes a few; the limit catches runaways)."""

FindingTuple = tuple[str, str, str, str, str, int, str]
"""finding ID, rule ID, title, asset, level, score, dimension: a ``findings`` row without its assessment."""


@dataclass(frozen=True)
class Computed:
    """What the engine made of one model version, ready to store."""

    document: bytes
    tool_version: str
    catalogue_version: str
    ruleset_version: str
    as_of: str
    findings: list[FindingTuple]


class AssessmentFailed(Exception):
    """An assessment that did not finish (time limit, a worker that died); nothing was stored."""

    status_code = 503


def compute(text: str, name: str, as_of: dt.date | None) -> Computed:
    """Assess the model ``text`` (shown as ``name``) with the built-in rules: in a worker or in the caller."""
    from domosec.engine.assess import assess
    from domosec.model.load import load_model_text
    from domosec.web.service import builtin_rules

    loaded = load_model_text(text, name)
    rules, ruleset_version = builtin_rules()
    result = assess([loaded], rules, as_of=as_of)
    return Computed(
        document=result.model_dump_json().encode("utf-8"),
        tool_version=result.tool_version,
        catalogue_version=result.catalogue_version,
        ruleset_version=ruleset_version,
        as_of=result.as_of,
        findings=[
            (f.id, f.rule_id, f.title[:500], (f.asset.name or f.asset.id)[:300], f.inherent.level, f.inherent.score, f.dimension)
            for f in result.findings
        ],
    )


WARM_UP_MODEL = "domosec: 1\nsystem: {id: warm-up, name: warm-up}\n"


def _warm_up() -> None:
    """A worker's start: import the engine, load and hash the rules, load the catalogue, open DuckDB (once each)."""
    compute(WARM_UP_MODEL, "warm-up.yaml", None)


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["domosec.web.assess_pool", "domosec.engine.assess", "domosec.model.load"])
        return context
    return multiprocessing.get_context("spawn")


class Assessor:
    """Runs assessments: in ``workers`` worker processes, or in the calling thread when ``workers`` is 0."""

    def __init__(self, workers: int = 0, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        self.workers = workers
        self.time_limit = time_limit
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._stopped: set[int] = set()
        self._warm: list[Future[int]] = []

    def start(self) -> None:
        """Start the worker processes now (they load the engine while the server starts), not at the first assessment."""
        if self.workers:
            self._current()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_warm_up)
                # the executor starts its processes lazily: start them all; a run's time counts once they are warm
                self._warm = [self._pool.submit(int) for _ in range(self.workers)]
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor, *, stopped: bool = False) -> None:
        """Kill ``broken``'s processes and drop it; the next assessment starts a new pool. ``stopped``: killed by us
        for an assessment over the time limit (the others it held are sent again to the new pool)."""
        with self._lock:
            if self._pool is broken:
                self._pool = None
            if stopped:
                self._stopped.add(id(broken))
        processes = list(getattr(broken, "_processes", None) or {})  # the executor offers no public way to kill them
        for pid in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        broken.shutdown(wait=False, cancel_futures=True)

    def _submit(self, text: str, name: str, as_of: dt.date | None) -> tuple[ProcessPoolExecutor, Future[Computed]]:
        pool = self._current()
        try:
            return pool, pool.submit(compute, text, name, as_of)
        except (BrokenProcessPool, RuntimeError):  # broken (or shut down) since it was taken: a new one, once
            self._replace(pool)
            pool = self._current()
            return pool, pool.submit(compute, text, name, as_of)

    def _wait(self, future: Future[Computed]) -> Computed:
        """The result, or FutureTimeout once the run took longer than the time limit (counted from when a warm worker
        took it: waiting for a free worker and a new worker's warm-up do not count)."""
        deadline: float | None = None
        while True:
            wait = 0.2 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return future.result(timeout=wait)
            except FutureTimeout:
                if deadline is not None:
                    raise
                if future.running() and all(w.done() for w in self._warm):
                    deadline = time.monotonic() + self.time_limit

    def run(self, text: str, name: str, as_of: dt.date | None = None) -> Computed:
        """The engine's result for the model ``text``, or :class:`AssessmentFailed`."""
        if not self.workers:
            return compute(text, name, as_of)
        for attempt in range(2):
            pool, future = self._submit(text, name, as_of)
            try:
                return self._wait(future)
            except BrokenProcessPool:
                self._replace(pool)
                if id(pool) in self._stopped and attempt == 0:  # another assessment's time limit stopped this pool
                    continue
                raise AssessmentFailed(
                    "the assessment worker stopped before it finished (killed or out of memory); nothing was stored: try again"
                ) from None
            except FutureTimeout:
                self._replace(pool, stopped=True)
                break
        raise AssessmentFailed(f"the assessment took longer than {self.time_limit:g} s and was stopped; nothing was stored")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
