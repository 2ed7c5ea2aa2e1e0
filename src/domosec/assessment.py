"""The Assessment: the engine's result, and the only thing renderers read.

A plain, versioned, JSON-serialisable document. Its JSON Schema is published under
``schema/`` (``domosec schema --assessment``). Everything in it is sorted and carries no
timestamp, so two runs over the same input give the same bytes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ASSESSMENT_VERSION = "1.0"

LevelName = Literal["info", "low", "medium", "high", "critical"]
LEVELS: tuple[LevelName, ...] = ("info", "low", "medium", "high", "critical")
Treatment = Literal["open", "treatment_planned", "accepted", "acceptance_expired"]
ControlState = Literal[
    "implemented",
    "declared_without_evidence",
    "partial",
    "planned",
    "contradicted",
    "not_implemented",
    "not_applicable",
    "unknown",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rating(_Out):
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    score: int
    level: LevelName


class Asset(_Out):
    kind: str
    id: str
    name: str = ""
    file: str = ""
    line: int | None = None
    col: int | None = None


class Acceptance(_Out):
    reason: str
    approver: str
    expires: str
    ticket: str = ""
    expired: bool


class Finding(_Out):
    id: str = Field(description="Stable ID: the same rule, home, asset and detail give the same ID on every run.")
    key: str = Field(description="RULE@home@asset[@detail], the human-readable form of the ID.")
    rule_id: str
    title: str
    home_id: str
    asset: Asset
    reason: str
    explain: dict[str, Any] = Field(default_factory=dict, description="The facts that made the rule fire.")
    dimension: Literal["security", "privacy"]
    part: str
    risk_source: str
    risk_items: list[str]
    controls: list[str]
    inherent: Rating
    factors: list[str] = Field(default_factory=list, description="Context factors applied to the inherent rating.")
    rating_reason: str
    residual: Rating
    treatment: Treatment
    acceptance: Acceptance | None = None

    @property
    def is_open(self) -> bool:
        """Still to be dealt with: every treatment but a valid acceptance (an expired one counts again)."""
        return self.treatment != "accepted"


class ControlAssessment(_Out):
    home_id: str
    control_id: str
    title: str
    kind: str
    applicable: bool
    applicability_reason: str
    declared: str | None = None
    status: ControlState
    status_reason: str
    evidence: list[str] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list, description="IDs of open findings this control would treat.")
    questions: list[str] = Field(default_factory=list, description="What the assessor should ask when the model cannot tell.")


class RuleInfo(_Out):
    id: str
    name: str
    title: str
    summary: str
    dimension: Literal["security", "privacy"]
    part: str
    risk_source: str
    risk_items: list[str]
    controls: list[str]
    likelihood: int
    impact: int
    how_to_fix: str
    why_it_matters: str
    cross_map: dict[str, list[str]] = Field(default_factory=dict)
    builtin: bool = True


class Home(_Out):
    home_id: str
    name: str
    kind: str
    file: str


class Summary(_Out):
    homes: int
    findings: int
    open: int
    accepted: int
    by_level: dict[str, int]
    by_level_residual: dict[str, int]
    by_part: dict[str, int]
    controls_by_status: dict[str, int]


class Assessment(_Out):
    """The result of assessing one or more homes against the rules and the catalogue."""

    version: str = ASSESSMENT_VERSION
    tool: str = "domosec"
    tool_version: str
    catalogue_version: str
    as_of: str
    matrix: dict[str, Any]
    homes: list[Home]
    rules: list[RuleInfo]
    findings: list[Finding]
    controls: list[ControlAssessment]
    summary: Summary
