"""Unverified findings: a fact a rule needs is not stated, so the rule asks instead of staying silent.

A rule with an ``unverified:`` block returns a boolean ``verified`` column; a row with ``verified =
false`` is an unverified finding with its own confidence, a likelihood one step lower, the assessor's
question and the fact paths to add. Every output shows it apart and ``--fail-on`` ignores it unless
``--fail-on-unverified``.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest

from domosec.assessment import Assessment, Finding
from domosec.engine.assess import assess
from domosec.engine.examples import check_examples
from domosec.engine.rule import UNVERIFIED_LIKELIHOOD_DROP
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.errors import RuleError
from domosec.model.load import load_model
from domosec.report.csv_out import render_csv
from domosec.report.markdown import render_markdown
from domosec.report.oscal import render_assessment_results
from domosec.report.sarif import sarif_document
from tests.conftest import run_cli
from tests.schemas.validate import oscal_errors, sarif_errors

HOME = """\
domosec: 1
system: {{id: flat, name: Flat}}
devices:
  - id: front-lock
    name: Front door lock
    type: lock
    actuators: [lock]
    support_end: 2031-01-01
    update: {{mechanism: automatic, signed: true}}
{fail_safe}
"""


def _home(tmp_path: Path, fail_safe: str = "") -> Path:
    path = tmp_path / "flat.yaml"
    path.write_text(HOME.format(fail_safe=fail_safe), encoding="utf-8")
    return path


def _rules(*ids: str) -> list[LoadedRule]:
    return [lr for lr in load_rules() if lr.rule.id in ids]


def _assess(path: Path, *ids: str) -> Assessment:
    import datetime as dt

    return assess([load_model(path)], _rules(*ids) if ids else load_rules(), as_of=dt.date(2026, 11, 23))


def _only(a: Assessment, rule_id: str) -> Finding:
    found = [f for f in a.findings if f.rule_id == rule_id]
    assert len(found) == 1, found
    return found[0]


def test_an_unstated_fail_safe_on_a_lock_is_an_unverified_finding_with_its_question(tmp_path: Path) -> None:
    a = _assess(_home(tmp_path), "DEV-S15")
    f = _only(a, "DEV-S15")
    rule = _rules("DEV-S15")[0].rule
    assert f.confidence == "unverified"
    assert f.unverified is not None
    assert f.unverified.question.endswith("?")
    assert f.unverified.facts == ["devices[].fail_safe.on_power_loss", "devices[].fail_safe.on_network_loss"]
    assert "does not state" in f.reason
    # One step less likely than the rule's base; the lock's safety-actuator factor still raises the impact.
    assert f.inherent.likelihood == rule.likelihood - UNVERIFIED_LIKELIHOOD_DROP
    assert "unverified" in f.rating_reason
    assert a.summary.unverified == 1


def test_stating_the_fact_settles_it_either_way_and_keeps_the_finding_id(tmp_path: Path) -> None:
    unverified = _only(_assess(_home(tmp_path), "DEV-S15"), "DEV-S15")
    unsafe = _assess(_home(tmp_path, "    fail_safe: {on_power_loss: unsafe, on_network_loss: keeps_working}"), "DEV-S15")
    confirmed = _only(unsafe, "DEV-S15")
    assert confirmed.confidence == "confirmed" and confirmed.unverified is None
    assert confirmed.id == unverified.id
    assert confirmed.inherent.likelihood == unverified.inherent.likelihood + UNVERIFIED_LIKELIHOOD_DROP
    safe = _assess(_home(tmp_path, "    fail_safe: {on_power_loss: safe_state, on_network_loss: keeps_working}"), "DEV-S15")
    assert safe.findings == []


def test_an_unverified_finding_asks_in_the_statement_of_applicability_instead_of_contradicting(tmp_path: Path) -> None:
    path = _home(tmp_path)
    text = (
        path.read_text(encoding="utf-8")
        + "controls:\n  - {id: '7.1.4', status: implemented, evidence: [{kind: document, ref: spec.pdf}]}\n"
    )
    path.write_text(text, encoding="utf-8")
    a = _assess(path, "DEV-S15")
    control = next(c for c in a.controls if c.control_id == "7.1.4")
    assert control.status == "implemented"
    assert control.findings == []
    assert any("Front door lock: What does this device do" in q for q in control.questions)


@pytest.mark.parametrize("rule_id", ["DEV-S03", "DEV-S04", "DEV-S15", "DEV-S43"])
def test_rule_examples_assert_their_unverified_findings(rule_id: str) -> None:
    lr = _rules(rule_id)[0]
    assert lr.rule.unverified is not None
    assert check_examples(lr).problems == []


def test_an_example_that_forgets_its_unverified_asset_fails(tmp_path: Path) -> None:
    lr = _rules("DEV-S15")[0]
    for kind in ("fail", "pass"):
        text = lr.example(kind).read_text(encoding="utf-8").replace("# expect-unverified:", "# no longer expected:")
        (tmp_path / lr.example(kind).name).write_text(text, encoding="utf-8")
    (tmp_path / Path(lr.file).name).write_text(Path(lr.file).read_text(encoding="utf-8"), encoding="utf-8")
    [copy] = load_rules([tmp_path], include_builtin=False)
    problems = check_examples(copy).problems
    assert any("has no '# expect-unverified: DEV-S15 <asset-id>' line" in p for p in problems)
    assert any("unexpected unverified finding on 'boiler'" in p for p in problems)


def test_a_verified_column_needs_the_unverified_block(tmp_path: Path) -> None:
    rule = textwrap.dedent(
        """\
        id: DEV-S90
        name: asks-without-saying
        title: Returns verified without an unverified block
        risk_source: "6.2.3"
        risk_items: [R-S-DV-13]
        stride: [denial_of_service]
        likelihood: 2
        impact: 3
        mitigated_by: ["7.1.4"]
        scope: devices
        summary: Finds every device.
        why_it_matters: test
        how_to_fix: test
        query: |
          select home_id, 'device' as asset_kind, device_id as asset_id, 'x' as reason, false as verified from devices
        """
    )
    (tmp_path / "DEV-S90-asks-without-saying.yaml").write_text(rule, encoding="utf-8")
    rules = load_rules([tmp_path], include_builtin=False)
    import datetime as dt

    with pytest.raises(RuleError) as caught:
        assess([load_model(_home(tmp_path))], rules, as_of=dt.date(2026, 11, 23))
    [d] = caught.value.diagnostics
    assert d.code == "rule-output"
    assert "needs an 'unverified:' block" in d.message


def test_fail_on_ignores_unverified_findings_unless_asked(tmp_path: Path) -> None:
    path = _home(tmp_path, "    fail_safe: {on_power_loss: safe_state, on_network_loss: keeps_working}")
    stated = run_cli("assess", path, "--format", "json", "--fail-on", "low")
    assert stated.returncode == 0, stated.stderr
    path = _home(tmp_path)
    plain = run_cli("assess", path, "--format", "json", "--fail-on", "low")
    assert plain.returncode == 0, plain.stderr
    findings = json.loads(plain.stdout)["findings"]
    assert [f["confidence"] for f in findings] == ["unverified"]
    strict = run_cli("assess", path, "--format", "json", "--fail-on", "low", "--fail-on-unverified")
    assert strict.returncode == 1
    assert "at or above low" in strict.stderr


def test_every_report_shows_unverified_findings_apart(tmp_path: Path) -> None:
    path = _home(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8")
        + "  - {id: cam, type: camera, support_end: 2020-01-01, update: {mechanism: automatic}, fail_safe: {on_power_loss: safe_state}}\n",
        encoding="utf-8",
    )
    a = _assess(path, "DEV-S03", "DEV-S15")
    [unverified] = [f for f in a.findings if f.is_unverified]
    [confirmed] = [f for f in a.findings if not f.is_unverified]
    assert (unverified.rule_id, confirmed.rule_id) == ("DEV-S15", "DEV-S03")

    sarif = sarif_document(a)
    assert sarif_errors(sarif) == []
    results = {r["properties"]["key"]: r for r in sarif["runs"][0]["results"]}
    note = results[unverified.key]
    assert (note["level"], note["kind"]) == ("note", "review")
    assert note["properties"]["confidence"] == "unverified"
    assert note["properties"]["facts"] == unverified.unverified.facts if unverified.unverified else False
    assert "security-severity" not in note["properties"]
    assert results[confirmed.key]["kind"] == "fail" and results[confirmed.key]["level"] != "note"

    md = render_markdown(a)
    fix_first, rest = md.split("### Fix first", 1)[1].split("<details>", 1)
    assert "DEV-S03" in fix_first and "DEV-S15" not in fix_first
    assert "<b>Unverified</b>: 1 finding" in rest and "devices[].fail_safe.on_power_loss" in rest

    rows = {r["rule_id"]: r for r in csv.DictReader(io.StringIO(render_csv(a)))}
    assert rows["DEV-S15"]["confidence"] == "unverified" and rows["DEV-S15"]["question"].endswith("?")
    assert rows["DEV-S03"]["confidence"] == "confirmed" and rows["DEV-S03"]["question"] == ""

    doc = json.loads(render_assessment_results(a))
    assert oscal_errors(doc) == []
    [result] = doc["assessment-results"]["results"]
    observed = {next(p["value"] for p in o["props"] if p["name"] == "finding-id"): o for o in result["observations"]}
    assert "Question for the assessor" in observed[unverified.id]["remarks"]
    risked = {next(p["value"] for p in r["props"] if p["name"] == "finding-id") for r in result["risks"]}
    assert risked == {confirmed.id}


def test_only_a_rule_that_cannot_confirm_may_leave_out_its_confirmed_expectation(tmp_path: Path) -> None:
    lr = _rules("DEV-S43")[0]
    assert lr.rule.unverified is not None and lr.rule.unverified.only
    for kind in ("fail", "pass"):
        (tmp_path / lr.example(kind).name).write_text(lr.example(kind).read_text(encoding="utf-8"), encoding="utf-8")
    rule_text = Path(lr.file).read_text(encoding="utf-8")
    assert "  only: true\n" in rule_text
    (tmp_path / Path(lr.file).name).write_text(rule_text.replace("  only: true\n", ""), encoding="utf-8")
    [copy] = load_rules([tmp_path], include_builtin=False)
    assert any("has no '# expect: DEV-S43 <asset-id>' line" in p for p in check_examples(copy).problems)
