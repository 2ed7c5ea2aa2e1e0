"""Writing a user's output file: checked before the work starts, written whole or not at all.

Every ``-o`` path goes through here, so a directory given for a file, or a place that cannot be
written, is a clear ``error[code]`` with exit status 2 (not a traceback), and is found before a
long scan or assessment rather than after it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from domosec.errors import Diagnostic, InputError


def output_problem(path: Path, code: str, message: str) -> Diagnostic:
    """A problem with an output path: it has no line or column."""
    return Diagnostic(str(path), None, None, code, message)


def output_file_problems(path: Path) -> list[Diagnostic]:
    """Why ``path`` cannot take a file, if it cannot: it is a directory, or its folder cannot be made or written."""
    if path.is_dir():
        return [output_problem(path, "output-is-a-directory", "is a directory; give a file name")]
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return [output_problem(path, "cannot-write", f"{existing} is a file, so no folder can be made in it")]
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        return [output_problem(path, "cannot-write", f"no permission to write in {existing}")]
    return []


def check_output_file(path: Path) -> None:
    """Raise :class:`InputError` if ``path`` cannot take a file (see :func:`output_file_problems`)."""
    problems = output_file_problems(path)
    if problems:
        raise InputError(problems)


def write_atomically(path: Path, payload: str | bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it, so a failure never leaves half a file."""
    check_output_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError([output_problem(path, "cannot-write", exc.strerror or str(exc))]) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload.encode("utf-8") if isinstance(payload, str) else payload)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes the file private; give it the permissions a plain open would
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError([output_problem(path, "cannot-write", exc.strerror or str(exc))]) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
