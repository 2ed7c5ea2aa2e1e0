"""The package as users get it: a wheel and an sdist built from this tree, once per test session (per worker).

The build runs on a copy of the tree (``pyproject.toml``, ``README.md``, ``src/``) in a temporary
directory, so a stale ``build/`` folder can never lend the wheel a file the package data lacks, and
builds of several sessions never share a folder. ``python -m build`` makes the sdist and then the
wheel *from the sdist*, so a file missing from either is missing from the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCE_FILES = ("pyproject.toml", "README.md")
BUILD_TIMEOUT = 600  # seconds; a first build on a fresh machine downloads setuptools into build's own environment


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path
    tree: Path
    """The copy of the work tree they were built from (others may change the tree while the tests run)."""


def copy_tree(to: Path) -> Path:
    """The files a build reads, copied from the work tree (including files not yet committed), without caches."""
    to.mkdir(parents=True)
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, to / name)
    shutil.copytree(ROOT / "src", to / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return to


def package_files(tree: Path = ROOT) -> list[str]:
    """Every file of ``src/domosec`` a run can read (code and data), as paths inside the package."""
    top = tree / "src"
    return sorted(
        p.relative_to(top).as_posix()
        for p in (top / "domosec").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sdist and the wheel of this tree, built by ``python -m build`` as a release would be."""
    base = tmp_path_factory.mktemp("build")
    tree = copy_tree(base / "tree")
    dist = base / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(tree)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, f"python -m build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    (wheel,) = dist.glob("domosec-*.whl")
    (sdist,) = dist.glob("domosec-*.tar.gz")
    return Built(wheel, sdist, tree)
