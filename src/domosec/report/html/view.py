"""Formatting helpers for the HTML templates: labels, orderings and small tables read off the Assessment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domosec.assessment import LEVELS, Assessment, Finding, Summary
from domosec.engine.scoring import FACTOR_LABELS
from domosec.report.grouping import PART_ORDER, PART_TITLES

TOP_RISKS = 10
TREATMENT_LABELS = {
    "open": "open",
    "treatment_planned": "treatment planned",
    "accepted": "accepted",
    "acceptance_expired": "acceptance expired",
}
KIND_LABELS = {"principle": "principle", "security": "security control", "privacy": "privacy control"}


@dataclass(frozen=True)
class LevelRow:
    level: str
    inherent: int
    residual: int
    inherent_width: float
    residual_width: float


def risk_order(f: Finding) -> tuple[int, int, str, str, str]:
    """Worst first: residual score, then inherent score, then rule, home and asset for a stable order."""
    return (-f.residual.score, -f.inherent.score, f.rule_id, f.home_id, f.asset.id)


def level_rows(summary: Summary, width: float = 160.0) -> list[LevelRow]:
    """Open findings per level, inherent beside residual, with bar widths scaled to the largest count."""
    top = max([*summary.by_level.values(), *summary.by_level_residual.values(), 1])
    return [
        LevelRow(
            lvl,
            summary.by_level.get(lvl, 0),
            summary.by_level_residual.get(lvl, 0),
            round(width * summary.by_level.get(lvl, 0) / top, 1),
            round(width * summary.by_level_residual.get(lvl, 0) / top, 1),
        )
        for lvl in reversed(LEVELS)
    ]


def top_risks(assessment: Assessment) -> list[Finding]:
    return sorted((f for f in assessment.findings if f.is_open), key=risk_order)[:TOP_RISKS]


def value_text(value: Any) -> str:
    """An explain value as people read it: yes/no, not stated, lists joined by commas."""
    if value is None:
        return "not stated"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def key_text(key: str) -> str:
    return key.replace("_", " ")


def factor_text(factor: str) -> str:
    return FACTOR_LABELS.get(factor, factor.replace("_", " "))


def label(value: str) -> str:
    return TREATMENT_LABELS.get(value, value.replace("_", " "))


def paragraphs(text: str) -> list[str]:
    """Hard-wrapped text as paragraphs: blank lines separate them, line breaks inside one are spaces."""
    return [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]


def part_options(assessment: Assessment) -> list[tuple[str, str]]:
    present = {f.part for f in assessment.findings}
    return [(p, PART_TITLES[p]) for p in PART_ORDER if p in present] + [(p, p) for p in sorted(present - set(PART_ORDER))]


def json_for_script(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` can end the element."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
