"""OSCAL output: valid against NIST's OSCAL 1.2.3 JSON schemas, with every cross-reference resolving.

Schema validity alone does not make a useful document, so these tests also check what a reader of the
three documents relies on: the assessment's findings target statements that exist in the catalog,
every UUID reference points at something defined, the POA&M lists exactly the open findings with the
same UUIDs as the assessment results, and UUIDs and timestamps are derived, never random.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from domosec.assessment import Assessment
from domosec.catalog.load import CLAUSE_7_COUNT, load_catalogue
from domosec.errors import InputError
from domosec.report.oscal import OSCAL_VERSION, render_assessment_results, render_catalog, render_poam
from tests.conftest import ROOT
from tests.schemas.validate import oscal_errors

GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))


def golden_assessment(name: str) -> Assessment:
    return Assessment.model_validate_json((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def catalog_doc(as_of: str = "2026-11-23") -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_catalog(load_catalogue(), as_of=as_of))
    return doc


def ar_doc(a: Assessment) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_assessment_results(a))
    return doc


def poam_doc(a: Assessment) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render_poam(a))
    return doc


def controls_of(catalog: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    stack = list(catalog["catalog"]["groups"])
    while stack:
        group = stack.pop()
        found += group.get("controls", [])
        stack += group.get("groups", [])
    return found


def test_catalog_is_valid_and_holds_the_45_clause_7_items_grouped_by_clause() -> None:
    doc = catalog_doc()
    assert oscal_errors(doc) == []
    assert doc["catalog"]["metadata"]["oscal-version"] == OSCAL_VERSION
    top = doc["catalog"]["groups"][0]
    assert top["id"] == "iso27403-7"
    assert [g["id"] for g in top["groups"]] == ["iso27403-7.1", "iso27403-7.2", "iso27403-7.3"]
    controls = controls_of(doc)
    assert len(controls) == CLAUSE_7_COUNT
    cat = load_catalogue()
    for control in controls:
        label = next(p["value"] for p in control["props"] if p["name"] == "label")
        item = cat.controls[label]
        assert control["title"] == item.title
        statement = next(p for p in control["parts"] if p["name"] == "statement")
        assert statement["id"] == f"iso27403-{label}_smt" and statement["prose"] == item.intent.strip()
        objectives = next(p for p in control["parts"] if p["name"] == "assessment-objective")["parts"]
        assert len(objectives) == len(item.evidence)


@pytest.mark.parametrize("name", EXAMPLES)
def test_assessment_results_and_poam_of_every_example_are_valid(name: str) -> None:
    a = golden_assessment(name)
    assert oscal_errors(ar_doc(a)) == []
    if any(f.is_open for f in a.findings):
        assert oscal_errors(poam_doc(a)) == []


def test_the_schema_check_catches_a_broken_document() -> None:
    doc = ar_doc(golden_assessment("well-kept-home"))
    result = doc["assessment-results"]["results"][0]
    result["findings"][0]["target"]["target-id"] = "7.2.15"  # an OSCAL token cannot start with a digit
    result["risks"][0]["status"] = ""
    del result["observations"][0]["collected"]
    assert len(oscal_errors(doc)) >= 3


def test_assessment_results_link_findings_observations_risks_and_controls() -> None:
    a = golden_assessment("family-home")
    doc = ar_doc(a)["assessment-results"]
    statements = {p["id"] for c in controls_of(catalog_doc()) for p in c["parts"] if p["name"] == "statement"}
    (result,) = doc["results"]
    observations = {o["uuid"]: o for o in result["observations"]}
    risks = {r["uuid"]: r for r in result["risks"]}
    # every finding is an observation; only confirmed ones are risks (an unverified finding is a question)
    assert len(observations) == len(a.findings)
    assert len(risks) == len([f for f in a.findings if not f.is_unverified])
    subjects = {c["uuid"] for c in result["local-definitions"]["components"]} | {p["uuid"] for p in doc["metadata"].get("parties", [])}
    for o in observations.values():
        assert all(s["subject-uuid"] in subjects for s in o["subjects"])
    for r in risks.values():
        assert all(ro["observation-uuid"] in observations for ro in r["related-observations"])
    applicable = [c for c in a.controls if c.applicable]
    assert len(result["findings"]) == len(applicable)
    by_target = {f["target"]["target-id"]: f for f in result["findings"]}
    for c in applicable:
        finding = by_target[f"iso27403-{c.control_id}_smt"]
        assert finding["target"]["target-id"] in statements
        assert finding["target"]["status"]["state"] == ("satisfied" if c.status == "implemented" else "not-satisfied")
        linked = {r["risk-uuid"] for r in finding.get("related-risks", [])}
        assert linked <= risks.keys()
        assert len(linked) == sum(1 for f in a.findings if c.control_id in f.controls and not f.is_unverified)
    tool = result["local-definitions"]["assessment-assets"]["components"][0]["uuid"]
    assert all(r["origins"][0]["actors"][0]["actor-uuid"] == tool for r in risks.values())


def test_import_ap_points_at_an_assessment_plan_not_at_the_results() -> None:
    """``import-ap`` resolves to a back-matter resource holding a valid OSCAL assessment plan of the same controls."""
    a = golden_assessment("family-home")
    doc = ar_doc(a)["assessment-results"]
    href = doc["import-ap"]["href"]
    assert href.startswith("#") and href[1:] != doc["uuid"]
    resources = {r["uuid"]: r for r in doc["back-matter"]["resources"]}
    embedded = resources[href[1:]]["base64"]
    assert embedded["media-type"] == "application/oscal.ap+json"
    plan = json.loads(base64.b64decode(embedded["value"]))
    assert oscal_errors(plan) == []
    ap = plan["assessment-plan"]
    assert ap["uuid"] != doc["uuid"]
    planned = {c["control-id"] for c in ap["reviewed-controls"]["control-selections"][0]["include-controls"]}
    (result,) = doc["results"]
    reviewed = result["reviewed-controls"]["control-selections"][0]
    assert {c["control-id"] for c in reviewed["include-controls"] + reviewed.get("exclude-controls", [])} == planned
    ssp = ap["import-ssp"]["href"]
    model = {r["uuid"]: r for r in ap["back-matter"]["resources"]}[ssp[1:]]
    assert model["rlinks"] == [{"href": a.homes[0].file}]


def test_the_plan_check_catches_a_broken_plan() -> None:
    doc = ar_doc(golden_assessment("well-kept-home"))["assessment-results"]
    resource = next(r for r in doc["back-matter"]["resources"] if "base64" in r)
    plan = json.loads(base64.b64decode(resource["base64"]["value"]))
    del plan["assessment-plan"]["import-ssp"]
    assert oscal_errors(plan) != []


def test_one_result_per_home_when_several_homes_are_assessed_together() -> None:
    a, b = golden_assessment("family-home"), golden_assessment("elderly-care")
    both = a.model_copy(
        update={"homes": a.homes + b.homes, "findings": a.findings + b.findings, "controls": a.controls + b.controls, "rules": a.rules}
    )
    doc = ar_doc(both)
    assert oscal_errors(doc) == []
    results = doc["assessment-results"]["results"]
    assert [len(r["observations"]) for r in results] == [len(a.findings), len(b.findings)]


def test_poam_lists_the_open_findings_with_the_same_uuids_as_the_assessment_results() -> None:
    a = golden_assessment("product-under-design")
    poam = poam_doc(a)["plan-of-action-and-milestones"]
    ar = ar_doc(a)["assessment-results"]["results"][0]
    open_findings = [f for f in a.findings if f.is_open and not f.is_unverified]
    assert 0 < len(open_findings) < len(a.findings), "the example has open and accepted findings"
    assert len(poam["poam-items"]) == len(open_findings)
    assert {r["uuid"] for r in poam["risks"]} <= {r["uuid"] for r in ar["risks"]}
    assert {o["uuid"] for o in poam["observations"]} <= {o["uuid"] for o in ar["observations"]}
    risks = {r["uuid"]: r for r in poam["risks"]}
    for item in poam["poam-items"]:
        (related,) = item["related-risks"]
        assert related["risk-uuid"] in risks
    planned = [r for r in poam["risks"] if r["status"] == "remediating"]
    assert planned and all(r["remediations"][0]["lifecycle"] == "planned" for r in planned)
    assert poam["system-id"] == {"id": a.homes[0].home_id}


def test_poam_refuses_an_assessment_with_nothing_open() -> None:
    a = golden_assessment("well-kept-home")
    closed = a.model_copy(update={"findings": [f.model_copy(update={"treatment": "accepted"}) for f in a.findings]})
    with pytest.raises(InputError, match="no open findings"):
        render_poam(closed)


def test_uuids_and_timestamps_are_derived_from_the_assessment() -> None:
    a = golden_assessment("elderly-care")
    first, again = render_assessment_results(a), render_assessment_results(golden_assessment("elderly-care"))
    assert first == again
    doc = json.loads(first)["assessment-results"]
    assert doc["metadata"]["last-modified"] == f"{a.as_of}T00:00:00Z"
    assert doc["results"][0]["start"] == f"{a.as_of}T00:00:00Z"
    later = a.model_copy(update={"as_of": "2027-01-05"})
    moved = json.loads(render_assessment_results(later))["assessment-results"]
    assert moved["uuid"] != doc["uuid"], "a changed assessment is a new document"
    assert moved["results"][0]["risks"][0]["uuid"] == doc["results"][0]["risks"][0]["uuid"], "a finding keeps its risk UUID"
    assert catalog_doc("2027-01-05")["catalog"]["metadata"]["last-modified"] == "2027-01-05T00:00:00Z"
    assert catalog_doc()["catalog"]["uuid"] == catalog_doc("2027-01-05")["catalog"]["uuid"], "same catalogue version, same UUID"
