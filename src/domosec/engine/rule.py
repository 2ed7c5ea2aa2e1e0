"""A rule: metadata in the vocabulary of ISO/IEC 27403 plus one read-only SQL query.

The query returns one row per finding with the columns ``home_id``, ``asset_kind``,
``asset_id`` and ``reason`` first, then *explain columns* (the facts that made it fire). Two
optional integer columns, ``likelihood_adjust`` and ``impact_adjust`` (−2…+2), move the rating
for that row, and an optional ``detail_key`` tells apart several findings on one asset.

A rule with an ``unverified:`` block may also return a boolean ``verified`` column: a row with
``verified = false`` is an *unverified* finding, raised because a fact the rule needs is not
stated (docs/scoring.md, "Unverified findings"). The block gives the assessor's question and
the model paths that settle it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domosec.catalog.types import Linddun, Stride

RULE_ID = re.compile(r"^(SVC|GW|DEV|NET)-([SP])(\d{2,3})$")
PARTS = {"SVC": "services", "GW": "gateway", "DEV": "devices", "NET": "networks"}
PART_CLAUSE = {"SVC": "1", "GW": "2", "DEV": "3", "NET": "4"}
RESERVED_COLUMNS = ("home_id", "asset_kind", "asset_id", "reason")
UNVERIFIED_LIKELIHOOD_DROP = 1
"""An unverified finding's likelihood is the rule's less this (before context factors; never below 1)."""

Level = Literal[1, 2, 3, 4, 5]


class Unverified(BaseModel):
    """What an unverified finding of the rule asks, and which facts of the model settle it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1, pattern=r"\?$", description="The question an assessor asks to settle the finding.")
    facts: tuple[str, ...] = Field(min_length=1, description="Model paths to state, e.g. devices[].fail_safe.on_power_loss.")
    when: str = Field(min_length=1, description="Which assets the rule asks about (the Annex-D-style tier), in words.")
    only: bool = Field(
        default=False,
        description="The model cannot state the failure itself, only leave the fact out: every finding is unverified "
        "(its fail example has `# expect-unverified:` lines alone).",
    )


class Rule(BaseModel):
    """One rule file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    status: Literal["preview", "stable", "deprecated"] = "stable"
    since: str = "0.1.0"
    risk_source: str
    risk_items: tuple[str, ...] = Field(min_length=1)
    stride: tuple[Stride, ...] = ()
    linddun: tuple[Linddun, ...] = ()
    likelihood: Level
    impact: Level
    mitigated_by: tuple[str, ...] = Field(min_length=1)
    cross_map: dict[Literal["etsi_en_303_645", "owasp_iot_2018", "nistir_8259a", "linddun"], tuple[str, ...]] = Field(default_factory=dict)
    scope: Literal["home", "users", "zones", "networks", "gateways", "devices", "services", "flows"]
    summary: str = Field(pattern=r"^Finds .+\.$")
    why_it_matters: str
    how_to_fix: str
    limitations: str = ""
    references: tuple[str, ...] = ()
    unverified: Unverified | None = None
    query: str

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError("a rule ID is PART-Xnn: PART one of SVC, GW, DEV, NET; X is S (security) or P (privacy); e.g. DEV-S01")
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Rule:
        match = RULE_ID.match(self.id)
        assert match is not None
        part, kind = match.group(1), match.group(2)
        expected = f"6.{2 if kind == 'S' else 3}.{PART_CLAUSE[part]}"
        if self.risk_source != expected:
            raise ValueError(f"rule {self.id} belongs to risk-source clause {expected}, not {self.risk_source}")
        if kind == "S" and not self.stride:
            raise ValueError("a security rule names at least one STRIDE class")
        if kind == "P" and not self.linddun:
            raise ValueError("a privacy rule names at least one LINDDUN class")
        return self

    @property
    def dimension(self) -> Literal["security", "privacy"]:
        return "security" if self.id.split("-")[1][0] == "S" else "privacy"

    @property
    def part(self) -> str:
        """The reference-model part: services, gateway, devices or networks."""
        return PARTS[self.id.split("-")[0]]

    @property
    def key(self) -> str:
        return f"{self.id} {self.name}"
