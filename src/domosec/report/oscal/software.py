"""Vulnerable software components as OSCAL observations: one per component of a gateway or device with a matched
vulnerability, on the asset as its subject, with the SBOM as relevant evidence.

The observation's properties name the component (purl, CPE, version, supplier) and each vulnerability (its ID,
and apart the known-exploited ones and those a VEX statement dismisses); its description lists them worst first
with severity, CVSS, fixed version, how the component was matched and the VEX justification.
"""

from __future__ import annotations

from typing import Any

from domosec.assessment import AssetSoftware, Component, Home
from domosec.report.components import CONFIDENCE_LABELS, SUPPRESSED, data_text, sbom_path, severity_text, vex_text
from domosec.report.oscal.common import line, multiline, prop, props, stable_uuid, timestamp
from domosec.report.oscal.evidence import COMPONENT_TYPES, origins


def software_asset_uuid(home_id: str, s: AssetSoftware) -> str:
    """The same UUID :func:`domosec.report.oscal.evidence.asset_uuid` gives the asset when a finding is about it."""
    return stable_uuid("asset", home_id, s.kind, s.id)


def software_assets(home: Home, defined: set[str]) -> list[dict[str, Any]]:
    """A component for every gateway or device with a vulnerable component that no finding defined already."""
    out = []
    for s in home.software:
        uid = software_asset_uuid(home.home_id, s)
        if uid in defined or not any(c.vulnerabilities for c in s.components):
            continue
        where = f"the SBOM {s.sbom_file}" if s.sbom_file else "the software list of the model"
        out.append(
            {
                "uuid": uid,
                "type": COMPONENT_TYPES[s.kind],
                "title": line(s.name or s.id),
                "description": f"{s.kind.capitalize()} `{s.id}` of {home.name or home.home_id}, whose software is described in {where}.",
                "props": props(prop("home-id", home.home_id), prop("asset-kind", s.kind), prop("asset-id", s.id)),
                "status": {"state": "operational"},
            }
        )
    return out


def component_observations(home: Home, day: str) -> list[dict[str, Any]]:
    """One observation per component with a matched vulnerability, by asset (gateways first) and component."""
    return [_observation(home, s, c, day) for s in home.software for c in s.components if c.vulnerabilities]


def _observation(home: Home, s: AssetSoftware, c: Component, day: str) -> dict[str, Any]:
    live = [v for v in c.vulnerabilities if v.vex_state not in SUPPRESSED]
    exploited = sum(1 for v in live if v.known_exploited)
    title = f"{c.name} {c.version} on {s.name or s.id}: {len(live)} known {'vulnerability' if len(live) == 1 else 'vulnerabilities'}"
    title += f" ({exploited} known exploited)" if exploited else ""
    lines = []
    for v in c.vulnerabilities:
        facts = [severity_text(v).replace(" ", ", CVSS ", 1) if v.cvss is not None else v.severity]
        facts += ["known exploited (CISA KEV)"] if v.known_exploited else []
        facts += [f"fixed in {v.fixed_version}"] if v.fixed_version else []
        facts += [f"matched by {CONFIDENCE_LABELS[v.confidence]}"]
        facts += [f"VEX: {vex_text(v)}"] if v.vex_state else []
        lines.append(f"- {v.id}{f' ({v.aliases})' if v.aliases else ''}: {'; '.join(facts)}")
    observation: dict[str, Any] = {
        "uuid": stable_uuid("component-observation", home.home_id, s.kind, s.id, c.name, c.version, c.purl, c.cpe),
        "title": line(title),
        "description": multiline(
            f"{s.kind.capitalize()} `{s.id}` runs {c.name} {c.version}, matched against {data_text(s)}:\n\n" + "\n".join(lines)
        ),
        "props": props(
            prop("component-name", c.name),
            prop("component-version", c.version),
            prop("component-supplier", c.supplier),
            prop("purl", c.purl),
            prop("cpe", c.cpe),
            prop("end-of-life", c.end_of_life or ""),
            prop("vulndb-built", s.vulndb_built or ""),
            *(prop("vulnerability", v.id, cls="dismissed-by-vex" if v.vex_state in SUPPRESSED else None) for v in c.vulnerabilities),
            *(prop("known-exploited-vulnerability", v.id) for v in live if v.known_exploited),
        ),
        "methods": ["EXAMINE"],
        "types": ["finding"],
        "origins": origins(),
        "subjects": [{"subject-uuid": software_asset_uuid(home.home_id, s), "type": "component", "title": line(s.name or s.id)}],
        "collected": timestamp(day),
    }
    if s.sbom_file:
        observation["relevant-evidence"] = [
            {"href": sbom_path(home, s), "description": f"The SBOM ({s.sbom_format or 'unknown format'}) the components were read from."}
        ]
    return observation
