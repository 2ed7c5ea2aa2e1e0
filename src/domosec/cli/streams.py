"""Standard output and error as a command line uses them: any encoding, a closed pipe, a full disk.

- **Encoding.** With ``PYTHONIOENCODING=ascii`` (or latin-1, or a C locale) a name such as ``Küche`` or
  a dash in a message cannot be encoded; Python's default is to raise. Standard output is switched to
  ``backslashreplace`` (standard error already uses it), so such a character prints as ``\\xfc`` and the
  command finishes.
- **A closed pipe** (``domosec assess … | head``): the reader has all it wants. The command stops
  quietly, with exit status 141 (128 + SIGPIPE), as ``cat`` and ``grep`` do when a pipe closes.
- **A failed write** (``> /dev/full``, a full disk, a quota): ``<stdout>: error[cannot-write]: …`` and
  exit status 2, never a traceback or a success.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from typing import NoReturn

PIPE_CLOSED_STATUS = 141
"""128 + SIGPIPE: the status a shell shows for a program whose output pipe was closed."""

WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


_stdout_at_start: tuple[int, int] | None = None


def prepare() -> None:
    """Let standard output and error print any character (escaped where their encoding lacks it), and
    remember what standard output is, to tell later whether a closed pipe had it replaced."""
    global _stdout_at_start
    _stdout_at_start = _stdout_identity()
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


def is_write_failure(exc: BaseException) -> bool:
    """An error writing the output: a closed pipe, a full disk, a device that takes nothing."""
    return isinstance(exc, OSError) and (isinstance(exc, BrokenPipeError) or exc.errno in WRITE_ERRORS)


def flush_output() -> None:
    """Flush standard output now, so a full disk or a closed pipe is reported here, not at interpreter exit."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        if not is_write_failure(exc):
            raise
        write_failed(exc)


def write_failed(exc: OSError) -> NoReturn:
    """Leave after a failed write: quietly for a closed pipe, with ``error[cannot-write]`` otherwise."""
    _discard_stdout()
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        raise SystemExit(PIPE_CLOSED_STATUS)
    reason = exc.strerror or str(exc)
    with contextlib.suppress(OSError):
        print(f"<stdout>: error[cannot-write]: {reason} (the output was not written whole)", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so what is still buffered cannot fail again when Python exits."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def exit_status(code: object) -> object:
    """``code``, or 141 when the command line library stopped the command because its output pipe closed.

    Typer (after Click) and Rich catch a closed pipe inside a command and exit with 1, which domosec uses
    for "findings at or above --fail-on": Typer wraps standard output so that it is never flushed again,
    Rich points it at /dev/null.
    """
    if type(sys.stdout).__name__ == "PacifyFlushWrapper":
        return PIPE_CLOSED_STATUS
    if code == 1 and _stdout_at_start is not None and _stdout_at_start != _stdout_identity() == _null_identity():
        return PIPE_CLOSED_STATUS  # Rich, on a closed pipe, points standard output at /dev/null and exits with 1
    return code


def _stdout_identity() -> tuple[int, int] | None:
    try:
        st = os.fstat(1)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _null_identity() -> tuple[int, int] | None:
    try:
        st = os.stat(os.devnull)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
