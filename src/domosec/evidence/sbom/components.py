"""What an SBOM says, independent of its format: components, their dependencies and VEX statements."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Component:
    """One component of an SBOM, in the terms of the model's ``software`` entries."""

    ref: str
    name: str
    version: str = ""
    supplier: str = ""
    purl: str = ""
    cpe: str = ""
    sha256: str = ""
    licenses: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VexStatement:
    """A VEX statement: what the product's maker says about one vulnerability in one component (or all of them)."""

    vulnerability: str
    component: str
    """A purl, a component name or ``*`` for every component."""
    state: str
    """not_affected, affected, fixed or under_investigation."""
    justification: str = ""


@dataclass
class SbomDocument:
    """An SBOM as read: its format and spec version, components (sorted) and VEX statements."""

    format: str
    spec_version: str
    components: list[Component]
    vex: list[VexStatement] = field(default_factory=list)
