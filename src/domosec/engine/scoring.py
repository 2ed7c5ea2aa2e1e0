"""Rate findings on a likelihood × impact matrix, adjusted by the context of the asset.

The matrix and the context factors are data (``--matrix FILE``); docs/scoring.md explains
them with worked examples. A rule gives a base likelihood and impact (1–5); a row may move
them with ``likelihood_adjust``/``impact_adjust``; each context factor that holds for the
asset adds its boost; the total boost per axis is capped, and values stay within 1–5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domosec.assessment import LEVELS, LevelName, Rating
from domosec.errors import InputError
from domosec.model.diagnose import diagnostics_from_validation
from domosec.model.source import read_document

LIKELIHOOD_NAMES = ("rare", "unlikely", "possible", "likely", "almost certain")
IMPACT_NAMES = ("negligible", "minor", "moderate", "major", "severe")
FACTOR_LABELS = {
    "safety_actuator": "safety-relevant actuator",
    "vulnerable_users": "children or vulnerable people in the home",
    "private_zone": "in a private room",
    "internet_exposure": "reachable from the internet",
    "sensitive_data": "handles sensitive data",
}


FactorName = Literal["safety_actuator", "vulnerable_users", "private_zone", "internet_exposure", "sensitive_data"]


class Factor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    likelihood: int = Field(default=0, ge=0, le=2)
    impact: int = Field(default=0, ge=0, le=2)
    dimensions: tuple[Literal["security", "privacy"], ...] = ("security", "privacy")


DEFAULT_LEVELS: tuple[tuple[LevelName, ...], ...] = (
    ("info", "info", "low", "low", "medium"),
    ("info", "low", "low", "medium", "high"),
    ("low", "low", "medium", "high", "high"),
    ("low", "medium", "high", "high", "critical"),
    ("medium", "high", "high", "critical", "critical"),
)


class Matrix(BaseModel):
    """Levels indexed ``levels[likelihood-1][impact-1]``, plus the context factors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: tuple[tuple[LevelName, ...], ...] = DEFAULT_LEVELS
    factors: dict[FactorName, Factor] = Field(
        default_factory=lambda: {  # type: ignore[arg-type,unused-ignore]
            "safety_actuator": Factor(impact=1, dimensions=("security",)),
            "vulnerable_users": Factor(impact=1, dimensions=("privacy",)),
            "private_zone": Factor(impact=1),
            "internet_exposure": Factor(likelihood=1, dimensions=("security",)),
            "sensitive_data": Factor(impact=1, dimensions=("privacy",)),
        }
    )
    max_boost: int = Field(default=2, ge=0, le=4, description="Most that factors may add to one axis.")

    @field_validator("levels")
    @classmethod
    def _five_by_five(cls, value: tuple[tuple[LevelName, ...], ...]) -> tuple[tuple[LevelName, ...], ...]:
        if len(value) != 5 or any(len(row) != 5 for row in value):
            raise ValueError("levels must be 5 rows (likelihood 1–5) of 5 levels (impact 1–5)")
        return value

    def level(self, likelihood: int, impact: int) -> LevelName:
        return self.levels[likelihood - 1][impact - 1]

    def rate(self, likelihood: int, impact: int) -> Rating:
        likelihood, impact = _clamp(likelihood), _clamp(impact)
        return Rating(likelihood=likelihood, impact=impact, score=likelihood * impact, level=self.level(likelihood, impact))


def _clamp(value: int) -> int:
    return max(1, min(5, value))


def load_matrix(path: Path | None) -> Matrix:
    """The default matrix, or the one in a YAML/JSON file (errors carry file:line:col)."""
    if path is None:
        return Matrix()
    doc = read_document(path, max_bytes=1024 * 1024)
    try:
        return Matrix.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(diagnostics_from_validation(exc, doc, Matrix)) from None


def rate_finding(
    matrix: Matrix,
    *,
    dimension: Literal["security", "privacy"],
    likelihood: int,
    impact: int,
    likelihood_adjust: int,
    impact_adjust: int,
    context: dict[str, bool],
    unverified_drop: int = 0,
) -> tuple[Rating, list[str], str]:
    """Inherent rating, the factors applied, and a sentence explaining the rating.

    ``unverified_drop`` lowers the likelihood of an unverified finding (a fact the rule needs is not stated).
    """
    chosen = [(name, factor) for name, factor in matrix.factors.items() if context.get(name) and dimension in factor.dimensions]
    applied: list[str] = [name for name, _ in chosen]
    boost_l = min(matrix.max_boost, sum(f.likelihood for _, f in chosen))
    boost_i = min(matrix.max_boost, sum(f.impact for _, f in chosen))
    rating = matrix.rate(likelihood + likelihood_adjust - unverified_drop + boost_l, impact + impact_adjust + boost_i)
    parts = [f"base likelihood {likelihood} ({LIKELIHOOD_NAMES[likelihood - 1]}) and impact {impact} ({IMPACT_NAMES[impact - 1]})"]
    if likelihood_adjust or impact_adjust:
        parts.append(f"rule adjustment {likelihood_adjust:+d}/{impact_adjust:+d} for this case")
    if unverified_drop:
        parts.append(f"likelihood {-unverified_drop:+d} because the fact is not stated (unverified)")
    if applied:
        parts.append("raised for: " + ", ".join(FACTOR_LABELS[n] for n in applied))
    reason = "; ".join(parts) + f" → {rating.likelihood}×{rating.impact} = {rating.score}, {rating.level}."
    return rating, applied, reason


def level_at_least(level: str, threshold: str) -> bool:
    names: tuple[str, ...] = LEVELS
    return names.index(level) >= names.index(threshold)
