"""Orderings shared by the renderers: reference-model parts, and findings by risk."""

from __future__ import annotations

from domosec.assessment import Assessment, Finding

PART_ORDER = ("services", "gateway", "devices", "networks")
PART_TITLES = {
    "services": "Service sub-systems (6.2.1, 6.3.1)",
    "gateway": "IoT-domotics gateway (6.2.2, 6.3.2)",
    "devices": "Devices and physical entities (6.2.3, 6.3.3)",
    "networks": "Networks (6.2.4, 6.3.4)",
}


def by_part(assessment: Assessment) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by reference-model part, each group sorted by descending risk."""
    groups: list[tuple[str, list[Finding]]] = []
    for part in PART_ORDER:
        items = [f for f in assessment.findings if f.part == part]
        items.sort(key=lambda f: (-f.inherent.score, -f.residual.score, f.rule_id, f.home_id, f.asset.id))
        if items:
            groups.append((part, items))
    return groups


def location(f: Finding) -> str:
    if f.asset.line is None:
        return f.asset.file
    return f"{f.asset.file}:{f.asset.line}"
