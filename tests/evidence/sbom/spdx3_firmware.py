"""The router firmware's SBOM as SPDX 3.0.1 JSON-LD, written by spdx-python-model (the SPDX project's own bindings)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from .firmware import FIRMWARE

BASE = "https://example.org/spdx/router-firmware-2.0"
LICENCES = {"busybox": "GPL-2.0-only", "dnsmasq": "GPL-2.0-only OR GPL-3.0-only", "openssl": "OpenSSL"}
"""Declared licences of some components (as the firmware's maker might state them)."""
NOT_AFFECTED = ("CVE-2022-28391", "busybox", "vulnerableCodeNotInExecutePath", "the netstat applet is not built")
"""A VEX statement in the SBOM: vulnerability, component, justification, impact statement."""


def write_firmware_spdx3(directory: Path) -> Path:
    """The firmware SBOM (packages, suppliers, purls, CPEs, hashes, licences, dependencies, a file, VEX)."""
    from spdx_python_model import v3_0_1 as spdx

    objects = spdx.SHACLObjectSet()
    agent = spdx.SoftwareAgent(spdxId=f"{BASE}/agent", name="domosec-test")
    info = spdx.CreationInfo(specVersion="3.0.1", created=dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    info.createdBy.append(agent)
    agent.creationInfo = info
    objects.add(agent)

    def add(element: object) -> object:
        element.creationInfo = info  # type: ignore[attr-defined]
        objects.add(element)
        return element

    firmware = add(spdx.software_Package(spdxId=f"{BASE}/firmware", name="router-firmware", software_packageVersion="2.0"))
    image = add(spdx.software_File(spdxId=f"{BASE}/file/kernel.img", name="kernel.img"))
    packages = {}
    for name, version, supplier, cpe in FIRMWARE:
        package = spdx.software_Package(
            spdxId=f"{BASE}/package/{name}", name=name, software_packageVersion=version, software_packageUrl=f"pkg:generic/{name}@{version}"
        )
        if supplier:
            package.suppliedBy = add(spdx.Organization(spdxId=f"{BASE}/org/{name}", name=supplier))
        package.verifiedUsing.append(spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=hashlib.sha256(name.encode()).hexdigest()))
        if cpe:
            package.externalIdentifier.append(
                spdx.ExternalIdentifier(externalIdentifierType=spdx.ExternalIdentifierType.cpe23, identifier=cpe)
            )
        packages[name] = add(package)
        link = spdx.RelationshipType.dependsOn
        add(spdx.Relationship(spdxId=f"{BASE}/rel/fw-{name}", from_=firmware, relationshipType=link, to=[package]))
        if name in LICENCES:
            licence = add(
                spdx.simplelicensing_LicenseExpression(spdxId=f"{BASE}/lic/{name}", simplelicensing_licenseExpression=LICENCES[name])
            )
            declared = spdx.RelationshipType.hasDeclaredLicense
            add(spdx.Relationship(spdxId=f"{BASE}/rel/lic-{name}", from_=package, relationshipType=declared, to=[licence]))
    contains = spdx.RelationshipType.contains
    add(spdx.Relationship(spdxId=f"{BASE}/rel/linux-image", from_=packages["linux"], relationshipType=contains, to=[image]))
    loader = spdx.software_File(spdxId=f"{BASE}/file/u-boot.bin", name="u-boot.bin")  # in no package: a component of its own
    loader.verifiedUsing.append(spdx.Hash(algorithm=spdx.HashAlgorithm.sha256, hashValue=hashlib.sha256(b"u-boot").hexdigest()))
    add(loader)
    cve, component, justification, statement = NOT_AFFECTED
    vuln = add(spdx.security_Vulnerability(spdxId=f"{BASE}/vuln/{cve}", name=cve))
    vuln.externalIdentifier.append(spdx.ExternalIdentifier(externalIdentifierType=spdx.ExternalIdentifierType.cve, identifier=cve))  # type: ignore[attr-defined]
    add(
        spdx.security_VexNotAffectedVulnAssessmentRelationship(
            spdxId=f"{BASE}/vex/1",
            from_=vuln,
            relationshipType=spdx.RelationshipType.doesNotAffect,
            to=[packages[component]],
            security_justificationType=getattr(spdx.security_VexJustificationType, justification),
            security_impactStatement=statement,
        )
    )
    add(spdx.SpdxDocument(spdxId=f"{BASE}/document", rootElement=[firmware]))
    path = directory / "router.spdx3.json"
    with path.open("wb") as out:
        spdx.JSONLDSerializer(indent=2).write(objects, out)
    return path
