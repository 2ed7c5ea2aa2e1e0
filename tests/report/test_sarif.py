"""SARIF output: valid against the official 2.1.0 schema, and carrying what code-scanning tools read.

The input is each example's golden assessment (tests/golden/*.json), so these tests exercise the
renderer alone. Regenerate tests/golden/report/ after an intended change with
``UPDATE_GOLDEN=1 pytest tests/report`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from domosec.assessment import Assessment
from domosec.errors import InputError
from domosec.report.sarif import FINGERPRINT, SRCROOT, render_sarif
from tests.conftest import ROOT
from tests.schemas.validate import sarif_errors

GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
SEVERITY_BANDS = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}


def golden_assessment(name: str) -> Assessment:
    return Assessment.model_validate_json((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def sarif_of(a: Assessment, root: Path | None = None) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render_sarif(a, root=root))
    return document


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_is_valid_sarif(name: str) -> None:
    assert sarif_errors(sarif_of(golden_assessment(name))) == []


def test_the_schema_check_catches_a_broken_document() -> None:
    document = sarif_of(golden_assessment("well-kept-home"))
    document["runs"][0]["results"][0]["level"] = "critical"  # not a SARIF level
    del document["runs"][0]["tool"]["driver"]["name"]
    assert len(sarif_errors(document)) == 2


def test_matches_golden_file() -> None:
    text = render_sarif(golden_assessment("product-under-design"))
    golden = GOLDEN / "report" / "product-under-design.sarif"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), "SARIF differs from the golden file; see the module docstring"


def test_results_point_at_the_asset_in_the_model_with_the_stable_id_as_fingerprint() -> None:
    a = golden_assessment("family-home")
    run = sarif_of(a)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(a.findings)
    for result, finding in zip(run["results"], a.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.rule_id
        assert result["partialFingerprints"] == {FINGERPRINT: finding.id}
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": "examples/family-home.yaml", "uriBaseId": SRCROOT}
        assert (physical["region"]["startLine"], physical["region"]["startColumn"]) == (finding.asset.line, finding.asset.col)
        if finding.is_unverified:  # a question for the assessor: a note to review, whatever its rating
            assert result["message"]["text"].startswith(f"Unverified: {finding.reason}")
            assert (result["level"], result["kind"]) == ("note", "review")
            continue
        assert result["message"]["text"].startswith(finding.reason)
        expected_level = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}[finding.inherent.level]
        assert result["level"] == expected_level
    line = (
        (ROOT / "examples/family-home.yaml")
        .read_text(encoding="utf-8")
        .splitlines()[run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] - 1]
    )
    assert f"id: {a.findings[0].asset.id}" in line, "the region must be the line where the asset is defined"


def test_rules_carry_descriptions_help_and_the_security_severity_of_their_base_rating() -> None:
    a = golden_assessment("family-home")
    rules = {r["id"]: r for r in sarif_of(a)["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {r.id for r in a.rules}
    for rule in rules.values():
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "How to fix" in rule["help"]["markdown"] and "How to fix" in rule["help"]["text"]
    levels = a.matrix["levels"]
    for info in a.rules:
        base = levels[info.likelihood - 1][info.impact - 1]
        rule = rules[info.id]
        assert rule["defaultConfiguration"]["level"] == {"critical": "error", "high": "error", "medium": "warning"}.get(base, "note")
        if base in SEVERITY_BANDS:
            low, high = SEVERITY_BANDS[base]
            assert low <= float(rule["properties"]["security-severity"]) <= high, info.id


def test_a_rules_severity_does_not_change_with_the_findings_of_a_run() -> None:
    """GitHub keeps one severity per rule: an upload with fewer or milder findings must not change it."""
    a = golden_assessment("family-home")
    before = {r["id"]: r for r in sarif_of(a)["runs"][0]["tool"]["driver"]["rules"]}
    fewer = a.model_copy(deep=True)
    fewer.findings = [f for f in fewer.findings if f.inherent.level not in ("critical", "high")]
    after = {r["id"]: r for r in sarif_of(fewer)["runs"][0]["tool"]["driver"]["rules"]}
    for rule_id, rule in before.items():
        assert rule["properties"].get("security-severity") == after[rule_id]["properties"].get("security-severity"), rule_id
        assert rule["defaultConfiguration"] == after[rule_id]["defaultConfiguration"], rule_id


def test_every_result_carries_the_security_severity_of_its_own_rating() -> None:
    a = golden_assessment("family-home")
    results = sarif_of(a)["runs"][0]["results"]
    for result, finding in zip(results, a.findings, strict=True):
        if finding.inherent.level == "info" or finding.is_unverified:
            assert "security-severity" not in result["properties"]
            continue
        low, high = SEVERITY_BANDS[finding.inherent.level]
        assert low <= float(result["properties"]["security-severity"]) <= high, finding.id


def test_every_rule_is_tagged_security_so_github_reads_its_severity() -> None:
    """GitHub code scanning ignores ``security-severity`` unless the rule has the ``security`` tag."""
    a = golden_assessment("family-home")
    rules = sarif_of(a)["runs"][0]["tool"]["driver"]["rules"]
    dimensions = {r.id: r.dimension for r in a.rules}
    assert "privacy" in dimensions.values(), "the example should run privacy rules"
    for rule in rules:
        assert "security" in rule["properties"]["tags"], rule["id"]
        assert ("privacy" in rule["properties"]["tags"]) == (dimensions[rule["id"]] == "privacy"), rule["id"]


def test_every_rule_links_to_its_page_and_the_base_url_can_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    a = golden_assessment("family-home")
    monkeypatch.delenv("DOMOSEC_RULES_DOCS_URL", raising=False)
    for rule in sarif_of(a)["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["helpUri"].endswith(f"/docs/rules/{rule['id']}.md")
        assert (ROOT / "docs" / "rules" / f"{rule['id']}.md").is_file(), "helpUri must name a page that exists"
    monkeypatch.setenv("DOMOSEC_RULES_DOCS_URL", "https://docs.example.org/rules")
    uris = [r["helpUri"] for r in sarif_of(a)["runs"][0]["tool"]["driver"]["rules"]]
    assert uris[0] == f"https://docs.example.org/rules/{a.rules[0].id}.md"
    assert sarif_errors(sarif_of(a)) == []
    monkeypatch.setenv("DOMOSEC_RULES_DOCS_URL", "docs rules")
    with pytest.raises(InputError) as bad:
        sarif_of(a)
    assert bad.value.diagnostics[0].code == "bad-setting"


def test_accepted_findings_are_suppressed_and_open_ones_are_not() -> None:
    a = golden_assessment("product-under-design")
    results = {r["partialFingerprints"][FINGERPRINT]: r for r in sarif_of(a)["runs"][0]["results"]}
    accepted = [f for f in a.findings if f.treatment == "accepted"]
    assert accepted, "the example should have an accepted finding"
    for f in a.findings:
        suppressions = results[f.id].get("suppressions", [])
        if f.treatment == "accepted":
            assert suppressions[0]["status"] == "accepted"
            assert f.acceptance is not None and f.acceptance.approver in suppressions[0]["justification"]
        else:
            assert suppressions == []


def test_absolute_model_paths_become_relative_to_the_root(tmp_path: Path) -> None:
    a = golden_assessment("well-kept-home")
    inside = tmp_path / "repo" / "homes" / "my home.yaml"
    moved = a.model_copy(deep=True)
    for f in moved.findings:
        f.asset.file = str(inside)
    location = sarif_of(moved, root=tmp_path / "repo")["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "homes/my%20home.yaml", "uriBaseId": SRCROOT}
    elsewhere = sarif_of(moved, root=tmp_path / "other")["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert elsewhere["artifactLocation"] == {"uri": inside.as_uri()}


def test_output_is_deterministic() -> None:
    a = golden_assessment("short-term-rental")
    assert render_sarif(a) == render_sarif(golden_assessment("short-term-rental"))
