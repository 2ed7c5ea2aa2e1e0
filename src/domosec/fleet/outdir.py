"""The output directory of a fleet run: written aside, then published whole, even across a crash.

A run writes into a staging folder inside the output directory (``.domosec-run-<pid>``). Only once
every batch is done and the counts add up does it publish, in steps that each are one rename:

1. the staging folder gets the run's manifest (the names it wrote) and is renamed
   ``.domosec-publish-<pid>``: from here on the new run is complete and publishing only goes forward;
2. the entries the earlier run's manifest lists (and only those) are moved into ``.domosec-old-<pid>``,
   the earlier manifest first;
3. the new entries are moved into place, the manifest last: a directory with a manifest holds one whole run;
4. the two folders are removed.

A process killed at any step (SIGKILL, a crash) leaves a ``.domosec-publish-`` folder; the next
run into the directory (or :func:`recover`) finishes that publication before doing anything else,
so a reader finds the earlier run whole until step 1 and the new run whole after recovery. A staging
folder of a killed run that never reached step 1 is removed and the earlier run stays. Files the
user put there are never touched: a run deletes or replaces only what a manifest says a run wrote,
and refuses (exit 2) to start when one of its names holds something no run wrote.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domosec.errors import InputError
from domosec.output_file import output_problem

FINDINGS_DIR = "findings"
SUMMARY_JSON = "summary.json"
SUMMARY_HTML = "summary.html"
REJECTS = "rejects.jsonl"
STATE_DIR = "state"
"""Per home, what a later ``--since`` run needs to reuse its findings (:mod:`domosec.fleet.incremental`)."""
MANIFEST = ".domosec-fleet-run.json"
"""The names a run wrote (JSON: ``{"written": [...]}``); present only when the directory holds a whole run."""
RUN_NAMES = (FINDINGS_DIR, REJECTS, STATE_DIR, SUMMARY_HTML, SUMMARY_JSON)
STAGING_PREFIX = ".domosec-run-"
"""The staging folder is named for the process that writes it: ``.domosec-run-<pid>``."""
PUBLISH_PREFIX = ".domosec-publish-"
OLD_PREFIX = ".domosec-old-"
LOCK = ".domosec-fleet.lock"


def open_staging(outdir: Path) -> Path:
    """Create this run's staging folder in ``outdir`` after finishing or cleaning up what killed runs left.

    Refuses (exit 2) when ``outdir`` is a file, or holds one of a run's names that no run wrote.
    """
    if outdir.exists() and not outdir.is_dir():
        raise InputError([output_problem(outdir, "output-not-a-directory", "is a file; the output of a fleet run is a directory")])
    staging = outdir / f"{STAGING_PREFIX}{os.getpid()}"
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        with _locked(outdir):
            _recover(outdir)
            _refuse_foreign(outdir)
            shutil.rmtree(staging, ignore_errors=True)
            (staging / FINDINGS_DIR).mkdir(parents=True)
    except OSError as exc:
        raise InputError([output_problem(outdir, "cannot-write", exc.strerror or str(exc))]) from None
    return staging


def discard(staging: Path) -> None:
    """Remove a staging folder and what it holds."""
    shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, outdir: Path) -> None:
    """Replace the earlier run's entries in ``outdir`` (and only those) with the staged ones (steps in the module doc)."""
    _write_manifest(staging, [name for name in RUN_NAMES if (staging / name).exists()])
    with _locked(outdir):
        pending = outdir / f"{PUBLISH_PREFIX}{os.getpid()}"
        shutil.rmtree(pending, ignore_errors=True)
        os.replace(staging, pending)
        _complete(outdir, pending)


def recover(outdir: Path) -> None:
    """Finish the publications and remove the staging folders that killed runs left in ``outdir`` (readers call it
    too: it does nothing, and creates no lock file, when there are none)."""
    if outdir.is_dir() and any(p.name.startswith((PUBLISH_PREFIX, OLD_PREFIX, STAGING_PREFIX)) for p in outdir.iterdir()):
        with _locked(outdir):
            _recover(outdir)


def run_names(outdir: Path) -> list[str]:
    """The names the run published in ``outdir`` wrote (none when no whole run is there)."""
    return _read_manifest(outdir / MANIFEST)


def _recover(outdir: Path) -> None:
    """Under the lock: publication folders exist only while their writer holds the lock, so any found was left by a
    killed process and is finished; staging folders are removed when the process they are named for is gone."""
    for folder in sorted(outdir.glob(PUBLISH_PREFIX + "*")):
        if folder.is_dir() and folder.name.removeprefix(PUBLISH_PREFIX).isdigit():
            _complete(outdir, folder)
    for folder in outdir.glob(OLD_PREFIX + "*"):
        if folder.is_dir() and folder.name.removeprefix(OLD_PREFIX).isdigit():
            shutil.rmtree(folder, ignore_errors=True)
    for folder in outdir.glob(STAGING_PREFIX + "*"):
        if folder.is_dir() and not _writer_alive(folder.name.removeprefix(STAGING_PREFIX)):
            shutil.rmtree(folder, ignore_errors=True)


def _complete(outdir: Path, pending: Path) -> None:
    """Steps 2–4 for the complete run in ``pending``; safe to repeat after a crash at any point."""
    old = outdir / f"{OLD_PREFIX}{pending.name.removeprefix(PUBLISH_PREFIX)}"
    new_names = _read_manifest(pending / MANIFEST)
    if not (pending / MANIFEST).exists():  # moved in place already: only the clean-up was left
        shutil.rmtree(pending, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
        return
    old.mkdir(exist_ok=True)
    if (outdir / MANIFEST).exists():
        os.replace(outdir / MANIFEST, old / MANIFEST)
    for name in _read_manifest(old / MANIFEST):
        if name in new_names and not (pending / name).exists():
            continue  # already replaced by the new run's entry
        if (outdir / name).exists() or (outdir / name).is_symlink():
            os.replace(outdir / name, old / name)
    for name in new_names:
        if (pending / name).exists():
            os.replace(pending / name, outdir / name)
    os.replace(pending / MANIFEST, outdir / MANIFEST)
    shutil.rmtree(pending, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def _refuse_foreign(outdir: Path) -> None:
    owned = set(run_names(outdir))
    foreign = [name for name in RUN_NAMES if name not in owned and ((outdir / name).exists() or (outdir / name).is_symlink())]
    if foreign:
        raise InputError(
            [
                output_problem(
                    outdir / foreign[0],
                    "output-not-from-a-run",
                    "exists and was not written by a fleet run (the directory has no run manifest); "
                    "a run replaces only what a run wrote: move it away or choose another output directory",
                )
            ]
        )


def _write_manifest(folder: Path, names: list[str]) -> None:
    tmp = folder / (MANIFEST + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"written": names}) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / MANIFEST)


def _read_manifest(path: Path) -> list[str]:
    """The names in a manifest; only a run's own names count, whatever the file says."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    written = data.get("written") if isinstance(data, dict) else None
    return [name for name in RUN_NAMES if isinstance(written, list) and name in written]


@contextmanager
def _locked(outdir: Path) -> Iterator[None]:
    """One process at a time recovers or publishes in ``outdir``."""
    fd = os.open(outdir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _writer_alive(pid_text: str) -> bool:
    """Whether the process a folder is named for still runs (this process's own folder is stale)."""
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
