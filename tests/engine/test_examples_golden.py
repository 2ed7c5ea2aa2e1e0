"""Each example model gives exactly the assessment in tests/golden/, and the findings a reviewer expects.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/engine/test_examples_golden.py``
and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from domosec.assessment import Assessment
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model
from domosec.report.json_out import render_json

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
DAY = dt.date(2026, 11, 23)
RULES = load_rules()


def assessment_of(name: str) -> Assessment:
    cwd = Path.cwd()
    os.chdir(ROOT)  # asset.file is the path as given: keep it relative, as a user in the repo would see it
    try:
        return assess([load_model(f"examples/{name}.yaml")], RULES, as_of=DAY)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_matches_golden_json(name: str) -> None:
    text = render_json(assessment_of(name))
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file; run UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == golden.read_text(encoding="utf-8"), f"{name}: assessment differs from {golden.name}"


def test_well_kept_home_has_nothing_high_or_critical() -> None:
    a = assessment_of("well-kept-home")
    serious = [(f.rule_id, f.asset.id, f.reason) for f in a.findings if f.inherent.level in ("high", "critical")]
    assert serious == []
