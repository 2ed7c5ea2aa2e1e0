"""The components and vulnerabilities section of the expert page, per home (rows from :mod:`domosec.report.components`)."""

from __future__ import annotations

from dataclasses import dataclass

from domosec.assessment import Assessment, AssetSoftware, Component, ComponentVulnerability
from domosec.report import components as rows

SEVERITY_LEVELS = frozenset({"critical", "high", "medium", "low"})
"""Severities drawn with the level colours; ``unknown`` is plain text."""


@dataclass(frozen=True)
class ComponentLine:
    component: Component
    vulnerabilities: int
    exploited: int
    past_end_of_life: bool


@dataclass(frozen=True)
class AssetBlock:
    asset: AssetSoftware
    data: str
    lines: list[ComponentLine]


@dataclass(frozen=True)
class VulnerabilityLine:
    vulnerability: ComponentVulnerability
    asset: AssetSoftware
    component: Component
    suppressed: bool
    severity_is_level: bool
    vex: str


@dataclass(frozen=True)
class HomeComponents:
    home_id: str
    name: str
    assets: list[AssetBlock]
    vulnerabilities: list[VulnerabilityLine]


def components_view(a: Assessment) -> list[HomeComponents]:
    """One entry per home the section speaks of; empty when the page has no such section."""
    if not rows.shown(a):
        return []
    by_home: dict[str, list[VulnerabilityLine]] = {}
    for r in rows.vulnerability_rows(a):
        v = r.vulnerability
        line = VulnerabilityLine(v, r.asset, r.component, r.suppressed, v.severity in SEVERITY_LEVELS, rows.vex_text(v))
        by_home.setdefault(r.home.home_id, []).append(line)
    out = []
    for h in rows.homes_shown(a):
        blocks = [AssetBlock(s, rows.data_text(s), [_line(c, a.as_of) for c in s.components]) for s in h.software]
        out.append(HomeComponents(h.home_id, h.name or h.home_id, blocks, by_home.get(h.home_id, [])))
    return out


def _line(c: Component, as_of: str) -> ComponentLine:
    live = [v for v in c.vulnerabilities if v.vex_state not in rows.SUPPRESSED]
    return ComponentLine(c, len(live), sum(1 for v in live if v.known_exploited), rows.past_end_of_life(c, as_of))
