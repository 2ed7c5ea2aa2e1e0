"""The software an Assessment carries: each gateway's and device's SBOM, components and matched vulnerabilities.

Renderers (the components section of the HTML, Markdown and CSV reports, SARIF, OSCAL) read this instead of
the model, and the Statement of Applicability cites it as evidence for the clause-7 items an SBOM serves.
Everything is sorted here, so the same model gives the same bytes.
"""

from __future__ import annotations

from typing import Literal

from domosec.assessment import AssetSoftware, Component, ComponentVulnerability
from domosec.model.elements import Device, Gateway, SystemModel
from domosec.model.parts import KnownVulnerability, SoftwareComponent

SBOM_CONTROLS = ("7.2.18", "7.2.22", "7.2.23", "7.2.24")
"""Clause-7 items an SBOM matched against vulnerability data is evidence for: sharing vulnerability information
(7.2.18), management of vulnerable devices (7.2.22), supplier relationships (7.2.23: who supplies each component)
and secure disclosure of security information (7.2.24)."""


def software(model: SystemModel) -> list[AssetSoftware]:
    """Every gateway and device with an SBOM reference or a ``software`` list, gateways first, each by ID."""
    gateways = [_asset("gateway", g) for g in sorted(model.gateways, key=lambda e: e.id) if g.sbom.file or g.software]
    return gateways + [_asset("device", d) for d in sorted(model.devices, key=lambda e: e.id) if d.sbom.file or d.software]


def _asset(kind: Literal["gateway", "device"], eq: Gateway | Device) -> AssetSoftware:
    return AssetSoftware.model_construct(
        kind=kind,
        id=eq.id,
        name=eq.name,
        sbom_file=eq.sbom.file,
        sbom_format=eq.sbom.format or "",
        vulndb_built=eq.sbom.vulndb_built.isoformat() if eq.sbom.vulndb_built else None,
        vulndb_sources=eq.sbom.vulndb_sources,
        components=sorted((_component(c) for c in eq.software), key=lambda c: (c.name, c.version, c.purl, c.cpe)),
    )


def _component(c: SoftwareComponent) -> Component:
    return Component.model_construct(
        name=c.name,
        version=c.version,
        supplier=c.supplier,
        purl=c.purl,
        cpe=c.cpe,
        licenses=c.licenses,
        end_of_life=c.end_of_life.isoformat() if c.end_of_life else None,
        vulnerabilities=sorted((_vulnerability(v) for v in c.vulnerabilities), key=lambda v: v.worst_first),
    )


def _vulnerability(v: KnownVulnerability) -> ComponentVulnerability:
    return ComponentVulnerability.model_construct(
        id=v.id,
        aliases=v.aliases,
        severity=v.severity,
        cvss=v.cvss,
        known_exploited=v.known_exploited,
        fixed_version=v.fixed_version,
        confidence=v.confidence,
        vex_state=v.vex_state,
        vex_justification=v.vex_justification,
    )


def sbom_evidence(model: SystemModel) -> list[str]:
    """One evidence line per gateway or device with an SBOM: 'SBOM <file> (<asset>), N components, vulnerability data of <date>'."""
    lines = []
    for asset in software(model):
        n = len(asset.components)
        source = f"SBOM {asset.sbom_file}" if asset.sbom_file else "software list"
        data = f"vulnerability data of {asset.vulndb_built}" if asset.vulndb_built else "not matched against vulnerability data"
        lines.append(f"{source} ({asset.kind} {asset.id}), {n} component{'s' if n != 1 else ''}, {data}")
    return lines


def sbom_coverage(model: SystemModel) -> tuple[int, int]:
    """(gateways and devices whose software was matched against vulnerability data, gateways and devices)."""
    equipment = [*model.gateways, *model.devices]
    matched = sum(1 for e in equipment if e.sbom.vulndb_built is not None and (e.sbom.file or e.software))
    return matched, len(equipment)


def sbom_partial_reason(model: SystemModel) -> str:
    """Why an undeclared item an SBOM serves is partial rather than unknown: what the SBOMs show and what they cannot."""
    matched, total = sbom_coverage(model)
    return (
        f"Not declared; the SBOMs show which components the gateways and devices run and, for {matched} of {total}, "
        "which known vulnerabilities affect them (evidence), but not the rest of the item: ask the assessor questions."
    )
