"""The command line as a consultant and a CI pipeline use it (issue 22, points 1, 2, 3, 8 and 10): the finding
lines, filters, output that is never cut, GitHub annotations, wording, and the configuration file."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domosec.assessment import Assessment
from domosec.catalog.load import load_catalogue
from domosec.engine.ruleset import load_rules
from domosec.report.householder import home_plans, render_home_markdown
from domosec.report.lines import render_github
from tests.conftest import EXAMPLES, MINIMAL, ROOT
from tests.schemas.validate import sarif_errors

LINE = re.compile(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO) +([A-Z]+-[SP]\d+) (\S+:\d+) (\S+) — (.+)$")
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS")} | {
    "DOMOSEC_CONFIG": "none"
}


def domosec(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``python -m domosec`` with standard output a pipe (as in CI), no configuration file unless ``env`` names one."""
    return subprocess.run(
        [sys.executable, "-m", "domosec", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        env=CLEAN_ENV | (env or {}),
        check=False,
    )


def on_terminal(*args: str, columns: int = 80) -> str:
    """What ``domosec`` writes to a terminal ``columns`` wide, ANSI styling removed."""
    leader, follower = pty.openpty()
    env = CLEAN_ENV | {"COLUMNS": str(columns), "LINES": "50", "TERM": "xterm-256color"}
    process = subprocess.Popen(
        [sys.executable, "-m", "domosec", *args], stdout=follower, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode("utf-8")).replace("\r\n", "\n")


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Assessment]:
    out = tmp_path_factory.mktemp("family") / "family.json"
    result = domosec("assess", "examples/family-home.yaml", "--as-of", "2026-11-23", "-f", "json", "-o", out)
    assert result.returncode == 0, result.stderr
    return out, Assessment.model_validate_json(out.read_text(encoding="utf-8"))


# 1. Summary and fix first, then one line per finding; --severity, --select, --ignore


def test_default_output_starts_with_the_summary_and_fix_first_then_one_line_per_finding(family: tuple[Path, Assessment]) -> None:
    path, assessment = family
    result = domosec("report", path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("The Berger family home: ") and f"{assessment.summary.open} open" in lines[0]
    assert lines[2].startswith("Fix first (5 of ")
    first = [LINE.match(line) for line in lines[3:8]]
    assert all(first) and first[0] is not None and first[0].group(1) == "CRITICAL"
    listed = [m for line in lines[8:] if (m := LINE.match(line))]
    assert len(listed) == len(assessment.findings) == assessment.summary.findings
    for f in assessment.findings:  # grep finds every file:line, with its rule, on one line
        assert any(m.group(2) == f.rule_id and m.group(3) == f"{f.asset.file}:{f.asset.line}" and m.group(4) == f.asset.id for m in listed)


def test_severity_select_and_ignore_choose_the_findings_and_the_counts_follow(family: tuple[Path, Assessment]) -> None:
    path, assessment = family

    def listed(*options: str) -> list[re.Match[str]]:
        result = domosec("report", path, "-q", *options)
        assert result.returncode == 0, result.stderr
        matches = [LINE.match(line) for line in result.stdout.splitlines()]
        assert all(matches), result.stdout  # -q: the finding lines alone
        return [m for m in matches if m]

    high = listed("--severity", "high")
    assert {m.group(1) for m in high} == {"CRITICAL", "HIGH"}
    assert len(high) == sum(1 for f in assessment.findings if f.inherent.level in ("critical", "high"))
    assert {m.group(2)[:5] for m in listed("--select", "DEV-S")} == {"DEV-S"}
    children = listed("--select", "7.1.6")
    assert len(children) == sum(1 for f in assessment.findings if "7.1.6" in f.controls) > 0
    rest = listed("--ignore", "6.2.3,DEV-P", "--ignore", "SVC-S01")
    assert not any(m.group(2).startswith(("DEV-", "SVC-S01")) for m in rest) and rest
    summary = domosec("report", path, "--select", "DEV-S01").stdout.splitlines()[0]
    assert summary.startswith("The Berger family home: 2 findings, 2 open")


def test_a_selector_that_names_nothing_is_a_warning(family: tuple[Path, Assessment]) -> None:
    result = domosec("report", family[0], "-q", "--select", "DEV-S01,DEV-X", "--ignore", "7.9.9,R-S-DV-09,6.3")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"domosec: warning: --select/--ignore '{s}' names no rule, clause, control or risk item" for s in ("DEV-X", "7.9.9")
    ]


def test_fail_on_counts_only_the_findings_selected() -> None:
    model = EXAMPLES / "family-home.yaml"
    assert domosec("assess", model, "--fail-on", "critical", "-q").returncode == 1
    criticals = "DEV-S01,DEV-S02,SVC-P02,SVC-P06"
    result = domosec("assess", model, "--fail-on", "critical", "--ignore", criticals, "-f", "json", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert not any(f["inherent"]["level"] == "critical" for f in json.loads(result.stdout)["findings"])


def test_table_format_keeps_the_detailed_tables(family: tuple[Path, Assessment]) -> None:
    result = domosec("report", family[0], "--format", "table")
    assert "Service sub-systems (6.2.1, 6.3.1)" in result.stdout and "┃ Risk" in result.stdout


# 2. Never cut: wrapped on a terminal, whole lines elsewhere


def test_on_a_terminal_lines_wrap_and_nothing_is_cut(family: tuple[Path, Assessment]) -> None:
    shown = on_terminal("report", str(family[0]), columns=80)
    assert max(len(line) for line in shown.splitlines()) <= 80
    flat = " ".join(shown.split())
    for f in family[1].findings:
        assert " ".join(f.reason.split()) in flat


def test_catalog_show_keeps_every_evidence_bullet_and_question_at_80_columns() -> None:
    control = load_catalogue().controls["7.1.6"]
    for shown in (domosec("catalog", "show", "7.1.6", env={"COLUMNS": "80"}).stdout, on_terminal("catalog", "show", "7.1.6", columns=80)):
        flat = " ".join(shown.split())
        for text in [*control.evidence, *control.assessor_questions]:
            assert " ".join(text.split()) in flat


def test_rules_show_to_a_file_keeps_whole_query_lines(tmp_path: Path) -> None:
    rule = next(lr.rule for lr in load_rules([]) if lr.rule.id == "GW-S01")
    result = domosec("rules", "show", "GW-S01")
    assert result.returncode == 0, result.stderr
    shown = set(result.stdout.splitlines())
    long_lines = [line for line in rule.query.splitlines() if len(line) > 80]
    assert long_lines and all(line in shown for line in long_lines)


# 3. --format github and --format text


def test_github_format_writes_one_workflow_command_per_open_finding(family: tuple[Path, Assessment]) -> None:
    path, assessment = family
    result = domosec("report", path, "--format", "github")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == sum(1 for f in assessment.findings if f.is_open)
    command = re.compile(r"^::(error|warning|notice) file=examples/family-home\.yaml,line=\d+,col=\d+,title=[^:]+::.+$")
    assert all(command.match(line) for line in lines), lines[:3]
    assert lines[0].startswith("::error ") and ",title=critical " in lines[0]


def test_github_format_escapes_what_the_runner_reads(family: tuple[Path, Assessment]) -> None:
    f = family[1].findings[0]
    odd = f.model_copy(
        update={
            "reason": "50% of logins\nand ::error:: more",
            "title": "a: b, c",
            "asset": f.asset.model_copy(update={"file": "x,y:z.yaml"}),
        }
    )
    line = render_github(family[1].model_copy(update={"findings": [odd]}))
    assert line.count("\n") == 1  # the reason cannot start a second command on a line of its own
    assert "file=x%2Cy%3Az.yaml," in line and "title=critical " in line and "a%3A b%2C c" in line
    assert "50%25 of logins\\nand ::error:: more" in line


def test_text_format_is_the_lines_without_colour_even_when_colour_is_forced(family: tuple[Path, Assessment]) -> None:
    plain = domosec("report", family[0], "--format", "text").stdout
    forced = domosec("report", family[0], "--format", "text", env={"FORCE_COLOR": "1"}).stdout
    assert forced == plain and "\x1b" not in plain and LINE.match(plain.splitlines()[3])


# 8. Wording


def test_counts_are_in_words_and_the_controls_hint_only_when_useful(tmp_path: Path, family: tuple[Path, Assessment]) -> None:
    model = tmp_path / "home.yaml"
    model.write_text(MINIMAL, encoding="utf-8")
    assert "— 1 device, 0 gateways, 1 network, 0 services, 0 flows" in domosec("validate", model).stdout
    assert "Use --controls" in domosec("report", family[0]).stdout
    with_controls = domosec("report", family[0], "--controls").stdout
    assert "Use --controls" not in with_controls and "7.1.6 family-home " in with_controls


def test_householder_counts_match_what_it_lists(family: tuple[Path, Assessment]) -> None:
    plan = home_plans(family[1])[0]
    text = render_home_markdown(family[1])
    kinds = len(plan.first) + len(plan.ask_maker) + plan.not_shown
    assert f"open issues in this home, of {kinds} kinds." in text
    assert f"There are {plan.not_shown} more kinds of issue to look at later" in text
    assert "Until such an update exists" not in text


# 10. Conventions: configuration file, environment, completion, help, rules list JSON, diff SARIF


def test_settings_come_from_the_command_line_then_the_environment_then_the_file(tmp_path: Path, family: tuple[Path, Assessment]) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.domosec]\nseverity = "high"\nignore = ["SVC-P"]\n')
    env = {"DOMOSEC_CONFIG": ""}  # search from the working directory, as without the variable

    def levels(*options: str, extra: dict[str, str] | None = None) -> set[str]:
        result = domosec("report", family[0], "-q", *options, env=env | (extra or {}), cwd=project / "sub")
        assert result.returncode == 0, result.stderr
        lines = [LINE.match(line) for line in result.stdout.splitlines()]
        assert not any(m and m.group(2).startswith("SVC-P") for m in lines)
        return {m.group(1) for m in lines if m}

    assert levels() == {"CRITICAL", "HIGH"}  # the file, found from a sub-directory
    assert levels(extra={"DOMOSEC_SEVERITY": "critical"}) == {"CRITICAL"}  # the environment over the file
    assert levels("--severity", "medium", extra={"DOMOSEC_SEVERITY": "critical"}) == {"CRITICAL", "HIGH", "MEDIUM"}
    (project / ".domosec.toml").write_text('fail-on = "critical"\nrules = []\n')  # beside pyproject.toml, it wins
    result = domosec("assess", EXAMPLES / "family-home.yaml", "-q", env=env, cwd=project)
    assert result.returncode == 1 and "findings at or above critical" in result.stderr
    assert domosec("assess", EXAMPLES / "family-home.yaml", "-q", "--fail-on", "none", env=env, cwd=project).returncode == 0
    assert domosec("assess", EXAMPLES / "family-home.yaml", "-q", "--no-config", env=env, cwd=project).returncode == 0


def test_a_bad_configuration_file_is_a_positioned_error(tmp_path: Path) -> None:
    (tmp_path / ".domosec.toml").write_text('severity = "high"\nfail_on = "high"\n')
    result = domosec("assess", EXAMPLES / "well-kept-home.yaml", env={"DOMOSEC_CONFIG": ""}, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{tmp_path / '.domosec.toml'}:2:1: error[config]: unknown key 'fail_on'" in result.stderr


def test_completion_and_help_conventions() -> None:
    entry = Path(sys.executable).parent / "domosec"  # the installed command, as a shell runs it to complete a word

    def complete(words: str) -> list[str]:
        env = CLEAN_ENV | {"_DOMOSEC_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
        result = subprocess.run([entry], capture_output=True, text=True, env=env, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert complete("domosec ass") == ["assess"]
    assert complete("domosec assess home.yaml --sev") == ["--severity"]
    assert complete("domosec assess home.yaml --severity ") == ["none", "info", "low", "medium", "high", "critical"]
    assert "--install-completion" in domosec("--help", env={"COLUMNS": "200"}).stdout
    assess_help = domosec("assess", "--help", env={"COLUMNS": "200"}).stdout
    assert "<bool>" not in assess_help and "--severity" in assess_help and "<none|info|low|medium|high|critical>" in assess_help
    workers = [line for line in domosec("fleet", "assess", "--help", env={"COLUMNS": "200"}).stdout.splitlines() if "--workers" in line]
    assert workers and "(default: CPU count)" in workers[0] and "[default: 0]" not in workers[0]


def test_rules_list_writes_json() -> None:
    result = domosec("rules", "list", "--format", "json", "--clause", "6.2.3")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["id"] for r in records] == sorted(lr.rule.id for lr in load_rules([]) if lr.rule.risk_source == "6.2.3")
    assert {"id", "title", "risk_source", "likelihood", "impact", "controls", "builtin"} <= set(records[0])


def test_diff_writes_the_new_findings_as_sarif_results(tmp_path: Path) -> None:
    old, new = EXAMPLES / "well-kept-home.yaml", EXAMPLES / "family-home.yaml"
    changes = json.loads(domosec("diff", old, new, "--as-of", "2026-11-23", "-f", "json").stdout)
    result = domosec("diff", old, new, "--as-of", "2026-11-23", "-f", "sarif", "-o", tmp_path / "new.sarif")
    assert result.returncode == 0, result.stderr
    sarif = json.loads((tmp_path / "new.sarif").read_text(encoding="utf-8"))
    assert sarif_errors(sarif) == []
    found = {r["partialFingerprints"]["domosecFindingId/v1"] for r in sarif["runs"][0]["results"]}
    assert found == {f["id"] for f in changes["new_findings"]} and found
