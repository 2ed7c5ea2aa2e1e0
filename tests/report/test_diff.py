"""Comparing two assessments: findings matched by stable ID; new, resolved, changed; control-status changes."""

from __future__ import annotations

import json

from domosec.assessment import Assessment, Rating
from domosec.diff import AssessmentDiff, diff_assessments, new_at_or_above
from domosec.report.diff import render_diff_json, render_diff_markdown
from domosec.report.markdown import COMMENT_LIMIT
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"


def golden_assessment(name: str) -> Assessment:
    return Assessment.model_validate_json((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def edited() -> tuple[Assessment, Assessment]:
    """The family home, and a later version of it: one finding fixed, one introduced, one re-rated, one control changed."""
    old = golden_assessment("family-home")
    new = old.model_copy(deep=True)
    fixed = new.findings.pop(0)
    high = next(f for f in golden_assessment("elderly-care").findings if f.inherent.level == "high" and f.treatment == "open")
    introduced = high.model_copy(update={"home_id": "family-home"})
    new.findings.append(introduced)
    rerated = new.findings[5]
    rerated.inherent = Rating(likelihood=1, impact=1, score=1, level="info")
    rerated.treatment = "treatment_planned"
    moved = new.findings[6]
    moved.asset.line = (moved.asset.line or 0) + 40  # the model was edited above it: same finding
    moved.reason = moved.reason.replace("'", '"')
    control = next(c for c in new.controls if c.status == "not_implemented")
    control.status = "implemented"
    assert fixed.id != introduced.id
    return old, new


def test_an_assessment_compared_with_itself_has_no_differences() -> None:
    a = golden_assessment("family-home")
    d = diff_assessments(a, golden_assessment("family-home"))
    assert (d.new_findings, d.resolved, d.changed, d.control_changes) == ([], [], [], [])
    assert d.summary.unchanged == len(a.findings)
    assert "No differences" in render_diff_markdown(d)


def test_new_resolved_changed_and_control_changes_are_found_by_stable_id() -> None:
    old, new = edited()
    d = diff_assessments(old, new, old_source="old.json", new_source="new.json")
    assert [f.id for f in d.new_findings] == [new.findings[-1].id]
    assert [f.id for f in d.resolved] == [old.findings[0].id]
    (change,) = d.changed
    assert change.id == new.findings[5].id
    assert change.changes == ["inherent level", "treatment"]
    assert (change.before.treatment, change.after.treatment) == ("open", "treatment_planned")
    (cc,) = d.control_changes
    assert (cc.before, cc.after) == ("not_implemented", "implemented")
    assert d.summary.unchanged == len(old.findings) - 2, "a finding that only moved in the file is unchanged"
    assert (d.old.source, d.new.source) == ("old.json", "new.json")


def test_fail_on_counts_only_new_open_findings_at_or_above_the_level() -> None:
    old, new = edited()
    d = diff_assessments(old, new)
    introduced = d.new_findings[0]
    assert introduced.inherent.level == "high"
    assert new_at_or_above(d, "medium") == new_at_or_above(d, "high") == [introduced]
    assert new_at_or_above(d, "critical") == [], "the re-rated and the unchanged critical findings are not new"
    accepted = new.model_copy(deep=True)
    accepted.findings[-1].treatment = "accepted"
    assert new_at_or_above(diff_assessments(old, accepted), "info") == [], "an accepted new finding does not fail the run"
    assert new_at_or_above(diff_assessments(new, old), "critical") == [old.findings[0]], "the other way round, the fix is new"


def test_json_round_trips_and_markdown_names_each_difference() -> None:
    old, new = edited()
    d = diff_assessments(old, new)
    assert AssessmentDiff.model_validate(json.loads(render_diff_json(d))) == d
    text = render_diff_markdown(d)
    assert "### New findings (1)" in text and "### Changed findings (1)" in text and "### Control status changes (1)" in text
    assert "Resolved findings (1)" in text
    assert f"`{d.new_findings[0].asset.id}`" in text


def test_markdown_of_a_large_diff_stays_under_the_comment_limit() -> None:
    a = golden_assessment("family-home")
    empty = a.model_copy(update={"findings": []})
    many = [f.model_copy(update={"id": f"{f.id}{i:05d}"}) for i in range(40) for f in a.findings]
    d = diff_assessments(empty, a.model_copy(update={"findings": many}))
    text = render_diff_markdown(d)
    assert len(text) <= COMMENT_LIMIT and "not shown here" in text


def test_different_dates_and_rule_sets_are_pointed_out() -> None:
    old, new = edited()
    new = new.model_copy(update={"as_of": "2027-02-01", "rules": new.rules[1:]})
    text = render_diff_markdown(diff_assessments(old, new))
    assert "different dates (2026-11-23 and 2027-02-01)" in text
    assert f"Rules only in the old assessment: {old.rules[0].id}" in text
