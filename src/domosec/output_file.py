"""Writing a user's output file: checked before the work starts, written whole or not at all.

Every ``-o`` path goes through here, so a directory given for a file, or a place that cannot be
written, is a clear ``error[code]`` with exit status 2 (not a traceback), and is found before a
long scan or assessment rather than after it.

An output is a regular file or a new name. A device (``/dev/null``), a FIFO or a socket is refused, never
replaced; so is a file the command reads (``assess m.yaml -o m.yaml``): every input read through
:func:`domosec.model.source.read_bounded`, and those a command names with :func:`protect_inputs` before its
work starts. A symbolic link is followed: the file it points to is replaced and the link kept. A replaced
file keeps its permissions (and, where the process may set it, its owner).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from domosec.errors import Diagnostic, InputError

STDOUT = "-"
"""The ``-o`` value that means standard output (and, for an input, standard input)."""


def stdout_or_path(path: Path | None) -> Path | None:
    """``None`` (write to standard output) for ``-o -`` or no ``-o``; else the path."""
    return None if path is None or str(path) == STDOUT else path


def refuse_stdout(path: Path, what: str) -> None:
    """Raise a usage :class:`InputError` if ``path`` is ``-``: this output is ``what`` (a directory, say), not a stream."""
    if str(path) == STDOUT:
        raise InputError([output_problem(path, "output-not-a-stream", f"this output is {what}, which cannot go to standard output")])


def output_problem(path: Path, code: str, message: str) -> Diagnostic:
    """A problem with an output path: it has no line or column."""
    return Diagnostic(str(path), None, None, code, message)


_inputs: set[tuple[int, int]] = set()
"""The (device, inode) of every file this process reads as input: never replaced by an output."""

_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}


def protect_input(st: os.stat_result) -> None:
    """Remember a file read as input (by its ``stat``), so that no output of this process replaces it."""
    if stat.S_ISREG(st.st_mode):
        _inputs.add((st.st_dev, st.st_ino))


def protect_inputs(paths: Iterable[Path]) -> None:
    """Remember the files a command will read, before it reads them, so an output naming one is refused at once."""
    for path in paths:
        try:
            protect_input(path.stat())
        except (OSError, ValueError):
            continue  # missing or unreadable: reading it will say so


def output_file_problems(path: Path) -> list[Diagnostic]:
    """Why ``path`` cannot take a file, if it cannot: it is not a regular file or a new name, it is an input,
    or its folder cannot be made or written."""
    try:
        st: os.stat_result | None = path.stat()  # through symbolic links: what would be replaced
    except FileNotFoundError:
        st = None
    except OSError as exc:
        return [output_problem(path, "cannot-write", exc.strerror or str(exc))]
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            return [output_problem(path, "output-is-a-directory", "is a directory; give a file name")]
        if not stat.S_ISREG(st.st_mode):
            kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
            message = f"is {kind}; -o takes a regular file or a new name (for standard output: -o - or no -o)"
            return [output_problem(path, "output-not-a-file", message)]
        if (st.st_dev, st.st_ino) in _inputs:
            return [output_problem(path, "output-is-an-input", "is an input of this command; write the output to another file")]
    folder = _final(path).parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return [output_problem(path, "cannot-write", f"{existing} is a file, so no folder can be made in it")]
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        return [output_problem(path, "cannot-write", f"no permission to write in {existing}")]
    return []


def _final(path: Path) -> Path:
    """The name that is written: ``path``, or the file a symbolic link at ``path`` leads to."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_output_file(path: Path) -> None:
    """Raise :class:`InputError` if ``path`` cannot take a file (see :func:`output_file_problems`)."""
    problems = output_file_problems(path)
    if problems:
        raise InputError(problems)


def write_atomically(path: Path, payload: str | bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it, so a failure never leaves half a file.

    ``path`` is checked again (:func:`output_file_problems`), now that the command has read its inputs.
    """
    with writing_atomically(path) as handle:
        handle.write(payload.encode("utf-8") if isinstance(payload, str) else payload)


@contextlib.contextmanager
def writing_atomically(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s contents to in pieces (a large document written as it is made): a temporary
    file beside ``path``, renamed to it when the block ends, removed if the block fails; as :func:`write_atomically`."""
    check_output_file(path)
    target = _final(path)
    try:
        previous: os.stat_result | None = target.stat()
    except OSError:
        previous = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError([output_problem(path, "cannot-write", exc.strerror or str(exc))]) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        if previous is not None:
            _keep_owner(tmp, previous)
            os.chmod(tmp, stat.S_IMODE(previous.st_mode))
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes the file private; give it the permissions a plain open would
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError([output_problem(path, "cannot-write", exc.strerror or str(exc))]) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def durably_replacing(target: Path, prefix: str) -> Iterator[BinaryIO]:
    """A private (mode 600) temporary file beside ``target`` for the block to write; when the block ends it is flushed
    to the disk and renamed to ``target``, so a crash leaves the old file or the whole new one; removed if the block
    fails. No checks and no messages: for files the program names itself (the workspace's evidence and backups)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _keep_owner(tmp: str, previous: os.stat_result) -> None:
    """Give the new file the replaced file's owner and group, where this process may (as root, or its own)."""
    if (previous.st_uid, previous.st_gid) == (os.geteuid(), os.getegid()):
        return
    with contextlib.suppress(PermissionError):
        os.chown(tmp, previous.st_uid, previous.st_gid)
