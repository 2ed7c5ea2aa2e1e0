"""A router firmware's SBOM written with spdx-tools (SPDX 2.3 JSON and tag-value), as a firmware build would."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

FIRMWARE = [
    # name, version, supplier, CPE (empty: the SBOM gives none, as many firmware SBOMs do)
    ("busybox", "1.31.1", "BusyBox project", "cpe:2.3:a:busybox:busybox:1.31.1:*:*:*:*:*:*:*"),
    ("dnsmasq", "2.76", "Simon Kelley", ""),
    ("openssl", "1.0.1f", "OpenSSL Foundation", "cpe:2.3:a:openssl:openssl:1.0.1f:*:*:*:*:*:*:*"),
    ("dropbear", "2022.83", "", ""),
    ("linux", "4.4.10", "", ""),
]


def write_firmware_spdx(directory: Path) -> dict[str, Path]:
    """The firmware SBOM as ``json`` and ``tag-value`` files, written and validated by spdx-tools."""
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        Checksum,
        ChecksumAlgorithm,
        CreationInfo,
        Document,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        Relationship,
        RelationshipType,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.writer.write_anything import write_file

    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name="router-firmware-2.0",
        document_namespace="https://example.org/spdx/router-firmware-2.0",
        creators=[Actor(ActorType.TOOL, "domosec-test")],
        created=dt.datetime(2025, 7, 1),
    )
    packages = [Package("SPDXRef-firmware", "router-firmware", "https://example.org/fw", version="2.0", files_analyzed=False)]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, "SPDXRef-firmware")]
    for name, version, supplier, cpe in FIRMWARE:
        refs = [ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", f"pkg:generic/{name}@{version}")]
        if cpe:
            refs.append(ExternalPackageRef(ExternalPackageRefCategory.SECURITY, "cpe23Type", cpe))
        spdx_id = f"SPDXRef-{name}"
        packages.append(
            Package(
                spdx_id,
                name,
                SpdxNoAssertion(),
                version=version,
                supplier=Actor(ActorType.ORGANIZATION, supplier) if supplier else None,
                files_analyzed=False,
                checksums=[Checksum(ChecksumAlgorithm.SHA256, hashlib.sha256(name.encode()).hexdigest())],
                external_references=refs,
            )
        )
        relationships.append(Relationship("SPDXRef-firmware", RelationshipType.DEPENDS_ON, spdx_id))
    document = Document(info, packages=packages, relationships=relationships)
    out = {"json": directory / "router.spdx.json", "tag-value": directory / "router.spdx"}
    for path in out.values():
        write_file(document, str(path), validate=True)
    return out
