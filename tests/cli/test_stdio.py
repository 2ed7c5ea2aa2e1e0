"""`-` on the command line: `-o -` writes standard output, `assess -` reads the model from standard input;
an `-o` suffix no format has is a usage error; `--version`; a feature whose extra is missing names the extra."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from domosec import extras
from domosec.errors import InputError
from tests.conftest import EXAMPLES, MINIMAL, ROOT, run_cli

SAVED = ROOT / "tests" / "golden" / "product-under-design.json"


def run_with_input(*args: str | Path, stdin: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "domosec", *map(str, args)], input=stdin, capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (("assess", EXAMPLES / "well-kept-home.yaml", "--format", "sarif", "-o", "-"), lambda out: json.loads(out)["version"] == "2.1.0"),
        (("report", SAVED, "--format", "csv", "-o", "-"), lambda out: out.startswith("finding_id,")),
        (("schema", "-o", "-"), lambda out: "$defs" in json.loads(out)),
        (("diff", SAVED, SAVED, "--format", "json", "-o", "-"), lambda out: json.loads(out)["new_findings"] == []),
    ],
    ids=["assess", "report", "schema", "diff"],
)
def test_output_dash_writes_standard_output_and_no_file(args: tuple[str | Path, ...], check: object, tmp_path: Path) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert callable(check) and check(result.stdout)
    assert list(tmp_path.iterdir()) == [], "nothing is written to a file named '-'"


def test_assess_dash_reads_the_model_from_standard_input(tmp_path: Path) -> None:
    result = run_with_input("assess", "-", "--format", "json", stdin=MINIMAL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (home,) = json.loads(result.stdout)["homes"]
    assert (home["home_id"], home["file"]) == ("test-home", "<stdin>")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_model_on_standard_input_is_reported_at_its_position(tmp_path: Path) -> None:
    result = run_with_input("assess", "-", stdin=MINIMAL.replace("kind: wifi", "kind: carrier-pigeon"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("<stdin>:4:29: error[unknown-value]:"), result.stderr


@pytest.mark.parametrize("command", ["assess", "report"])
def test_an_output_suffix_no_format_has_is_a_usage_error(command: str, tmp_path: Path) -> None:
    source = EXAMPLES / "well-kept-home.yaml" if command == "assess" else SAVED
    result = run_cli(command, source, "-o", tmp_path / "out.docx")
    assert result.returncode == 2 and "'.docx'" in result.stderr and ".sarif" in result.stderr and "--format" in result.stderr
    assert not (tmp_path / "out.docx").exists()
    assert run_cli(command, source, "--format", "markdown", "-o", tmp_path / "out.docx").returncode == 0, "--format overrides the suffix"


def test_version_prints_the_installed_distribution_version() -> None:
    for args in (("--version",), ("--version", "--help")):
        result = run_cli(*args)
        assert result.returncode == 0 and result.stdout == f"domosec {version('domosec')}\n", result.stderr


def test_a_missing_extra_is_named_with_the_command_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extras.EXTRA_MODULES, "pdf", ("weasyprint", "domosec_no_such_module"))
    assert extras.missing_modules("pdf") == ["domosec_no_such_module"]
    with pytest.raises(InputError) as caught:
        extras.require("pdf", "the PDF report", "x.pdf")
    (problem,) = caught.value.diagnostics
    assert problem.render() == (
        "x.pdf: error[missing-extra]: the PDF report needs the 'pdf' extra: pip install 'domosec[pdf]' (not installed: domosec_no_such_module)"
    )
    assert extras.missing_extra("fleet", "domosec fleet") is None, "the dev install has every extra"


@pytest.mark.parametrize(
    "args",
    [("fleet", "generate", "--homes", "5", "-o", "-"), ("fleet", "assess", "{work}/fleet.jsonl", "-o", "-")],
    ids=["fleet-generate", "fleet-assess"],
)
def test_an_output_that_is_a_directory_or_fleet_file_cannot_be_standard_output(args: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "fleet.jsonl").write_text("", encoding="utf-8")
    result = run_cli(*(a.replace("{work}", str(tmp_path)) for a in args), cwd=tmp_path)
    assert result.returncode == 2 and "-: error[output-not-a-stream]:" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.jsonl"]
