"""A fresh virtualenv with a built domosec installed, and the ``domosec`` command run there as a user runs it.

Installs go through pip with the machine's own pip configuration and cache, so a second run reuses
the wheels the first one downloaded (or built) and a fresh machine downloads them once. They skip
compiling every installed module (``--no-compile``): PySpark alone is thousands of files the smoke
test never imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT = 900  # seconds; the 'all' extra brings PySpark (~300 MB)
RUN_TIMEOUT = 300


def clean_environment(venv: Path, cache: Path) -> dict[str, str]:
    """The caller's environment without its virtualenv or Python path, with the new venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["DOMOSEC_CACHE_DIR"] = str(cache)
    env["COLUMNS"] = "200"
    return env


@dataclass(frozen=True)
class Venv:
    """A virtualenv made by ``python -m venv`` from the interpreter's base Python, nothing else installed."""

    root: Path
    work: Path
    """The directory commands run in (outside the source tree, so ``import domosec`` finds only the installed one)."""

    @classmethod
    def create(cls, root: Path, work: Path) -> Venv:
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(root)], check=True, timeout=RUN_TIMEOUT, capture_output=True)
        work.mkdir(parents=True, exist_ok=True)
        return cls(root, work)

    @property
    def env(self) -> dict[str, str]:
        return clean_environment(self.root, self.work / ".domosec-cache")

    def pip_install(self, requirement: str) -> None:
        result = subprocess.run(
            [str(self.root / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile", requirement],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            env=self.env,
            cwd=self.work,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert result.returncode == 0, f"pip install {requirement} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return self._run([str(self.root / "bin" / "python"), "-c", code])

    def domosec(self, *args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the installed ``domosec`` executable (the console script pip wrote) in the work directory."""
        return self._run([str(self.root / "bin" / "domosec"), *map(str, args)], stdin=stdin)

    def ok(self, *args: str | Path) -> str:
        """Run ``domosec ARGS``, require exit 0 and no traceback, and return its standard output."""
        result = self.domosec(*args)
        assert result.returncode == 0 and "Traceback" not in result.stderr, describe(args, result)
        return result.stdout

    def _run(self, argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            env=self.env,
            cwd=self.work,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            check=False,
        )


def describe(args: tuple[str | Path, ...], result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"domosec {' '.join(map(str, args))} exited {result.returncode}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    )
