"""The Assessment: the engine's result, and the only thing renderers read.

A plain, versioned, JSON-serialisable document. Its JSON Schema is published under
``schema/`` (``domosec schema --assessment``). Everything in it is sorted and carries no
timestamp, so two runs over the same input give the same bytes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ASSESSMENT_VERSION = "1.2"
# Versions this domosec reads: 1.2 added each home's software (SBOM components and their vulnerabilities) and
# whether a flow was observed in a capture; both default to empty/false, so a 1.1 file reads as it was written.
READABLE_ASSESSMENT_VERSIONS = ("1.1", "1.2")
MAX_ASSESSMENT_BYTES = 256 * 1024 * 1024
"""``domosec report`` and ``domosec diff`` refuse a larger assessment file (``error[file-too-large]``)."""

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


MAX_COUNT = 2**53
"""Every count and position in an assessment is an integer from 0 to 2**53 (exact in JSON readers everywhere)."""
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Scale = Annotated[int, Field(ge=1, le=5)]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rating(_Out):
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    score: int = Field(ge=1, le=25, description="Likelihood times impact.")
    level: LevelName


class Asset(_Out):
    kind: str
    id: str
    name: str = ""
    file: str = ""
    line: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    col: int | None = Field(default=None, ge=1, le=MAX_COUNT)


class Acceptance(_Out):
    reason: str
    approver: str
    expires: str
    ticket: str = ""
    expired: bool


Confidence = Literal["confirmed", "unverified"]


class Unverified(_Out):
    """Why a finding is unverified: a fact the rule needs is not stated, and how to settle it."""

    question: str = Field(description="The question an assessor asks to settle the finding.")
    facts: list[str] = Field(description="Model paths that, once stated, turn the finding into a confirmed one or none.")


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
    confidence: Confidence = Field(
        default="confirmed",
        description="confirmed: the model states the facts that make the rule fire; unverified: a fact the rule needs is "
        "not stated, so the likelihood is lowered (docs/scoring.md) and --fail-on ignores it unless --fail-on-unverified.",
    )
    unverified: Unverified | None = Field(default=None, description="For an unverified finding: its question and the facts to state.")

    @field_validator("explain")
    @classmethod
    def _plain_numbers(cls, value: dict[str, Any]) -> dict[str, Any]:
        """The facts are free-form JSON, but every integer fits in 64 bits (what JSON writers and readers take)."""
        stack: list[Any] = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, int) and not -(2**63) <= item < 2**63:
                raise ValueError("holds an integer outside 64 bits")
        return value

    @property
    def is_open(self) -> bool:
        """Still to be dealt with: every treatment but a valid acceptance (an expired one counts again)."""
        return self.treatment != "accepted"

    @property
    def is_unverified(self) -> bool:
        return self.confidence == "unverified"


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
    likelihood: Scale
    impact: Scale
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
    observed: bool = Field(default=False, description="Seen in a traffic capture (provenance observed) rather than declared.")


class DataCategoryInfo(_Out):
    id: str
    title: str
    sensitivity: str


class ComponentVulnerability(_Out):
    """A published vulnerability matched to a component (the model's ``software[].vulnerabilities[]``)."""

    id: str
    aliases: str = ""
    severity: Literal["critical", "high", "medium", "low", "unknown"] = "unknown"
    cvss: float | None = Field(default=None, ge=0, le=10)
    known_exploited: bool = False
    fixed_version: str = ""
    confidence: Literal["exact_purl", "cpe_range", "name_only"]
    vex_state: Literal["not_affected", "affected", "fixed", "under_investigation"] | None = None
    vex_justification: str = ""

    @property
    def worst_first(self) -> tuple[bool, int, float, str]:
        """Sort key, worst first: known exploited, then severity, then CVSS score, then ID."""
        return (not self.known_exploited, SEVERITY_ORDER.get(self.severity, 9), -(self.cvss or 0.0), self.id)


SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "unknown": 4}


class Component(_Out):
    """A software component of a gateway or device, from its SBOM; vulnerabilities worst first."""

    name: str
    version: str = ""
    supplier: str = ""
    purl: str = ""
    cpe: str = ""
    licenses: str = ""
    end_of_life: str | None = Field(default=None, description="ISO date its release line stopped getting security fixes.")
    vulnerabilities: list[ComponentVulnerability] = Field(default_factory=list)


class AssetSoftware(_Out):
    """A gateway's or device's SBOM and components (the model's ``sbom`` and ``software``)."""

    kind: Literal["gateway", "device"]
    id: str
    name: str = ""
    sbom_file: str = Field(default="", description="The SBOM file's name, as `domosec import sbom` records it; empty if written by hand.")
    sbom_format: str = ""
    vulndb_built: str | None = Field(default=None, description="ISO date of the vulnerability data the components were matched against.")
    vulndb_sources: str = ""
    components: list[Component] = Field(default_factory=list, description="Sorted by name, version, purl and CPE.")


class Home(_Out):
    home_id: str
    name: str
    kind: str
    file: str
    elements: list[Element] = Field(default_factory=list, description="The system as modelled, sorted by kind order and ID.")
    flows: list[DataFlow] = Field(default_factory=list)
    software: list[AssetSoftware] = Field(
        default_factory=list, description="Gateways and devices with an SBOM or a software list, gateways first, by ID."
    )


class Summary(_Out):
    homes: Count
    findings: Count
    open: Count
    accepted: Count
    unverified: Count = Field(default=0, description="Open findings that are unverified (counted in open and by_level too).")
    by_level: dict[str, Count]
    by_level_residual: dict[str, Count]
    by_part: dict[str, Count]
    controls_by_status: dict[str, Count]


class MatrixFactor(_Out):
    dimensions: list[Literal["security", "privacy"]]
    likelihood: int = Field(ge=0, le=2)
    impact: int = Field(ge=0, le=2)


class Matrix(_Out):
    """The risk matrix an assessment was rated with: ``levels[likelihood - 1][impact - 1]``, 5 × 5."""

    levels: list[Annotated[list[LevelName], Field(min_length=5, max_length=5)]] = Field(min_length=5, max_length=5)
    factors: dict[str, MatrixFactor] = Field(default_factory=dict)
    max_boost: int = Field(default=0, ge=0, le=4)


class Assessment(_Out):
    """The result of assessing one or more homes against the rules and the catalogue."""

    version: str = ASSESSMENT_VERSION
    tool: str = "domosec"
    tool_version: str
    catalogue_version: str
    as_of: str
    matrix: dict[str, Any] = Field(description="The risk matrix used (see Matrix): levels, factors and max_boost.")
    homes: list[Home]
    data_categories: list[DataCategoryInfo] = Field(default_factory=list, description="The data categories the homes use.")
    rules: list[RuleInfo]
    findings: list[Finding]
    controls: list[ControlAssessment]
    summary: Summary

    @field_validator("matrix")
    @classmethod
    def _matrix_shape(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Renderers index ``levels`` by rating: a matrix that is not 5 × 5 levels is refused here, not met there."""
        Matrix.model_validate(value)
        return value
