"""Shared fixtures: paths, a minimal valid model, and a runner for the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

MINIMAL = """\
domosec: 1
system: {id: test-home, name: Test home}
zones: [{id: bedroom, kind: bedroom}, {id: hall, kind: hallway}]
networks: [{id: wifi, kind: wifi, encryption: wpa2}]
devices:
  - id: cam
    type: camera
    zone: bedroom
    networks: [wifi]
"""


@pytest.fixture
def minimal_model(tmp_path: Path) -> Path:
    path = tmp_path / "home.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    return path


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m domosec`` as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "domosec", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or ROOT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def npm_package(config: pytest.Config, package: str, version: str) -> Path:
    """``node_modules`` holding PACKAGE@VERSION, installed once with npm into pytest's cache folder (never committed).

    Used for the tools users run beside domosec that only npm ships: axe-core for accessibility checks, cdxgen for SBOMs."""
    import shutil

    assert config.cache is not None
    folder = Path(config.cache.mkdir(f"npm-{package.replace('/', '+').lstrip('@')}-{version}"))
    modules = folder / "node_modules"
    if not (modules / package / "package.json").is_file():
        npm = shutil.which("npm")
        if not npm:
            pytest.fail(f"npm is needed to install {package} for these tests (Debian: apt-get install npm)")
        command = [npm, "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", str(folder)]
        subprocess.run([*command, f"{package}@{version}"], check=True, capture_output=True, timeout=600)
    return modules
