"""Open confirmed findings as an OSCAL plan of action and milestones (POA&M); unverified ones are left out.

One POA&M item per open finding (every treatment but a valid acceptance), linked to the same
observation and risk as in the assessment results, so the UUIDs match across the two documents.
domosec knows no due dates, so the items carry no milestones; the risks carry the recommended
remediation (``planned`` when the model declares a planned control for it).
"""

from __future__ import annotations

from typing import Any

import orjson

from domosec.assessment import Assessment
from domosec.errors import Diagnostic, InputError
from domosec.report.oscal.common import assessment_props, line, metadata, multiline, prop, props, stable_uuid, with_list
from domosec.report.oscal.evidence import assessment_assets, components, observation, observation_uuid, origins, parties, risk, risk_uuid
from domosec.report.oscal.results import content_key


def render_poam(assessment: Assessment) -> str:
    return orjson.dumps({"plan-of-action-and-milestones": poam(assessment)}, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def poam(assessment: Assessment) -> dict[str, Any]:
    """The POA&M; an :class:`InputError` when nothing is open, since a POA&M needs at least one item."""
    day = assessment.as_of
    # An unverified finding is a question to settle, not a weakness to plan for: the assessment results hold it.
    open_findings = [f for f in assessment.findings if f.is_open and not f.is_unverified]
    if not open_findings:
        message = "no open findings (unverified ones are questions, not planned), and an OSCAL POA&M needs at least one item"
        raise InputError([Diagnostic("<assessment>", None, None, "nothing-to-plan", message)])
    rules = {r.id: r for r in assessment.rules}
    homes = {h.home_id: h for h in assessment.homes}
    meta = metadata(
        "domosec plan of action and milestones for " + ", ".join(h.name for h in assessment.homes),
        day,
        day,
        assessment_props(assessment.tool_version, assessment.catalogue_version, day),
    )
    with_list(meta, "parties", parties(open_findings))
    local: dict[str, Any] = {"assessment-assets": assessment_assets(assessment.tool_version)}
    with_list(local, "components", components(open_findings, homes))
    document: dict[str, Any] = {"uuid": stable_uuid("poam", content_key(assessment)), "metadata": meta}
    if len(homes) == 1:
        document["system-id"] = {"id": next(iter(homes))}
    document |= {
        "local-definitions": local,
        "observations": [observation(f, day) for f in open_findings],
        "risks": [risk(f, rules.get(f.rule_id), day) for f in open_findings],
        "poam-items": [
            {
                "uuid": stable_uuid("poam-item", f.id),
                "title": line(f"{f.rule_id}: {f.title}"),
                "description": multiline(
                    f"{f.reason}\n\nRisk {f.inherent.level} ({f.inherent.score}); residual {f.residual.level} ({f.residual.score}). "
                    f"Treated by clause-7 items {', '.join(f.controls) or '—'}."
                ),
                "props": props(
                    prop("finding-id", f.id),
                    prop("home-id", f.home_id),
                    prop("risk-level", f.inherent.level),
                    prop("treatment", f.treatment),
                ),
                "origins": origins(),
                "related-observations": [{"observation-uuid": observation_uuid(f)}],
                "related-risks": [{"risk-uuid": risk_uuid(f)}],
            }
            for f in open_findings
        ],
    }
    return document
