"""Findings as OSCAL observations and risks, their assets as components and parties, domosec as the tool.

Assessment results and the POA&M both carry these: one observation (what the rules saw, on which
asset, at which line of the model) and one risk (its rating, status and recommended remediation) per
domosec finding, with UUIDs derived from the stable finding ID.
"""

from __future__ import annotations

from typing import Any

from domosec.assessment import Element, Finding, Home, Rating, RuleInfo
from domosec.report.oscal.common import NS, is_token, line, multiline, prop, props, stable_uuid, timestamp

TOOL_UUID = stable_uuid("tool", "domosec")
PLATFORM_UUID = stable_uuid("platform", "domosec")
COMPONENT_TYPES = {
    "device": "hardware",
    "gateway": "hardware",
    "service": "service",
    "network": "network",
    "flow": "interconnection",
    "zone": "physical",
}
RISK_STATUS = {"open": "open", "treatment_planned": "remediating", "accepted": "deviation-approved", "acceptance_expired": "open"}


def asset_uuid(f: Finding) -> str:
    return stable_uuid("asset", f.home_id, f.asset.kind, f.asset.id)


def observation_uuid(f: Finding) -> str:
    return stable_uuid("observation", f.id)


def risk_uuid(f: Finding) -> str:
    return stable_uuid("risk", f.id)


def origins() -> list[dict[str, Any]]:
    return [{"actors": [{"type": "tool", "actor-uuid": TOOL_UUID}]}]


def assessment_assets(tool_version: str) -> dict[str, Any]:
    tool = {
        "uuid": TOOL_UUID,
        "type": "software",
        "title": "domosec",
        "description": "Runs read-only SQL rules over a smart-home system model and rates each finding on a likelihood × impact matrix.",
        "props": props(prop("version", tool_version, ns=None)),
        "status": {"state": "operational"},
    }
    platform = {"uuid": PLATFORM_UUID, "title": "domosec", "uses-components": [{"component-uuid": TOOL_UUID}]}
    return {"components": [tool], "assessment-platforms": [platform]}


def components(findings: list[Finding], homes: dict[str, Home]) -> list[dict[str, Any]]:
    """One component per asset (other than people) that a finding is about, sorted by home, kind and ID."""
    elements: dict[tuple[str, str, str], Element] = {(h.home_id, e.kind, e.id): e for h in homes.values() for e in h.elements}
    seen: dict[str, dict[str, Any]] = {}
    for f in sorted(findings, key=lambda f: (f.home_id, f.asset.kind, f.asset.id)):
        uid = asset_uuid(f)
        if f.asset.kind == "user" or uid in seen:
            continue
        home = homes.get(f.home_id)
        element = elements.get((f.home_id, f.asset.kind, f.asset.id))
        seen[uid] = {
            "uuid": uid,
            "type": COMPONENT_TYPES.get(f.asset.kind, "this-system"),
            "title": line(f.asset.name or f.asset.id),
            "description": f"{f.asset.kind.capitalize()} `{f.asset.id}` of {home.name if home else f.home_id}, as described in {_where(f)}.",
            "props": props(
                prop("home-id", f.home_id),
                prop("asset-kind", f.asset.kind),
                prop("asset-id", f.asset.id),
                prop("element-type", element.type if element else ""),
                prop("vendor", element.vendor if element else ""),
                prop("model", element.model if element else ""),
                prop("firmware", element.firmware if element else ""),
            ),
            "status": {"state": "operational"},
        }
    return list(seen.values())


def parties(findings: list[Finding]) -> list[dict[str, Any]]:
    """People (household members, administrators) that findings are about, as OSCAL parties."""
    seen: dict[str, dict[str, Any]] = {}
    for f in sorted(findings, key=lambda f: (f.home_id, f.asset.id)):
        if f.asset.kind == "user" and asset_uuid(f) not in seen:
            seen[asset_uuid(f)] = {
                "uuid": asset_uuid(f),
                "type": "person",
                "name": line(f.asset.name or f.asset.id),
                "props": props(prop("home-id", f.home_id), prop("asset-id", f.asset.id)),
            }
    return list(seen.values())


def observation(f: Finding, day: str) -> dict[str, Any]:
    facts = [prop(key, _fact(value), cls="explain") for key, value in sorted(f.explain.items()) if is_token(key)]
    obs: dict[str, Any] = {
        "uuid": observation_uuid(f),
        "title": line(f.title),
        "description": multiline(f.reason),
        "props": props(
            prop("finding-id", f.id), prop("finding-key", f.key), prop("rule-id", f.rule_id), prop("confidence", f.confidence), *facts
        ),
        "methods": ["EXAMINE"],
        "types": ["finding"],
        "origins": origins(),
        "subjects": [
            {
                "subject-uuid": asset_uuid(f),
                "type": "party" if f.asset.kind == "user" else "component",
                "title": line(f.asset.name or f.asset.id),
            }
        ],
        "collected": timestamp(day),
    }
    if f.unverified is not None:
        obs["remarks"] = multiline(
            f"Unverified: the model does not state a fact the rule needs. Question for the assessor: {f.unverified.question}\n\n"
            f"Facts to state: {', '.join(f.unverified.facts)}."
        )
    if f.asset.file:
        obs["relevant-evidence"] = [{"href": f.asset.file, "description": f"The system model: {_where(f)}."}]
    return obs


def risk(f: Finding, rule: RuleInfo | None, day: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": risk_uuid(f),
        "title": line(f.title),
        "description": multiline(f"{f.reason}\n\nRisk source: ISO/IEC 27403 {f.risk_source} ({', '.join(f.risk_items)})."),
        "statement": multiline(rule.why_it_matters if rule and rule.why_it_matters.strip() else f.reason),
        "props": props(
            prop("finding-id", f.id),
            prop("rule-id", f.rule_id),
            prop("dimension", f.dimension),
            prop("risk-source", f.risk_source),
            prop("treatment", f.treatment),
            prop("confidence", f.confidence),
            *(prop("mitigating-control", c) for c in f.controls),
            *(prop("context-factor", factor) for factor in f.factors),
        ),
        "status": RISK_STATUS[f.treatment],
        "origins": origins(),
        "characterizations": [_characterization("inherent", f.inherent, f.rating_reason), _characterization("residual", f.residual, "")],
        "related-observations": [{"observation-uuid": observation_uuid(f)}],
    }
    if rule and rule.how_to_fix.strip():
        body["remediations"] = [
            {
                "uuid": stable_uuid("remediation", f.id),
                "lifecycle": "planned" if f.treatment == "treatment_planned" else "recommendation",
                "title": "How to fix",
                "description": multiline(rule.how_to_fix),
                "props": props(*(prop("control", c) for c in f.controls)),
            }
        ]
        if not body["remediations"][0]["props"]:
            del body["remediations"][0]["props"]
    if f.acceptance is not None:
        a = f.acceptance
        state = "expired" if a.expired else "valid"
        note = f"Risk accepted by {a.approver} until {a.expires} ({state}): {a.reason}" + (f" Ticket: {a.ticket}." if a.ticket else "")
        body["description"] += f"\n\n{note}"
        body["props"] += props(prop("accepted-by", a.approver), prop("accepted-until", a.expires), prop("acceptance-ticket", a.ticket))
    return body


def _characterization(which: str, rating: Rating, reason: str) -> dict[str, Any]:
    facets = [
        {"name": "likelihood", "system": NS, "value": str(rating.likelihood)},
        {"name": "impact", "system": NS, "value": str(rating.impact)},
        {"name": "score", "system": NS, "value": str(rating.score)},
        {"name": "risk", "system": NS, "value": rating.level},
    ]
    out: dict[str, Any] = {"props": props(prop("rating", which)), "origin": origins()[0], "facets": facets}
    if reason:
        out["props"].append(prop("rating-reason", reason))
    return out


def _where(f: Finding) -> str:
    if f.asset.line is None:
        return f.asset.file or "the model"
    return f"{f.asset.file}, line {f.asset.line}" + (f", column {f.asset.col}" if f.asset.col is not None else "")


def _fact(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
