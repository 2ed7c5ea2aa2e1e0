"""The Assessment as OSCAL assessment-results: one result per home.

Each result holds an observation and a risk per confirmed domosec finding (an *unverified* finding, on a
fact the model does not state, is an observation only, with the assessor's question in its remarks, and
no OSCAL finding links it), and an OSCAL finding per applicable
clause-7 item: its target is the item's statement in the catalog (``--format oscal-catalog``), its
state ``satisfied`` only when domosec judged the item implemented, and it links the observations and
risks of the findings that the item would treat. Items that do not apply are listed as excluded in
the result's reviewed controls. ``import-ap`` points at a back-matter resource that holds the
assessment plan these results carry out, an OSCAL assessment-plan written by ``plan.py``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import orjson

from domosec.assessment import Assessment, ControlAssessment, Finding, Home
from domosec.report.oscal.common import (
    assessment_props,
    control_id,
    line,
    metadata,
    multiline,
    prop,
    props,
    stable_uuid,
    statement_id,
    timestamp,
    with_list,
)
from domosec.report.oscal.evidence import assessment_assets, components, observation, observation_uuid, parties, risk, risk_uuid
from domosec.report.oscal.plan import model_resources, plan_resource, plan_resource_uuid
from domosec.report.oscal.software import component_observations, software_assets

OBJECTIVE_STATUS: dict[str, tuple[str, str, str | None]] = {
    # domosec status: (objective state, reason, implementation state)
    "implemented": ("satisfied", "pass", "implemented"),
    "declared_without_evidence": ("not-satisfied", "other", "implemented"),
    "partial": ("not-satisfied", "fail", "partial"),
    "planned": ("not-satisfied", "fail", "planned"),
    "contradicted": ("not-satisfied", "fail", None),
    "not_implemented": ("not-satisfied", "fail", None),
    "unknown": ("not-satisfied", "other", None),
}


def render_assessment_results(assessment: Assessment) -> str:
    return orjson.dumps({"assessment-results": assessment_results(assessment)}, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def content_key(assessment: Assessment) -> str:
    """A digest of the whole assessment: a document's UUID changes exactly when its content does."""
    return hashlib.sha256(assessment.model_dump_json().encode("utf-8")).hexdigest()[:32]


def assessment_results(assessment: Assessment) -> dict[str, Any]:
    day = assessment.as_of
    homes = ", ".join(h.name for h in assessment.homes)
    findings: dict[str, list[Finding]] = defaultdict(list)
    for f in assessment.findings:
        findings[f.home_id].append(f)
    controls: dict[str, list[ControlAssessment]] = defaultdict(list)
    for c in assessment.controls:
        controls[c.home_id].append(c)
    meta = metadata(
        f"domosec assessment of {homes}",
        day,
        day,
        assessment_props(assessment.tool_version, assessment.catalogue_version, day),
        remarks="Written by domosec from a smart-home system model. Clause numbers and titles are those of ISO/IEC 27403; "
        "all descriptions are domosec's own words.",
    )
    with_list(meta, "parties", parties(assessment.findings))
    return {
        "uuid": stable_uuid("assessment-results", content_key(assessment)),
        "metadata": meta,
        "import-ap": {
            "href": f"#{plan_resource_uuid(assessment)}",
            "remarks": "The assessment plan is embedded in the back matter (an OSCAL assessment-plan in JSON).",
        },
        "results": [_result(assessment, home, findings[home.home_id], controls[home.home_id]) for home in assessment.homes],
        "back-matter": {"resources": [plan_resource(assessment), *model_resources(assessment.homes)]},
    }


def _result(assessment: Assessment, home: Home, findings: list[Finding], controls: list[ControlAssessment]) -> dict[str, Any]:
    day = assessment.as_of
    rules = {r.id: r for r in assessment.rules}
    treats: dict[str, list[Finding]] = defaultdict(list)
    confirmed = [f for f in findings if not f.is_unverified]
    for f in confirmed:
        for clause in f.controls:
            treats[clause].append(f)
    selection: dict[str, Any] = {"description": "The clause-7 items of ISO/IEC 27403 that apply to this home."}
    with_list(selection, "include-controls", [{"control-id": control_id(c.control_id)} for c in controls if c.applicable])
    with_list(selection, "exclude-controls", [{"control-id": control_id(c.control_id)} for c in controls if not c.applicable])
    if "include-controls" not in selection and "exclude-controls" not in selection:
        selection["include-all"] = {}
    local: dict[str, Any] = {"assessment-assets": assessment_assets(assessment.tool_version)}
    defined = components(findings, {home.home_id: home})
    with_list(local, "components", defined + software_assets(home, {c["uuid"] for c in defined}))
    open_count = sum(1 for f in findings if f.is_open)
    result: dict[str, Any] = {
        "uuid": stable_uuid("result", home.home_id, day),
        "title": line(f"{home.name}: ISO/IEC 27403 risk assessment"),
        "description": f"Automated assessment of the system model `{home.file}` with {len(assessment.rules)} domosec rules, "
        f"judged on {day}: {len(findings)} findings, {open_count} open.",
        "start": timestamp(day),
        "props": props(prop("home-id", home.home_id), prop("system-kind", home.kind), prop("model-file", home.file)),
        "local-definitions": local,
        "reviewed-controls": {"control-selections": [selection]},
    }
    with_list(result, "observations", [observation(f, day) for f in findings] + component_observations(home, day))
    with_list(result, "risks", [risk(f, rules.get(f.rule_id), day) for f in confirmed])
    with_list(result, "findings", [_finding(c, treats.get(c.control_id, [])) for c in controls if c.applicable])
    return result


def _finding(c: ControlAssessment, treated: list[Finding]) -> dict[str, Any]:
    state, reason, implementation = OBJECTIVE_STATUS.get(c.status, ("not-satisfied", "other", None))
    target: dict[str, Any] = {
        "type": "statement-id",
        "target-id": statement_id(c.control_id),
        "status": {"state": state, "reason": reason},
    }
    if implementation:
        target["implementation-status"] = {"state": implementation}
    body: dict[str, Any] = {
        "uuid": stable_uuid("finding", c.home_id, c.control_id),
        "title": line(f"{c.control_id} {c.title}"),
        "description": multiline(c.status_reason),
        "props": props(prop("control-status", c.status), prop("declared", c.declared or ""), *(prop("evidence", e) for e in c.evidence)),
        "target": target,
    }
    with_list(body, "related-observations", [{"observation-uuid": observation_uuid(f)} for f in treated])
    with_list(body, "related-risks", [{"risk-uuid": risk_uuid(f)} for f in treated])
    if c.questions:
        body["remarks"] = "Questions for the assessor:\n\n" + "\n".join(f"- {q}" for q in c.questions)
    return body
