"""Finding reasons read as plain English: a count agrees with its noun ("1 flow", "2 flows"), never "flow(s)"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from domosec.engine.assess import assess
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.model.load import load_model

RULES = load_rules()


@pytest.mark.parametrize("lr", RULES, ids=lambda lr: lr.rule.id)
def test_no_rule_builds_a_reason_with_a_bracketed_plural(lr: LoadedRule) -> None:
    assert "(s)" not in lr.rule.query and "(es)" not in lr.rule.query


def test_a_count_of_one_and_of_two_read_right(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(
        """\
domosec: 1
system: {id: clear, name: Flat with a plain-text cloud}
devices:
  - {id: cam, type: camera, sensors: [camera], data: [video]}
  - {id: plug, type: lighting_plug, data: [usage_patterns]}
services:
  - {id: one, kind: cloud_backend}
  - {id: two, kind: cloud_backend}
flows:
  - {id: f-1, from: cam, to: one, data: [video], encrypted: false}
  - {id: f-2, from: cam, to: two, data: [video], encrypted: false}
  - {id: f-3, from: plug, to: two, data: [usage_patterns], encrypted: false}
""",
        encoding="utf-8",
    )
    result = assess([load_model(str(path))], RULES, as_of=dt.date(2026, 12, 1))
    reasons = {f.asset.id: f.reason for f in result.findings if f.rule_id == "SVC-P10"}
    assert reasons["one"].endswith("without encryption over 1 flow."), reasons["one"]
    assert reasons["two"].endswith("without encryption over 2 flows."), reasons["two"]
