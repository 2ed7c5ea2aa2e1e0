"""The Assessment: the engine's result, and the only thing renderers read.

A plain, versioned, JSON-serialisable document. Its JSON Schema is published under
``schema/`` (``domosec schema --assessment``). Everything in it is sorted and carries no
timestamp, so two runs over the same input give the same bytes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ASSESSMENT_VERSION = "1.1"

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


class Element(_Out):
    """One element of a home's system, as renderers draw it (users, zones, networks, gateways, devices, services)."""

    kind: Literal["user", "zone", "network", "gateway", "device", "service"]
    id: str
    name: str = ""
    type: str = Field(default="", description="Device type, gateway/network/service/zone kind, or the user's role.")
    side: Literal["home", "internet"] = Field(description="Inside the home, or beyond the home/internet boundary (services).")
    zone: str | None = None
    networks: list[str] = Field(default_factory=list)
    parent: str | None = Field(default=None, description="The gateway a device or network hangs off.")
    vendor: str = ""
    model: str = ""
    firmware: str = ""
    data: list[str] = Field(default_factory=list, description="Data categories the element collects or holds.")
    operator: str = ""
    jurisdiction: str = ""


class DataFlow(_Out):
    """A data flow between two elements, with the data categories it carries."""

    id: str
    source: str
    target: str
    via: list[str] = Field(default_factory=list)
    data: list[str] = Field(default_factory=list)
    protocol: str = ""
    encrypted: bool | None = None
    authenticated: bool | None = None
    purpose: str = ""
    consent: bool | None = None
    leaves_home: bool = Field(description="The flow crosses the home/internet boundary.")


class DataCategoryInfo(_Out):
    id: str
    title: str
    sensitivity: str


class Home(_Out):
    home_id: str
    name: str
    kind: str
    file: str
    elements: list[Element] = Field(default_factory=list, description="The system as modelled, sorted by kind order and ID.")
    flows: list[DataFlow] = Field(default_factory=list)


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
    data_categories: list[DataCategoryInfo] = Field(default_factory=list, description="The data categories the homes use.")
    rules: list[RuleInfo]
    findings: list[Finding]
    controls: list[ControlAssessment]
    summary: Summary
