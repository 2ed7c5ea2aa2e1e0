"""A bad ``-o`` is a clear error with exit code 2, found before the work, and nothing of the user's is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, run_cli

HOME = EXAMPLES / "family-home.yaml"
HA_CONFIG = ROOT / "tests/evidence/homeassistant/fixtures/ha-2024.3.3-family"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-folder" / "keep.txt").write_text("the user's own\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("also the user's own\n", encoding="utf-8")
    result = run_cli("assess", HOME, "--format", "json", "-o", tmp_path / "assessment.json")
    assert result.returncode == 0, result.stderr
    return tmp_path


COMMANDS = {
    "assess": ["assess", HOME, "-o", "{out}"],
    "assess-html": ["assess", HOME, "--format", "html", "-o", "{out}"],
    "report": ["report", "{work}/assessment.json", "--format", "markdown", "-o", "{out}"],
    "diff": ["diff", "{work}/assessment.json", HOME, "-o", "{out}"],
    "schema": ["schema", "-o", "{out}"],
    "init": ["init", "{out}", "--force"],
    "import": ["import", "homeassistant", HA_CONFIG, "-o", "{out}"],
    "scan": ["scan", "-t", "127.0.0.1", "--dry-run", "-o", "{out}"],
    "fleet-generate-jsonl": ["fleet", "generate", "--homes", "5", "--format", "jsonl", "-o", "{out}"],
}
BAD_OUTPUTS = {
    "a directory": ("a-folder", "error[output-is-a-directory]: is a directory; give a file name"),
    "under a file": ("a-file/report.out", "error[cannot-write]: "),
}


@pytest.mark.parametrize("bad", sorted(BAD_OUTPUTS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_that_cannot_take_a_file_is_refused_before_the_work(command: str, bad: str, workdir: Path) -> None:
    before = _snapshot(workdir)
    target, message = BAD_OUTPUTS[bad]
    out = workdir / target
    args = [str(a).replace("{out}", str(out)).replace("{work}", str(workdir)) for a in COMMANDS[command]]
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert f"{out}: {message}" in result.stderr and "Traceback" not in result.stderr
    assert "domosec scan plan" not in result.stderr, "the scan is refused before its plan"
    assert _snapshot(workdir) == before


def test_a_fleet_is_written_only_over_an_earlier_fleet_or_an_empty_folder(workdir: Path) -> None:
    before = _snapshot(workdir)
    for target, code in (("a-folder", "output-not-a-fleet"), ("a-file", "output-not-a-directory")):
        result = run_cli("fleet", "generate", "--homes", "5", "-o", workdir / target)
        assert result.returncode == 2 and f"error[{code}]" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "holds keep.txt, which no fleet has" in run_cli("fleet", "generate", "--homes", "5", "-o", workdir / "a-folder").stderr
    assert _snapshot(workdir) == before, "nothing of the user's was removed"

    fleet = workdir / "fleet"
    assert run_cli("fleet", "generate", "--homes", "5", "--seed", "1", "-o", fleet).returncode == 0
    first = _snapshot(fleet)
    again = run_cli("fleet", "generate", "--homes", "7", "--seed", "2", "-o", fleet)
    assert again.returncode == 0, again.stderr
    assert "wrote 7 homes" in again.stdout and _snapshot(fleet) != first, "an earlier fleet is replaced"
    (workdir / "empty").mkdir()
    assert run_cli("fleet", "generate", "--homes", "5", "-o", workdir / "empty").returncode == 0
    assert run_cli("fleet", "assess", fleet, "-o", workdir / "a-file").stderr.startswith(
        f"{workdir / 'a-file'}: error[output-not-a-directory]"
    )
