"""`domosec report`, `domosec diff` and the output formats of `domosec assess`, run as a user runs them."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from domosec.assessment import Assessment
from domosec.report.formats import FORMATS, FormatName, render
from tests.conftest import MINIMAL, ROOT, run_cli
from tests.schemas.validate import oscal_errors, sarif_errors

GOLDEN = ROOT / "tests" / "golden"
SAVED = GOLDEN / "product-under-design.json"
TEXT_FORMATS = [f for f in FORMATS.values() if not f.binary and f.name is not FormatName.table]


def saved() -> Assessment:
    return Assessment.model_validate_json(SAVED.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", [f.name.value for f in TEXT_FORMATS])
def test_report_writes_each_text_format_as_the_library_renders_it(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"out{FORMATS[FormatName(fmt)].suffix}"
    result = run_cli("report", SAVED, "--format", fmt, "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().decode("utf-8") == render(saved(), fmt)


def test_report_infers_the_format_from_the_output_suffix_and_json_round_trips(tmp_path: Path) -> None:
    for name in ("results.sarif", "register.csv", "poam.poam.json", "again.json"):
        assert run_cli("report", SAVED, "-o", tmp_path / name).returncode == 0
    assert sarif_errors(json.loads((tmp_path / "results.sarif").read_text(encoding="utf-8"))) == []
    assert (tmp_path / "register.csv").read_text(encoding="utf-8").startswith("finding_id,key,")
    assert oscal_errors(json.loads((tmp_path / "poam.poam.json").read_text(encoding="utf-8"))) == []
    assert (tmp_path / "again.json").read_text(encoding="utf-8") == SAVED.read_text(encoding="utf-8")


def test_report_prints_a_table_to_the_terminal_by_default() -> None:
    result = run_cli("report", SAVED)
    assert result.returncode == 0, result.stderr
    assert "Statement of Applicability" not in result.stdout and "Controls (clause 7)" in result.stdout
    assert saved().findings[0].rule_id in result.stdout


def test_assess_writes_sarif_and_oscal_and_still_fails_on_high(tmp_path: Path) -> None:
    sarif = tmp_path / "results.sarif"
    result = run_cli("assess", "examples/family-home.yaml", "--as-of", "2026-11-23", "-o", sarif, "--fail-on", "critical")
    assert result.returncode == 1, "the family home has critical findings"
    assert sarif_errors(json.loads(sarif.read_text(encoding="utf-8"))) == []
    oscal = run_cli("assess", "examples/well-kept-home.yaml", "--as-of", "2026-11-23", "--format", "oscal")
    assert oscal.returncode == 0, oscal.stderr
    assert oscal_errors(json.loads(oscal.stdout)) == []


def test_html_pdf_and_the_householder_summary_through_the_cli(tmp_path: Path) -> None:
    from domosec.report.householder import render_home_markdown
    from domosec.report.html import render_html

    html = tmp_path / "report.html"
    assert run_cli("report", SAVED, "-o", html).returncode == 0
    assert html.read_text(encoding="utf-8") == render_html(saved())
    home = run_cli("report", SAVED, "--format", "markdown", "--audience", "home")
    assert home.returncode == 0 and home.stdout == render_home_markdown(saved())
    piped = subprocess.run(
        [sys.executable, "-m", "domosec", "report", str(SAVED), "--format", "pdf", "--audience", "home"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert piped.returncode == 0 and piped.stdout.startswith(b"%PDF-"), "PDF bytes go to a pipe unchanged"
    pdf = tmp_path / "report.pdf"
    assert run_cli("assess", "examples/well-kept-home.yaml", "-o", pdf).returncode == 0
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_pdf_is_not_written_to_a_terminal() -> None:
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "domosec", "report", str(SAVED), "--format", "pdf"],
            stdout=follower,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=120,
            cwd=ROOT,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 2
    assert "binary" in result.stderr and "-o report.pdf" in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"version": "1.1",\n  "tool": ', "bad.json:2:"),
        ('{"domosec": 1, "system": {"id": "x", "name": "x"}}', "this is a system model"),
        ('{"runs": []}', "not-an-assessment"),
    ],
)
def test_report_refuses_what_is_not_an_assessment(content: str, expected: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    result = run_cli("report", bad, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_report_refuses_an_older_assessment_and_points_at_a_malformed_field(tmp_path: Path) -> None:
    data = json.loads(SAVED.read_text(encoding="utf-8"))
    data["version"] = "1.0"
    older = tmp_path / "older.json"
    older.write_text(json.dumps(data), encoding="utf-8")
    result = run_cli("report", older, cwd=tmp_path)
    assert result.returncode == 2 and "error[assessment-version]" in result.stderr and "older" in result.stderr
    data["version"] = "1.1"
    data["findings"][1]["inherent"]["level"] = "severe"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data, indent=2), encoding="utf-8")
    result = run_cli("report", broken, cwd=tmp_path)
    line = next(i for i, text in enumerate(broken.read_text(encoding="utf-8").splitlines(), 1) if '"severe"' in text)
    assert result.returncode == 2 and f"broken.json:{line}:" in result.stderr and "findings[1].inherent.level" in result.stderr
    assert "Traceback" not in result.stderr


def test_report_reads_an_assessment_of_the_previous_version_and_refuses_a_newer_one(tmp_path: Path) -> None:
    """1.2 added each home's software and flows' `observed`; a 1.1 file has neither and still renders."""
    data = json.loads(SAVED.read_text(encoding="utf-8"))
    assert data["version"] == "1.2"
    data["version"] = "1.1"
    for home in data["homes"]:
        home.pop("software", None)
        for flow in home["flows"]:
            flow.pop("observed", None)
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps(data), encoding="utf-8")
    result = run_cli("report", previous, "--format", "markdown", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "## " in result.stdout
    data["version"] = "1.3"
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(data), encoding="utf-8")
    refused = run_cli("report", newer, cwd=tmp_path)
    assert refused.returncode == 2 and "error[assessment-version]" in refused.stderr and "'1.3' is not" in refused.stderr


def test_usage_errors_exit_with_2() -> None:
    wrong_audience = run_cli("report", SAVED, "--format", "sarif", "--audience", "home")
    assert wrong_audience.returncode == 2 and "--audience home is for" in wrong_audience.stderr
    assert run_cli("report", SAVED, "--format", "docx").returncode == 2
    assert run_cli("report", "no-such-file.json").returncode == 2


def _model(tmp_path: Path, name: str, extra: str = "") -> Path:
    path = tmp_path / name
    path.write_text(MINIMAL + extra, encoding="utf-8")
    return path


DEFAULT_LOGIN = """\
    credentials: [{kind: web, factory_default: true}]
    endpoints: [{protocol: http, port: 80, exposure: lan, purpose: admin, authentication: password, tls: none}]
"""


def test_diff_of_two_models_fails_only_on_what_the_change_introduced(tmp_path: Path) -> None:
    old = _model(tmp_path, "old.yaml")
    new = _model(tmp_path, "new.yaml", DEFAULT_LOGIN)
    gate = run_cli("diff", old, new, "--fail-on", "medium", "--as-of", "2026-11-23", "--format", "json")
    assert gate.returncode == 1, gate.stderr
    diff = json.loads(gate.stdout)
    assert diff["summary"]["new"] >= 1 and diff["summary"]["resolved"] == 0
    assert "DEV-S01" in {f["rule_id"] for f in diff["new_findings"]}
    count = len([f for f in diff["new_findings"] if f["inherent"]["level"] in ("medium", "high", "critical")])
    assert f"{count} new {'finding' if count == 1 else 'findings'} at or above medium" in gate.stderr
    same = run_cli("diff", new, new, "--fail-on", "info", "--as-of", "2026-11-23")
    assert same.returncode == 0 and "0 new findings" in same.stdout, "existing findings do not fail the run"
    back = run_cli("diff", new, old, "--format", "markdown", "--fail-on", "info")
    assert back.returncode == 0 and "Resolved findings" in back.stdout


def test_diff_of_a_saved_assessment_and_a_model_uses_the_saved_date(tmp_path: Path) -> None:
    model = _model(tmp_path, "home.yaml", DEFAULT_LOGIN)
    saved_json = tmp_path / "saved.json"
    assert run_cli("assess", model, "--as-of", "2025-01-01", "-o", saved_json).returncode == 0
    result = run_cli("diff", saved_json, model, "--format", "json")
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    assert diff["new"]["as_of"] == diff["old"]["as_of"] == "2025-01-01"
    assert diff["summary"]["new"] == diff["summary"]["resolved"] == 0


def test_diff_refuses_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    result = run_cli("diff", bad, SAVED)
    assert result.returncode == 2 and "bad.json:1:" in result.stderr and "Traceback" not in result.stderr
    broken_model = _model(tmp_path, "broken.yaml", "  - {id: x, type: no_such_type}\n")
    result = run_cli("diff", SAVED, broken_model)
    assert result.returncode == 2 and "broken.yaml:" in result.stderr


def test_the_output_suffix_names_the_format() -> None:
    from domosec.report.formats import format_for_path

    assert set(FORMATS) == set(FormatName)
    cases = {
        "a.SARIF": "sarif",
        "a.json": "json",
        "a.poam.json": "oscal-poam",
        "a.oscal.json": "oscal",
        "a.md": "markdown",
        "a.txt": "table",
    }
    assert {name: format_for_path(Path(name)) for name in cases} == cases
    assert format_for_path(Path("report.docx")) is None
    with pytest.raises(ValueError, match="no 'home' audience"):
        from domosec.report.formats import RenderOptions

        render(saved(), "csv", RenderOptions(audience="home"))
