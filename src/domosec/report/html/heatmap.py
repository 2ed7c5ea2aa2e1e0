"""The 5×5 heat map: open findings counted per likelihood × impact cell, coloured by the matrix's level."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from domosec.assessment import LEVELS, Finding
from domosec.engine.scoring import IMPACT_NAMES, LIKELIHOOD_NAMES


@dataclass(frozen=True)
class Cell:
    likelihood: int
    impact: int
    level: str
    count: int


@dataclass(frozen=True)
class HeatMap:
    title: str
    rows: list[tuple[str, list[Cell]]]  # likelihood 5 (top) to 1, each with impact 1 to 5
    columns: list[str]
    total: int


def heat_map(findings: list[Finding], matrix: dict[str, Any], which: Literal["inherent", "residual"]) -> HeatMap:
    """Count ``findings`` by their inherent or residual rating; cell levels come from ``matrix['levels']``."""
    levels: list[list[str]] = matrix.get("levels") or [[LEVELS[0]] * 5] * 5
    counts = Counter((getattr(f, which).likelihood, getattr(f, which).impact) for f in findings)
    rows = [
        (f"{lk} {LIKELIHOOD_NAMES[lk - 1]}", [Cell(lk, im, levels[lk - 1][im - 1], counts[(lk, im)]) for im in range(1, 6)])
        for lk in range(5, 0, -1)
    ]
    return HeatMap(
        title=f"{which.capitalize()} risk",
        rows=rows,
        columns=[f"{im} {IMPACT_NAMES[im - 1]}" for im in range(1, 6)],
        total=sum(counts.values()),
    )
