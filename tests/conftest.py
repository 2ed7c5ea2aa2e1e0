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
