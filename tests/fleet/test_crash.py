"""A fleet run killed with SIGKILL: its workers end with it, and the output directory holds one whole run.

Also: a run replaces only what a run wrote, never a user's own ``findings/``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domosec.fleet.diff import diff_runs
from domosec.fleet.outdir import LOCK, RUN_NAMES, recover
from tests.conftest import ROOT, run_cli
from tests.fleet.conftest import generate_jsonl

KILL_AT_REPLACE = """
import os, shutil, signal, sys
from pathlib import Path
from domosec.fleet import outdir
out, new, k = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
staging = out / f"{outdir.STAGING_PREFIX}{os.getpid()}"
shutil.copytree(new, staging)
real, calls = os.replace, []
def replace(src, dst):
    calls.append(src)
    if len(calls) == k:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer or `kill -9` would, between two renames
    real(src, dst)
os.replace = replace
outdir.publish(staging, out)
print(len(calls))
"""


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_jsonl(tmp_path_factory, homes=60, seed=4)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK}


def _run(jsonl: Path, out: Path, as_of: str) -> None:
    result = run_cli("fleet", "assess", jsonl, "-o", out, "--as-of", as_of, "--workers", "1", "--batch-homes", "20")
    assert result.returncode == 0, result.stderr


def test_sigkill_at_every_step_of_publishing_leaves_the_old_or_the_new_run_whole(jsonl: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    _run(jsonl, old, "2026-11-23")
    _run(jsonl, new, "2027-06-01")  # a later date: other summary, other findings files
    staged = tmp_path / "staged"
    staged.mkdir()
    for name in RUN_NAMES:
        (shutil.copytree if (new / name).is_dir() else shutil.copy2)(new / name, staged / name)
    old_files, new_files = _files(old), _files(new)
    assert old_files != new_files
    results = []
    for k in range(1, 40):
        out = tmp_path / f"out-{k}"
        shutil.copytree(old, out)
        (out / "notes.txt").write_text("the user's own file\n", encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-c", KILL_AT_REPLACE, str(out), str(staged), str(k)], capture_output=True, text=True, cwd=ROOT, timeout=60
        )
        killed = proc.returncode == -signal.SIGKILL
        assert killed or proc.returncode == 0, proc.stderr
        if k % 2:
            recover(out)  # what the next run into the directory does first
        else:
            diff_runs(old, out)  # `fleet diff` reads it: it finishes the publication first, so it never reads a mix
        after = _files(out)
        assert after.pop("notes.txt") == b"the user's own file\n"
        assert after in (old_files, new_files), f"killed at rename {k}: neither run is whole"
        assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_NAMES, ".domosec-fleet-run.json", LOCK, "notes.txt"])
        results.append("old" if after == old_files else "new")
        if not killed:
            break
    assert len(results) > 8, "publishing renames each entry of both runs"
    assert results[0] == "old" and results[-1] == "new"
    assert results == sorted(results, key=lambda r: r == "new"), "once the new run is complete it is never rolled back"


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_of_the_main_process_ends_its_workers(jsonl: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # One home per batch: 60 batches at about a second each, so the workers are busy when the main process dies.
    proc = subprocess.Popen(
        [sys.executable, "-m", "domosec", "fleet", "assess", str(jsonl), "-o", str(out), "--as-of", "2026-11-23", "--workers", "2", "--batch-homes", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".domosec-run-*/findings/part-*.parquet")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None
        workers = {c for c in _children(proc.pid) if "multiprocessing" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")}
        assert len(workers) >= 2
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed assertion: they end at once
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _running(w)], "workers outlived the main process"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _run(jsonl, out, "2026-11-23")  # the next run removes what the killed one staged
    assert not [p for p in out.iterdir() if p.name.startswith((".domosec-run-", ".domosec-publish-", ".domosec-old-"))]


def test_a_run_refuses_to_replace_a_users_own_findings_folder(jsonl: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "findings").mkdir(parents=True)
    (out / "findings" / "mine.txt").write_text("notes\n", encoding="utf-8")
    result = run_cli("fleet", "assess", jsonl, "-o", out, "--as-of", "2026-11-23", "--workers", "1")
    assert result.returncode == 2
    assert "error[output-not-from-a-run]" in result.stderr and "findings" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "findings" / "mine.txt").read_text(encoding="utf-8") == "notes\n"
    assert sorted(p.name for p in out.iterdir()) == [LOCK, "findings"]
