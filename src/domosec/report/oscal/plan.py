"""The minimal OSCAL assessment plan that an assessment's results import.

OSCAL assessment results must name the plan they carry out (``import-ap``). domosec's plan is fixed
by the tool: assess the system model of each home with the built-in and custom rules, and review
every clause-7 item of ISO/IEC 27403. This module writes that plan as an OSCAL 1.2.3
assessment-plan. An OSCAL plan in turn imports a system security plan; a home has none, so
``import-ssp`` points at a back-matter resource for the system model file, which is what domosec
assessed. The results embed the plan (base64) in a back-matter resource, so ``import-ap``
resolves inside the results file without a second file to keep next to it.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from domosec.assessment import Assessment, Home
from domosec.report.oscal.common import assessment_props, control_id, line, metadata, prop, props, stable_uuid, with_list

MEDIA_TYPE = "application/oscal.ap+json"
FILENAME = "domosec-assessment-plan.json"


def plan_uuid(assessment: Assessment) -> str:
    """The plan's UUID: the same tool, catalogue and homes give the same plan."""
    homes = "+".join(sorted(h.home_id for h in assessment.homes))
    return stable_uuid("assessment-plan", "domosec", assessment.tool_version, assessment.catalogue_version, homes)


def plan_resource_uuid(assessment: Assessment) -> str:
    return stable_uuid("assessment-plan-resource", plan_uuid(assessment))


def model_resource_uuid(home: Home) -> str:
    return stable_uuid("model", home.home_id)


def assessment_plan(assessment: Assessment) -> dict[str, Any]:
    """The ``assessment-plan`` object (without its root key)."""
    day = assessment.as_of
    homes = ", ".join(h.name for h in assessment.homes)
    meta = metadata(
        f"domosec assessment plan for {homes}",
        day,
        day,
        assessment_props(assessment.tool_version, assessment.catalogue_version, day),
        remarks="The plan domosec carries out: every rule over the system model, every clause-7 item reviewed.",
    )
    clauses = sorted({c.control_id for c in assessment.controls}, key=_clause_key)
    selection: dict[str, Any] = {"description": "Every clause-7 item of ISO/IEC 27403; the results say which apply to each home."}
    with_list(selection, "include-controls", [{"control-id": control_id(c)} for c in clauses])
    if "include-controls" not in selection:
        selection["include-all"] = {}
    first = assessment.homes[0] if assessment.homes else None
    plan: dict[str, Any] = {
        "uuid": plan_uuid(assessment),
        "metadata": meta,
        "import-ssp": {
            "href": f"#{model_resource_uuid(first)}" if first else "#",
            "remarks": "A smart home has no system security plan: the system model file that domosec assessed stands in for it.",
        },
        "reviewed-controls": {
            "description": f"{len(assessment.rules)} domosec rules (one read-only query each) over the normalised system model, "
            "scored on a 5×5 likelihood × impact matrix with context factors.",
            "control-selections": [selection],
        },
        "back-matter": {"resources": model_resources(assessment.homes)},
    }
    plan["assessment-subjects"] = [{"type": "component", "description": "Every element of each home's system model.", "include-all": {}}]
    return plan


def render_assessment_plan(assessment: Assessment) -> bytes:
    return orjson.dumps({"assessment-plan": assessment_plan(assessment)}, option=orjson.OPT_INDENT_2)


def plan_resource(assessment: Assessment) -> dict[str, Any]:
    """A back-matter resource that holds the plan itself, for ``import-ap`` to point at."""
    return {
        "uuid": plan_resource_uuid(assessment),
        "title": "domosec assessment plan",
        "description": f"The OSCAL assessment plan these results carry out ({len(assessment.rules)} rules, every clause-7 item), "
        "embedded as JSON.",
        "props": props(
            prop("tool-version", assessment.tool_version),
            prop("catalogue-version", assessment.catalogue_version),
            prop("assessment-plan-uuid", plan_uuid(assessment)),
        ),
        "base64": {
            "filename": FILENAME,
            "media-type": MEDIA_TYPE,
            "value": base64.b64encode(render_assessment_plan(assessment)).decode("ascii"),
        },
    }


def model_resources(homes: list[Home]) -> list[dict[str, Any]]:
    resources = []
    for h in homes:
        resource: dict[str, Any] = {"uuid": model_resource_uuid(h), "title": line(f"System model of {h.name}")}
        if h.file:
            resource["rlinks"] = [{"href": h.file}]
        resources.append(resource)
    return resources


def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in clause.split("."))
