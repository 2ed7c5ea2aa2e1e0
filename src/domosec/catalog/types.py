"""Typed objects of the ISO/IEC 27403 catalogue.

The catalogue is shipped as YAML data files under ``domosec/catalog/data``; these classes
are their schema. Clause numbers and titles are facts of the standard; every summary,
intent and evidence text is domosec's own wording.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ClauseKind = Literal[
    "front_matter",
    "section",
    "overview",
    "risk_source_group",
    "principle",
    "security_control",
    "privacy_control",
    "annex",
]
Dimension = Literal["security", "privacy"]
Provenance = Literal["stated", "implied", "derived", "domain", "inferred"]
"""How sure we are of a statement about the standard:

- stated: the standard's public table of contents or abstract says it;
- implied: follows from a paired control or the predecessor paper;
- derived: taken from a related standard (27400, EN 303 645, OWASP);
- domain: domosec's own smart-home knowledge, added for completeness;
- inferred: a cross-mapping domosec worked out itself.
"""
Entity = Literal[
    "user",
    "service_subsystem",
    "gateway",
    "device",
    "physical_entity",
    "network",
]
Tier = Literal["high", "medium", "low"]
Sensitivity = Literal["low", "medium", "high", "special"]
Stride = Literal[
    "spoofing",
    "tampering",
    "repudiation",
    "information_disclosure",
    "denial_of_service",
    "elevation_of_privilege",
]
Linddun = Literal[
    "linking",
    "identifying",
    "non_repudiation",
    "detecting",
    "data_disclosure",
    "unawareness",
    "non_compliance",
]
Framework = Literal["etsi_en_303_645", "owasp_iot_2018", "nistir_8259a", "linddun", "owasp_isvs_1_0", "eu_cra_annex_i"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Clause(_Strict):
    """A numbered clause or annex of the standard (section headings included)."""

    id: str
    title: str
    kind: ClauseKind
    parent: str | None = None
    summary: str
    page: int | None = None


class CrossRef(_Strict):
    """Links from one clause-7 item to the items of another framework."""

    framework: Framework
    ids: tuple[str, ...]
    provenance: Provenance = "inferred"
    note: str = ""


HOME_CONTEXT_COLUMNS: frozenset[str] = frozenset(
    {
        "is_product",
        "is_deployment",
        "has_child_users",
        "has_vulnerable_users",
        "has_guest_users",
        "has_multiple_users",
        "has_child_devices",
        "has_cameras",
        "has_microphones",
        "has_safety_actuators",
        "has_locks",
        "has_gateway",
        "has_cloud_services",
        "has_content_services",
        "has_voice_services",
        "has_third_party_services",
        "has_mobile_apps",
        "has_automated_decisions",
        "has_personal_data_flows",
        "has_personal_data",
        "has_sensitive_data",
        "has_biometric_data",
        "has_health_data",
        "has_wireless_networks",
        "has_internet_exposure",
        "has_updatable_devices",
        "device_count",
        "user_count",
    }
)
"""The columns of the engine's ``home_context`` view that applicability expressions may use."""
APPLICABILITY_WORDS: frozenset[str] = frozenset({"and", "or", "not", "true", "false"})


class Applicability(_Strict):
    """When a clause-7 item applies to a system.

    ``when`` is a boolean SQL expression over the columns of the engine's ``home_context``
    view (for example ``has_child_users or has_child_devices``); ``always`` when omitted.
    """

    when: str = "true"
    applies_because: str
    not_applicable_because: str = ""


class Control(_Strict):
    """A clause-7 item: a principle (7.1.x), security control (7.2.x) or privacy control (7.3.x)."""

    id: str
    title: str
    kind: Literal["principle", "security_control", "privacy_control"]
    intent: str
    evidence: tuple[str, ...] = Field(min_length=1)
    assessor_questions: tuple[str, ...] = Field(min_length=1)
    applicability: Applicability
    responsible: tuple[str, ...] = Field(min_length=1)
    lifecycle: tuple[str, ...] = Field(min_length=1)
    entities: tuple[Entity, ...] = Field(min_length=1)
    treats: tuple[str, ...] = ()
    treats_none_reason: str = ""
    cross_map: tuple[CrossRef, ...] = ()


class RiskSource(_Strict):
    """A source of security (6.2.x) or privacy (6.3.x) risk, as an addressable item."""

    id: str
    clause: str
    dimension: Dimension
    entity: Entity
    title: str
    description: str
    provenance: Provenance
    stride: tuple[Stride, ...] = ()
    linddun: tuple[Linddun, ...] = ()
    safety_relevant: bool = False
    assessor_question: str = ""


class DeviceMeasure(_Strict):
    """One Annex D style measure for a device type, tied to the clause-7 item it implements."""

    control: str
    measure: str


class DeviceType(_Strict):
    """A kind of smart-home device, with its criticality tier (7.1.2) and typical measures."""

    id: str
    title: str
    description: str
    examples: tuple[str, ...] = Field(min_length=1)
    tier: Tier
    safety_relevant: bool = False
    child_directed: bool = False
    typical_sensors: tuple[str, ...] = ()
    typical_data: tuple[str, ...] = ()
    measures: tuple[DeviceMeasure, ...] = Field(min_length=1)


class DataCategory(_Strict):
    """A category of data a smart home handles, with its privacy sensitivity."""

    id: str
    title: str
    description: str
    sensitivity: Sensitivity
    personal: bool = True
    linddun: tuple[Linddun, ...] = ()


class Role(_Strict):
    """A stakeholder role (5.3, Annex C) or a household role of a person in the home."""

    id: str
    title: str
    description: str
    kind: Literal["stakeholder", "household"]
    parent: str | None = None
    vulnerable: bool = False


class LifecycleStage(_Strict):
    """A stage of a system's (provider view) or a device's (home view) life cycle."""

    id: str
    title: str
    view: Literal["system", "home"]
    description: str
    order: int


class ReferenceEntity(_Strict):
    """An entity of the reference model (5.5)."""

    id: str
    title: str
    description: str
    entity: Entity
    iso_30141_domain: str = ""


class UseCase(_Strict):
    """An Annex A style use case of a smart home."""

    id: str
    title: str
    description: str
    device_types: tuple[str, ...] = Field(min_length=1)
    concerns: tuple[str, ...] = Field(min_length=1)
    controls: tuple[str, ...] = Field(min_length=1)


class Concern(_Strict):
    """An Annex B style concern a stakeholder has about security or privacy."""

    id: str
    stakeholder: str
    dimension: Dimension
    concern: str
    controls: tuple[str, ...] = Field(min_length=1)


class FrameworkItem(_Strict):
    """An item of an external framework that clause-7 items map to."""

    framework: Framework
    id: str
    title: str
    group: str = ""


class Standard(_Strict):
    """Bibliographic facts of the standard the catalogue follows."""

    id: str
    title: str
    edition: int
    published: str
    catalogue_version: str
    note: str
