"""The CSV risk register: one row per finding that spreadsheets and scripts read back unchanged.

Regenerate tests/golden/report/ after an intended change with ``UPDATE_GOLDEN=1 pytest tests/report``.
"""

from __future__ import annotations

import csv
import io
import os

import pytest

from domosec.assessment import Assessment
from domosec.report.csv_out import COLUMNS, render_csv
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))


def golden_assessment(name: str) -> Assessment:
    return Assessment.model_validate_json((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("name", EXAMPLES)
def test_matches_golden_file(name: str) -> None:
    text = render_csv(golden_assessment(name))
    golden = GOLDEN / "report" / f"{name}.csv"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(text.encode("utf-8"))
    assert text == golden.read_bytes().decode("utf-8"), f"{name}: CSV differs from the golden file"


def test_one_row_per_finding_worst_first_with_the_facts_of_each_finding() -> None:
    a = golden_assessment("family-home")
    text = render_csv(a)
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    rows = rows_of(text)
    assert len(rows) == len(a.findings)
    assert [int(r["inherent_score"]) for r in rows] == sorted((f.inherent.score for f in a.findings), reverse=True)
    by_id = {f.id: f for f in a.findings}
    for row in rows:
        f = by_id[row["finding_id"]]
        assert (row["rule_id"], row["asset_id"], row["reason"], row["treatment"]) == (f.rule_id, f.asset.id, f.reason, f.treatment)
        assert (row["line"], row["inherent_level"], row["residual_level"]) == (str(f.asset.line), f.inherent.level, f.residual.level)
        assert row["controls"].split("; ") == f.controls
        assert row["how_to_fix"], "every built-in rule says how to fix it"
    accepted = [r for r in rows if r["treatment"] == "accepted"]
    assert accepted and all(r["accepted_by"] and r["accepted_until"] and r["acceptance_reason"] for r in accepted)


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused() -> None:
    a = golden_assessment("well-kept-home").model_copy(deep=True)
    a.findings[0].asset.name = '=HYPERLINK("http://127.0.0.1/x","click")'
    a.findings[0].reason = '@SUM(1+1) and a line break\nin the middle, with, commas and "quotes"'
    row = rows_of(render_csv(a))[0]
    assert row["asset_name"] == "'" + a.findings[0].asset.name
    assert row["reason"] == "'" + a.findings[0].reason, "newlines, commas and quotes survive the round trip"


def test_an_assessment_without_findings_gives_just_the_header() -> None:
    a = golden_assessment("well-kept-home").model_copy(update={"findings": []})
    assert render_csv(a) == ",".join(COLUMNS) + "\r\n"
