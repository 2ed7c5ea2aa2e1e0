"""Put an SBOM's components (and, with a vulnerability store, their matches) on one device or gateway of a model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from domosec.errors import Diagnostic, InputError
from domosec.evidence.sbom.components import SbomDocument, VexStatement
from domosec.model import parts
from domosec.model.elements import Device, Gateway, System, SystemModel

TOOL = "domosec import sbom"


@dataclass(frozen=True)
class AttachReport:
    """What the import did, for the summary lines."""

    asset: str
    components: int
    vulnerabilities: int
    known_exploited: int
    suppressed: int
    end_of_life: int


def new_model(home_id: str, asset: str) -> SystemModel:
    """A model holding only the product's device, for an SBOM imported without --model."""
    return SystemModel(
        system=System(id=home_id, name=home_id, kind="product"),
        devices=[Device(id=asset, type="other", provenance=parts.Provenance(source="imported", tool=TOOL))],
    )


def attach_sbom(
    model: SystemModel,
    asset: str,
    sbom_path: Path,
    document: SbomDocument,
    *,
    store: Path | None = None,
    vex: list[VexStatement] | None = None,
) -> AttachReport:
    """Replace ``asset``'s ``software`` and ``sbom`` with the SBOM's; match against ``store`` when given."""
    candidates: list[Gateway | Device] = [*model.devices, *model.gateways]
    target = next((e for e in candidates if e.id == asset), None)
    if target is None:
        known = ", ".join(sorted(e.id for e in [*model.devices, *model.gateways])[:10]) or "none"
        raise InputError(
            [Diagnostic("--asset", None, None, "unknown-asset", f"no device or gateway {asset!r} in the model (known: {known})")]
        )
    statements = [*document.vex, *(vex or [])]
    software = [
        parts.SoftwareComponent(
            name=c.name,
            version=c.version,
            supplier=c.supplier,
            purl=c.purl,
            cpe=c.cpe,
            sha256=c.sha256,
            licenses=", ".join(c.licenses),
            depends_on=c.depends_on,
        )
        for c in document.components
    ]
    reference = parts.Sbom(file=sbom_path.name, format="cyclonedx" if document.format == "cyclonedx" else "spdx")
    counts = [0, 0, 0, 0]
    if store is not None:
        from domosec.vulndb.match import match_components

        result = match_components(document.components, store, statements)
        for m in result.matches:
            vuln = parts.KnownVulnerability(
                id=m.id,
                aliases=m.aliases,
                severity=m.severity,
                cvss=m.cvss,
                known_exploited=m.known_exploited,
                fixed_version=m.fixed_version,
                confidence=m.confidence,
                vex_state=m.vex_state,
                vex_justification=m.vex_justification,
            )
            software[m.component].vulnerabilities.append(vuln)
            counts[0] += 1
            counts[1] += m.known_exploited and m.vex_state not in ("not_affected", "fixed")
            counts[2] += m.vex_state in ("not_affected", "fixed")
        for index, date in result.end_of_life.items():
            software[index].end_of_life = date
        counts[3] = len(result.end_of_life)
        reference.vulndb_built = result.data_date
        reference.vulndb_sources = result.sources
    target.software = software
    target.sbom = reference
    return AttachReport(asset, len(software), *counts)
