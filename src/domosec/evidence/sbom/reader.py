"""Read an SBOM file: CycloneDX 1.4–1.7 (JSON or XML, with cyclonedx-python-lib), SPDX 2.3 (JSON or tag-value,
with spdx-tools) or SPDX 3.0 JSON-LD (:mod:`domosec.evidence.sbom.spdx3`).

Hostile input is refused with a diagnostic, never a traceback: the file is read through the model's bounded
reader (size limit), JSON nesting beyond :data:`MAX_DEPTH` and XML with a DTD or entities are refused before
any library sees them, and more than ``max_components`` components is an error.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

from domosec.errors import Diagnostic, InputError
from domosec.evidence.sbom.components import Component, SbomDocument, VexStatement
from domosec.evidence.sbom.spdx3 import read_spdx3, spdx3_version
from domosec.model.source import read_bounded

MAX_DEPTH = 64
"""Deepest JSON or XML nesting accepted (real SBOMs nest components a few levels deep)."""
MAX_COMPONENTS = 200_000

_CDX_STATES = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "exploitable": "affected",
    "in_triage": "under_investigation",
}


def _fail(name: str, code: str, message: str, hint: str = "") -> InputError:
    return InputError([Diagnostic(name, None, None, code, message, hint=hint)])


def read_sbom(path: Path, *, max_bytes: int = 64 * 1024 * 1024, max_components: int = MAX_COMPONENTS) -> SbomDocument:
    """The components of the SBOM at ``path`` (format detected from its content)."""
    name = str(path)
    data = read_bounded(path, max_bytes, name=name, what="an SBOM")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        document = _read_json(name, data)
    elif head.startswith(b"<"):
        document = _read_cyclonedx_xml(name, data)
    elif b"SPDXVersion:" in head:
        document = _read_spdx_tag_value(name, data)
    else:
        raise _fail(name, "sbom-format", "not a CycloneDX (JSON, XML), SPDX 2.3 (JSON, tag-value) or SPDX 3.0 (JSON-LD) SBOM")
    if len(document.components) > max_components:
        raise _fail(name, "sbom-too-large", f"{len(document.components):,} components, more than {max_components:,}")
    document.components.sort(key=lambda c: (c.name.lower(), c.version, c.purl, c.ref))
    return document


def _json_too_deep(data: bytes) -> int | None:
    """The offset of the first JSON array or object nested deeper than :data:`MAX_DEPTH` (strings skipped), or None."""
    depth = 0
    in_string = escaped = False
    for offset, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return offset
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return None


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of byte ``offset``."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, len(data[start:offset].decode("utf-8", "replace")) + 1


def _read_json(name: str, data: bytes) -> SbomDocument:
    deep = _json_too_deep(data)
    if deep is not None:
        where = _line_col(data, deep)
        raise InputError([Diagnostic.at(name, where, "sbom-too-deep", f"JSON nested deeper than {MAX_DEPTH} levels")])
    try:
        text = data.decode(json.detect_encoding(data))  # UTF-8 (with or without a BOM), UTF-16 or UTF-32, as json.loads
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Diagnostic(name, exc.lineno, exc.colno, "sbom-invalid", f"not valid JSON: {exc.msg}")]) from None
    except (ValueError, RecursionError) as exc:
        raise _fail(name, "sbom-invalid", f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise _fail(name, "sbom-format", "the JSON is not an object")
    if raw.get("bomFormat") == "CycloneDX":
        return _cyclonedx(name, raw, from_xml=False)
    if isinstance(raw.get("spdxVersion"), str):
        return _spdx_json(name, raw)
    version = spdx3_version(raw)
    if version is not None:
        return read_spdx3(name, text, raw, version)
    if "@context" in raw:
        raise _fail(name, "sbom-format", "JSON-LD whose @context is not SPDX 3.0 (https://spdx.org/rdf/3.0.x/spdx-context.jsonld)")
    raise _fail(name, "sbom-format", "JSON without bomFormat 'CycloneDX', spdxVersion or an SPDX 3.0 @context")


def _read_cyclonedx_xml(name: str, data: bytes) -> SbomDocument:
    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]  # no stubs
    from defusedxml import ElementTree as SafeTree

    try:
        root = SafeTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise _fail(name, "sbom-xml-forbidden", f"XML with a DTD or entities is refused ({type(exc).__name__})") from None
    except (SafeTree.ParseError, RecursionError) as exc:
        raise _fail(name, "sbom-invalid", f"not well-formed XML: {exc}") from None
    if not _xml_depth_ok(root):
        raise _fail(name, "sbom-too-deep", f"XML nested deeper than {MAX_DEPTH} levels")
    if not root.tag.startswith("{http://cyclonedx.org/schema/bom/"):
        raise _fail(name, "sbom-format", f"XML root {root.tag!r} is not a CycloneDX bom")
    return _cyclonedx(name, root, from_xml=True)


def _xml_depth_ok(root: Any) -> bool:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in node)
    return True


def _cyclonedx(name: str, raw: Any, *, from_xml: bool) -> SbomDocument:
    from cyclonedx.model.bom import Bom

    version = raw.tag.split("}", 1)[0].rsplit("/", 1)[-1] if from_xml else str(raw.get("specVersion", ""))
    if version not in ("1.4", "1.5", "1.6", "1.7"):
        raise _fail(name, "sbom-version", f"CycloneDX {version or '(no specVersion)'} is not read; 1.4 to 1.7 are")
    try:
        with warnings.catch_warnings():  # the library warns about fields later versions deprecate
            warnings.simplefilter("ignore")
            bom = Bom.from_xml(raw) if from_xml else Bom.from_json(raw)  # type: ignore[attr-defined]
    except Exception as exc:  # the library raises many kinds for malformed documents
        raise _fail(name, "sbom-invalid", f"not a valid CycloneDX {version} document: {type(exc).__name__}: {exc}"[:500]) from None
    components: list[Component] = []
    pending = list(bom.components)
    subject = bom.metadata.component
    if subject is not None and _real_version(subject.version):
        pending.append(subject)  # the firmware or product the SBOM describes, when it names its version
    while pending:
        c = pending.pop()
        pending.extend(c.components)
        hashes = {str(h.alg.value).upper().replace("-", ""): h.content for h in c.hashes}
        supplier = c.supplier.name if c.supplier is not None and c.supplier.name else (c.publisher or c.author or "")
        components.append(
            Component(
                ref=str(c.bom_ref.value or c.name),
                name=c.name,
                version=c.version or "",
                supplier=str(supplier or ""),
                purl=c.purl.to_string() if c.purl is not None else "",
                cpe=c.cpe or "",
                sha256=hashes.get("SHA256", ""),
                licenses=sorted(_license_text(lic) for lic in c.licenses),
            )
        )
    by_ref = {c.ref: c for c in components}
    for dep in bom.dependencies:
        owner = by_ref.get(str(dep.ref.value))
        if owner is not None:
            owner.depends_on = sorted({_label(by_ref[str(d.ref.value)]) for d in dep.dependencies if str(d.ref.value) in by_ref})
    vex = []
    for vuln in bom.vulnerabilities:
        if vuln.analysis is None or vuln.analysis.state is None or not vuln.id:
            continue
        state = _CDX_STATES.get(str(vuln.analysis.state.value), "under_investigation")
        why = ", ".join(str(j.value) for j in ([vuln.analysis.justification] if vuln.analysis.justification else []))
        detail = "; ".join(x for x in (why, vuln.analysis.detail or "") if x)
        for target in vuln.affects or [None]:
            ref = str(target.ref) if target is not None else "*"
            owner = by_ref.get(ref)
            vex.append(VexStatement(vuln.id, _label(owner) if owner else ref, state, detail))
    return SbomDocument("cyclonedx", version, components, sorted(vex, key=lambda v: (v.vulnerability, v.component)))


def _real_version(version: str | None) -> bool:
    """A version, not a generator's placeholder: cdxgen writes ``latest`` for a project that names none."""
    return bool(version) and str(version).strip().lower() not in ("latest", "unknown", "unspecified", "noassertion")


def _license_text(lic: Any) -> str:
    for attr in ("value", "id", "name"):
        value = getattr(lic, attr, None)
        if value:
            return str(value)
    return ""


def _label(c: Component) -> str:
    """How a component is named in ``depends_on`` and VEX statements: its purl, else its name."""
    return c.purl or c.name


def _spdx_json(name: str, raw: dict[str, Any]) -> SbomDocument:
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser

    try:
        document = JsonLikeDictParser().parse(raw)  # type: ignore[no-untyped-call]
    except Exception as exc:  # spdx-tools raises SPDXParsingError and others for malformed input
        raise _fail(name, "sbom-invalid", f"not a valid SPDX document: {_spdx_message(exc)}") from None
    return _spdx(document)


def _read_spdx_tag_value(name: str, data: bytes) -> SbomDocument:
    from spdx_tools.spdx.parser.tagvalue.parser import Parser

    try:
        text = data.decode("utf-8")
        with contextlib.redirect_stderr(io.StringIO()):  # ply announces the parser tables it builds
            document = Parser().parse(text)  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise _fail(name, "sbom-invalid", f"not a valid SPDX tag-value document: {_spdx_message(exc)}") from None
    return _spdx(document)


def _spdx_message(exc: Exception) -> str:
    messages = getattr(exc, "get_messages", None)
    text = "; ".join(messages()) if callable(messages) else f"{type(exc).__name__}: {exc}"
    return text[:500]


def _spdx(document: Any) -> SbomDocument:
    from spdx_tools.spdx.model.relationship import RelationshipType

    components: dict[str, Component] = {}
    for package in document.packages:
        purl = cpe = ""
        for ref in package.external_references:
            if ref.reference_type == "purl" and not purl:
                purl = ref.locator
            elif ref.reference_type in ("cpe23Type", "cpe22Type") and not cpe:
                cpe = ref.locator
        checksums = {c.algorithm.name: c.value for c in package.checksums}
        supplier = getattr(package.supplier, "name", "") if package.supplier is not None else ""
        licence = package.license_declared if package.license_declared is not None else package.license_concluded
        licence_text = str(licence) if licence is not None and "NOASSERTION" not in str(licence).upper() else ""
        components[package.spdx_id] = Component(
            ref=package.spdx_id,
            name=package.name,
            version=package.version or "",
            supplier=str(supplier or ""),
            purl=purl,
            cpe=cpe,
            sha256=checksums.get("SHA256", ""),
            licenses=[licence_text] if licence_text else [],
        )
    edges: dict[str, set[str]] = {}
    for rel in document.relationships:
        a, b = rel.spdx_element_id, str(rel.related_spdx_element_id)
        if rel.relationship_type == RelationshipType.DEPENDS_ON:
            edges.setdefault(a, set()).add(b)
        elif rel.relationship_type == RelationshipType.DEPENDENCY_OF:
            edges.setdefault(b, set()).add(a)
    for ref, targets in edges.items():
        if ref in components:
            components[ref].depends_on = sorted(_label(components[t]) for t in targets if t in components)
    version = str(document.creation_info.spdx_version).removeprefix("SPDX-")
    return SbomDocument("spdx", version, list(components.values()))
