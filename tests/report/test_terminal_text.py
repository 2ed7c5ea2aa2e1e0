"""Names from a model cannot drive the terminal, Rich markup, Markdown links or Graphviz.

Every path that writes text to a terminal is run as a user runs it, with Rich treating the output
as a terminal (``FORCE_COLOR``): the hostile names of ``hostile.yaml`` (an OSC 8 hyperlink, a screen
clear, a C1 CSI, a bidirectional override, ``[link=…]`` markup) must arrive as visible text.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.fleet.html import render_summary_html
from domosec.model.load import load_model
from domosec.report.html import render_html
from domosec.report.markdown import render_markdown
from domosec.safe_text import one_line, visible

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = (ROOT / "tests" / "report" / "hostile.yaml").read_text(encoding="utf-8")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colours Rich itself writes
DAY = datetime.date(2026, 1, 15)
PAYLOAD = "\\x1b]8;;https://evil.example/\\x1b\\click"


def run_on_terminal(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "400", "TTY_COMPATIBLE": "1"}
    return subprocess.run([sys.executable, "-m", "domosec", *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def assert_inert(text: str) -> None:
    """Only Rich's own colour codes; no other escape, control, C1 or bidirectional character; no markup applied."""
    rest = SGR.sub("", text)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", rest), repr(rest)
    assert "\x1b]8;;" not in text  # no hyperlink, neither the model's nor one Rich made from [link=…]


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


def test_visible_shows_control_characters_as_escapes_and_keeps_the_rest() -> None:
    assert visible("a\x1b[2Jb\x9b\u202ec\td\ne") == "a\\x1b[2Jb\\x9b\\u202ec\td\ne"
    assert one_line("a\tb\nc\ud800") == "a\\tb\\nc\\ud800"
    assert visible("Küche [link=x] 🔥") == "Küche [link=x] 🔥"


@pytest.mark.parametrize(
    "args", [("assess", "{m}"), ("assess", "{m}", "--controls"), ("assess", "{m}", "-f", "table", "--controls"), ("validate", "{m}")]
)
def test_model_commands_show_hostile_names_as_text(hostile: Path, args: tuple[str, ...]) -> None:
    result = run_on_terminal(*(a.format(m=hostile) for a in args), cwd=hostile.parent)
    assert result.returncode in (0, 1), result.stderr
    assert_inert(result.stdout + result.stderr)
    if args[0] == "assess":
        plain = SGR.sub("", result.stdout)
        assert PAYLOAD in plain.replace("\n", "").replace("│", "").replace(" ", "") or "\\x1b]8;;" in plain
        assert "[link=https://evil.example/]rich[/link]" in " ".join(plain.split()).replace("│ ", "")


def test_validate_shows_a_hostile_system_name_and_hostile_values_in_errors_as_text(tmp_path: Path) -> None:
    ok = tmp_path / "ok.yaml"
    ok.write_text(
        HOSTILE.replace('name: "<script>window.__xss = 1</script> home"', 'name: "\\e]0;title\\a[link=https://evil.example/]x[/link]"')
    )
    result = run_on_terminal("validate", ok, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout)
    assert "\\x1b]0;title\\x07[link=https://evil.example/]x[/link]" in SGR.sub("", result.stdout)
    bad = tmp_path / "bad.yaml"
    bad.write_text(HOSTILE.replace("kind: other,", 'kind: "\\e[2J\\e]8;;https://evil.example/\\a[link=https://evil.example/]x",'))
    result = run_on_terminal("validate", bad, cwd=tmp_path)
    assert result.returncode == 2
    assert_inert(result.stderr)
    assert "found '\\x1b[2J\\x1b]8;;https://evil.example/\\x07[link=" in result.stderr


def test_report_and_diff_of_a_hostile_assessment_show_names_as_text(hostile: Path) -> None:
    cwd = hostile.parent
    assert run_on_terminal("assess", hostile, "-f", "json", "-o", "new.json", cwd=cwd).returncode in (0, 1)
    minimal = cwd / "minimal.yaml"
    minimal.write_text("domosec: 1\nsystem: {id: xss-home, name: plain}\n", encoding="utf-8")
    assert run_on_terminal("assess", minimal, "-f", "json", "-o", "old.json", cwd=cwd).returncode in (0, 1)
    for args in (("report", "new.json"), ("report", "new.json", "--audience", "home"), ("diff", "old.json", "new.json")):
        result = run_on_terminal(*args, cwd=cwd)
        assert result.returncode in (0, 1), (args, result.stderr)
        assert result.stdout.strip(), args
        assert_inert(result.stdout + result.stderr)


def test_markdown_has_no_active_link_image_or_control_character(hostile: Path) -> None:
    result = assess([load_model(hostile)], load_rules(), as_of=DAY)
    text = render_markdown(result)
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<a " not in html and "<img" not in html and 'href="' not in html and 'src="' not in html
    assert "[t](https://evil.example/t.png)" in html  # shown as text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", text)
    assert "\\x1b[2J" in html


def test_a_control_character_in_a_name_keeps_the_diagram_and_prints_nothing(hostile: Path, capfd: pytest.CaptureFixture[str]) -> None:
    result = assess([load_model(hostile)], load_rules(), as_of=DAY)
    html = render_html(result)
    assert html.count('<svg class="diagram"') == 1
    assert "Attic\\x01\\x08 \\x1b[31mred" in html
    svg = html[html.index('<svg class="diagram"') : html.index("</svg>")]
    assert "\x1b" not in svg and "\x01" not in svg
    assert capfd.readouterr().err == ""


def test_fleet_summary_page_allows_only_its_own_style() -> None:
    summary = {
        "homes": {"in": 2, "assessed": 1, "rejected": 1},
        "rules": [],
        "as_of": "2026-01-15",
        "tool_version": "x",
        "catalogue_version": "y",
        "engine": "duckdb",
        "findings": {"total": 0},
        "homes_by_worst_level": {"none": 1},
        "equipment": [
            {
                "kind": "device",
                "type": "camera",
                "vendor": "<img src=x onerror=alert(1)>",
                "model": "m",
                "firmware": "f",
                "units": 1,
                "units_affected": 0,
                "findings": 0,
                "risk": 0,
                "risk_per_unit": 0,
                "update_findings": 0,
                "worst_level": "none",
                "top_rules": [],
            }
        ],
        "controls_contradicted": [],
    }
    html = render_summary_html(summary)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    policy = unescape(csp.group(1)) if csp else ""
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "script-src" not in policy and "unsafe" not in policy
    assert " style=" not in html  # an inline style attribute would be blocked by the policy
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def run_in_pty(*args: str | Path, cwd: Path) -> str:
    """Run the command with its standard output on a pseudo-terminal, as in an interactive shell; return what it wrote."""
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "domosec", *map(str, args)],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, "COLUMNS": "200"},
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the command closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=120) in (0, 1), proc.stderr.read() if proc.stderr else ""
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize("fmt", ["json", "markdown", "csv", "sarif", "text", "github"])
def test_documents_printed_to_a_terminal_carry_no_control_characters(hostile: Path, fmt: str) -> None:
    text = run_in_pty("assess", hostile, "--as-of", DAY.isoformat(), "-f", fmt, cwd=hostile.parent)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text), repr(text[:200])
    if fmt in ("json", "sarif"):
        assert "\\u202eevil" in text
        json.loads(text)  # still a valid document, with the same characters in its strings
