"""The memory rule queries may use: DuckDB's limit, and a cap on the whole process while rules run.

DuckDB's ``memory_limit`` counts what its buffer manager holds (tables, aggregates, sorts, joins)
but not the text a scalar function builds: ``s || s || …`` over a large ``string_agg`` reached
1.8 GB under a 64 MB limit. So while rule queries run, :func:`process_cap` also lowers the
process's ``RLIMIT_DATA`` (its heap and private memory, Linux) to what it uses now plus twice the
DuckDB limit plus 256 MiB; an allocation past it fails inside DuckDB as an out-of-memory error
(or a Python ``MemoryError``), which the engine reports as ``error[rule-limit]`` naming the rule.
The previous limit is restored as soon as the rules are done.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from domosec.errors import Diagnostic, InputError

DEFAULT_MEMORY_LIMIT = "2GB"
"""DuckDB's memory limit for an assessment (its tables and every rule query); ``DOMOSEC_RULE_MEMORY_LIMIT`` overrides it."""
MEMORY_LIMIT_ENV = "DOMOSEC_RULE_MEMORY_LIMIT"
HEADROOM = 256 * 2**20

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def memory_limit(default: str | None = DEFAULT_MEMORY_LIMIT) -> str | None:
    """The memory limit rules run under: ``$DOMOSEC_RULE_MEMORY_LIMIT`` (e.g. ``500MB``) or ``default``."""
    configured = os.environ.get(MEMORY_LIMIT_ENV)
    if configured and size_in_bytes(configured) is None:
        message = f"'{configured[:40]}' is not a size; give e.g. 500MB or 4GB"
        raise InputError([Diagnostic(MEMORY_LIMIT_ENV, None, None, "bad-setting", message)])
    return configured or default


def size_in_bytes(text: str) -> int | None:
    """``2GB``, ``500MiB``, ``64 MB`` as bytes (DuckDB's units: KB = 1000, KiB = 1024); None when it is not a size."""
    match = _SIZE.match(text)
    if not match or match.group(2).lower() not in _UNITS:
        return None
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    return value if value > 0 else None


_LOCK = threading.Lock()
_users = 0
_saved: tuple[int, int] | None = None


@contextmanager
def process_cap(limit: str | None) -> Iterator[None]:
    """Cap the process's private memory at its current use + 2 × ``limit`` + 256 MiB inside this block (Linux only).

    Nested or concurrent blocks share the cap set by the first; the last one out restores the previous limit.
    """
    global _users, _saved
    with _LOCK:
        if _users == 0:
            _saved = _lower(limit)
        _users += 1
    try:
        yield
    finally:
        with _LOCK:
            _users -= 1
            if _users == 0 and _saved is not None:
                import resource

                resource.setrlimit(resource.RLIMIT_DATA, _saved)
                _saved = None


def _lower(limit: str | None) -> tuple[int, int] | None:
    """Lower RLIMIT_DATA; the limits before, or None when nothing was changed."""
    budget = size_in_bytes(limit) if limit else None
    in_use = _data_in_use()
    if budget is None or in_use is None:
        return None
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = in_use + 2 * budget + HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        return None
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    return soft, hard


def _data_in_use() -> int | None:
    """The process's data size (``VmData``: heap and private writable mappings), or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
