"""The start-up and exit shortcuts of the command line change nothing a user sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domosec.cli.app import COMMANDS, _single_command_app, app
from domosec.cli.output import say
from tests.conftest import EXAMPLES, ROOT, run_cli

ARGUMENTS = [
    ["--help"],
    ["--no-such-option"],
    [],
]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("arguments", ARGUMENTS, ids=["help", "bad-option", "no-arguments"])
def test_a_command_alone_behaves_like_the_whole_app(
    command: str, arguments: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    env = {"COLUMNS": "100", "TERM": "dumb"}
    results = []
    for name, whole_or_alone in (("whole", app), ("alone", _single_command_app(command))):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # `init` writes home.yaml here
        result = runner.invoke(whole_or_alone, [command, *arguments], env=env, prog_name="domosec")
        results.append((result.exit_code, result.output))
    assert results[0] == results[1]


def test_assess_writes_flushes_and_exits_with_the_fail_on_code(tmp_path: Path) -> None:
    model = EXAMPLES / "family-home.yaml"
    out = tmp_path / "assessment.json"
    result = run_cli("assess", model, "--format", "json", "-o", out, "--fail-on", "critical", "--as-of", "2026-11-23")
    assert result.returncode == 1, result.stderr
    assert result.stdout == f"wrote {out}\n"
    assert "5 findings at or above critical" in result.stderr
    assert out.read_text(encoding="utf-8").endswith("}\n")
    to_stdout = run_cli("assess", model, "--format", "json", "--as-of", "2026-11-23")
    assert to_stdout.returncode == 0 and to_stdout.stdout == out.read_text(encoding="utf-8")


def test_assess_usage_errors_still_exit_with_2(minimal_model: Path) -> None:
    result = run_cli("assess", minimal_model, "--as-of", "23/11/2026")
    assert result.returncode == 2
    assert result.stderr == "domosec assess: error: --as-of '23/11/2026' is not a date (expected YYYY-MM-DD)\n"


def test_plain_lines_go_through_rich_only_when_colour_is_forced() -> None:
    code = "from domosec.cli.output import say; import sys; say('wrote x', style='dim'); print('rich' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR")}
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert plain.stdout == "wrote x\nFalse\n"
    forced = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**env, "FORCE_COLOR": "1"}, cwd=ROOT, check=True
    )
    assert forced.stdout.startswith("\x1b[2mwrote x\x1b[0m\n") and forced.stdout.endswith("True\n")


def test_say_writes_to_standard_error(capsys: pytest.CaptureFixture[str]) -> None:
    say("to stderr", err=True)
    assert capsys.readouterr() == ("", "to stderr\n")


_INTERRUPT_WHILE_IMPORTING = """\
import sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "domosec.cli.app":
            raise KeyboardInterrupt  # what Ctrl-C does while the commands are being imported
        return None

sys.meta_path.insert(0, Interrupt())
sys.argv = ["domosec", "validate", "examples/family-home.yaml"]
from domosec.cli.entry import main
main()
"""


def test_ctrl_c_while_the_command_line_starts_exits_130_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_WHILE_IMPORTING], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert (result.returncode, result.stderr) == (130, "domosec: interrupted\n")
