"""The output directory of a fleet run: written aside, then published whole.

A run writes into a staging folder inside the output directory and moves its files into place
only once every batch is done and the counts add up. A run that is interrupted or fails leaves
what an earlier run wrote there as it was, and old and new parts never mix.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from domosec.errors import InputError
from domosec.output_file import output_problem

FINDINGS_DIR = "findings"
SUMMARY_JSON = "summary.json"
SUMMARY_HTML = "summary.html"
REJECTS = "rejects.jsonl"
STAGING_PREFIX = ".domosec-run-"
"""The staging folder is named for the process that writes it: ``.domosec-run-<pid>``."""


def open_staging(outdir: Path) -> Path:
    """Create this run's staging folder in ``outdir``, removing those left by runs that were killed."""
    if outdir.exists() and not outdir.is_dir():
        raise InputError([output_problem(outdir, "output-not-a-directory", "is a file; the output of a fleet run is a directory")])
    staging = outdir / f"{STAGING_PREFIX}{os.getpid()}"
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        for old in outdir.glob(STAGING_PREFIX + "*"):
            if old.is_dir() and not _writer_alive(old.name.removeprefix(STAGING_PREFIX)):
                shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        (staging / FINDINGS_DIR).mkdir(parents=True)
    except OSError as exc:
        raise InputError([output_problem(outdir, "cannot-write", exc.strerror or str(exc))]) from None
    return staging


def discard(staging: Path) -> None:
    """Remove a staging folder and what it holds."""
    shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, outdir: Path) -> None:
    """Replace the earlier run's files in ``outdir`` (and only those) with the staged ones.

    ``summary.json`` goes first and comes back last: a directory with it holds a whole run.
    """
    (outdir / SUMMARY_JSON).unlink(missing_ok=True)
    shutil.rmtree(outdir / FINDINGS_DIR, ignore_errors=True)
    for name in (SUMMARY_HTML, REJECTS):
        (outdir / name).unlink(missing_ok=True)
    for name in (FINDINGS_DIR, REJECTS, SUMMARY_HTML, SUMMARY_JSON):
        os.replace(staging / name, outdir / name)
    staging.rmdir()


def _writer_alive(pid_text: str) -> bool:
    """Whether the process a staging folder is named for still runs (this process's own folder is stale)."""
    try:
        pid = int(pid_text)
    except ValueError:
        return True  # not a name this module gives: leave it alone
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
