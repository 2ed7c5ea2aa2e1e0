"""Process settings for one-shot commands such as ``assess``, which build many objects and then exit.

- **Garbage collection.** The objects a model parse or an assessment builds hold no reference
  cycles worth collecting early, but CPython's default thresholds run a collection every 700
  allocations and, as the heap grows, full ones that walk every live object: on a 5,000-device
  model that was ~0.7 s of ~2.2 s in process. A one-shot command collects rarely instead.
- **Exit.** Tearing the interpreter down (a last collection, every module's objects, DuckDB's
  exit handlers) takes ~50 ms after the output is written, and freeing a large model and its
  assessment object by object another ~0.1 s at 5,000 devices. A one-shot command hands those
  to :func:`keep`, flushes its output and leaves at once: it holds no files open, no threads and
  no child processes by then, and the operating system takes the memory back in one go.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import NoReturn

ONE_SHOT_GC_THRESHOLD = (100_000, 50, 1000)
"""Young-generation collections every 100,000 allocations, and practically no full ones."""

_leave_at_once = False
_kept: list[object] = []


def one_shot() -> None:
    """Set this process up for a command that runs once and exits: rare collections, quick exit.

    Called by the entry point (never by a command function, which may run inside another program).
    """
    global _leave_at_once
    gc.set_threshold(*ONE_SHOT_GC_THRESHOLD)
    _leave_at_once = True


def leaves_at_once() -> bool:
    return _leave_at_once


def keep(*objects: object) -> None:
    """Hold ``objects`` until the process leaves, so that they are not freed one by one just before it does."""
    if _leave_at_once:
        _kept.extend(objects)


def leave(code: object) -> NoReturn:
    """Exit with ``code`` (as ``sys.exit`` takes it) without tearing the interpreter down, output flushed first."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        # A closed or broken output: let the usual exit report it.
        sys.exit(status)
    os._exit(status)
