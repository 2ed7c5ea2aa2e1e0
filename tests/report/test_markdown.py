"""Markdown for pull-request comments: the right counts, safe table cells, and never over the size limit.

Regenerate tests/golden/report/ after an intended change with ``UPDATE_GOLDEN=1 pytest tests/report``.
"""

from __future__ import annotations

import os

import pytest

from domosec.assessment import Assessment
from domosec.report.markdown import COMMENT_LIMIT, render_markdown
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
GITHUB_COMMENT_LIMIT = 65_536


def golden_assessment(name: str) -> Assessment:
    return Assessment.model_validate_json((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_matches_golden_file(name: str) -> None:
    text = render_markdown(golden_assessment(name))
    golden = GOLDEN / "report" / f"{name}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), f"{name}: Markdown differs from the golden file"


def test_headline_counts_and_every_finding_listed_once_per_part() -> None:
    a = golden_assessment("family-home")
    text = render_markdown(a)
    s = a.summary
    assert text.startswith(f"## domosec: {s.findings} findings in ")
    assert f"**{s.open} open**, {s.accepted} accepted" in text
    assert "| inherent | " + " | ".join(str(s.by_level[lvl]) for lvl in ("critical", "high", "medium", "low", "info")) + " |" in text
    body = text.split("### Fix first", 1)[1].split("<details>", 1)[1]
    for f in a.findings:
        assert f"| {f.rule_id} | `{f.asset.id}` (examples/family-home.yaml:{f.asset.line}) |" in body
    assert body.count("| accepted |") == s.accepted
    fix_first = text.split("### Fix first", 1)[1].split("<details>", 1)[0]
    assert fix_first.count("\n| critical 20 |") == s.by_level["critical"], "the worst open findings come first"


def test_table_cells_cannot_break_the_table_or_inject_html() -> None:
    a = golden_assessment("well-kept-home").model_copy(deep=True)
    a.findings[0].reason = "a | b <script>alert(1)</script>\nsecond line"
    text = render_markdown(a)
    fix_first, in_part = [line for line in text.splitlines() if "alert(1)" in line]
    assert "<script>" not in text and "&lt;script&gt;" in in_part
    assert fix_first.replace("\\|", "").count("|") == 5, "4 cells; the pipe in the reason is escaped"
    assert in_part.replace("\\|", "").count("|") == 6, "5 cells; the pipe in the reason is escaped"


def test_a_large_fleet_stays_under_the_comment_limit_and_says_what_it_left_out() -> None:
    a = golden_assessment("family-home")
    many = [f.model_copy(update={"id": f"{f.id}{i:05d}"}) for i in range(40) for f in a.findings]  # ~5,000 findings
    big = a.model_copy(update={"findings": many})
    text = render_markdown(big)
    assert len(text) <= COMMENT_LIMIT < GITHUB_COMMENT_LIMIT
    assert "not shown here (comment size limit)" in text
    assert text.rstrip().endswith("unknown.") and "**Statement of Applicability (clause 7):**" in text
