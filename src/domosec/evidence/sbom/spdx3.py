"""Read an SPDX 3.0 JSON-LD SBOM: our own reader over the document's ``@graph`` (spdx-tools reads SPDX 2 only).

An SPDX 3.0 JSON document is JSON-LD compacted with the SPDX context
(``https://spdx.org/rdf/3.0.x/spdx-context.jsonld``): a ``@graph`` of elements, each with a ``type`` and an
``spdxId`` (or a blank-node ``@id``), that refer to each other by those IDs or nest each other inline. This
reader takes:

- components: every ``software_Package``, and every ``software_File`` that no package ``contains`` (the files
  of a package are its content, not more software); name, ``software_packageVersion``, supplier
  (``suppliedBy``, else the first ``originatedBy`` agent), purl (``software_packageUrl``, else an
  ``externalIdentifier`` of type ``packageUrl``), CPE (``externalIdentifier`` ``cpe23``, else ``cpe22``),
  SHA-256 (``verifiedUsing``) and licences (``hasDeclaredLicense``, else ``hasConcludedLicense``
  relationships to licence expressions or listed licences);
- the dependency graph: ``dependsOn``, ``hasStaticLink``, ``hasDynamicLink``, ``hasOptionalDependency`` and
  ``hasProvidedDependency`` relationships;
- VEX: the security profile's ``security_Vex*VulnAssessmentRelationship`` elements, from a
  ``security_Vulnerability`` (its ``cve`` external identifier, else its name) to components.

A value of the wrong JSON type is an ``sbom-invalid`` error at the line and column of its element.
"""

from __future__ import annotations

import json
import re
from typing import Any

from domosec.errors import Diagnostic, InputError
from domosec.evidence.sbom.components import Component, SbomDocument, VexStatement

CONTEXT = re.compile(r"^https://spdx\.org/rdf/(3\.0(?:\.\d+)?)/spdx-context\.jsonld$")
DEPENDENCY_TYPES = frozenset({"dependsOn", "hasStaticLink", "hasDynamicLink", "hasOptionalDependency", "hasProvidedDependency"})
LICENSE_TYPES = ("hasDeclaredLicense", "hasConcludedLicense")
VEX_STATES = {
    "security_VexNotAffectedVulnAssessmentRelationship": "not_affected",
    "security_VexAffectedVulnAssessmentRelationship": "affected",
    "security_VexFixedVulnAssessmentRelationship": "fixed",
    "security_VexUnderInvestigationVulnAssessmentRelationship": "under_investigation",
}
_NO_LICENSE = ("NOASSERTION", "NONE")


def spdx3_version(raw: dict[str, Any]) -> str | None:
    """The SPDX version of a JSON-LD document's ``@context`` (``3.0.1``), or None if it is not SPDX 3."""
    context = raw.get("@context")
    for url in context if isinstance(context, list) else [context]:
        if isinstance(url, str) and (m := CONTEXT.match(url)):
            return m[1]
    return None


class _BadElement(Exception):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index, self.message = index, message


def read_spdx3(name: str, text: str, raw: dict[str, Any], version: str) -> SbomDocument:
    """The components, dependencies and VEX statements of the SPDX 3 document ``raw`` (parsed from ``text``)."""
    graph = raw.get("@graph", [{k: v for k, v in raw.items() if k != "@context"}])
    if not isinstance(graph, list):
        raise InputError([Diagnostic(name, None, None, "sbom-invalid", "'@graph' is not a list of elements")])
    try:
        return _Graph(graph).document(version)
    except _BadElement as exc:
        where = _element_position(text, exc.index, "@graph" in raw)
        raise InputError([Diagnostic.at(name, where, "sbom-invalid", f"SPDX 3 element {exc.index + 1}: {exc.message}")]) from None


class _Graph:
    def __init__(self, graph: list[Any]) -> None:
        self.elements: dict[str, tuple[int, dict[str, Any]]] = {}
        self.order: list[tuple[int, dict[str, Any]]] = []
        for index, element in enumerate(graph):
            self._add(index, element)

    def _add(self, index: int, element: Any) -> None:
        if not isinstance(element, dict):
            raise _BadElement(index, f"an element is a JSON object, not {type(element).__name__}")
        if not isinstance(element.get("type"), str):
            raise _BadElement(index, "no 'type' string")
        ident = element.get("spdxId", element.get("@id"))
        if ident is not None and not isinstance(ident, str):
            raise _BadElement(index, f"'spdxId' is {type(ident).__name__}, not a string")
        self.order.append((index, element))
        if ident is not None:
            self.elements.setdefault(ident, (index, element))
        for key, value in element.items():  # inline elements (a supplier, a licence) are elements too
            if key in ("verifiedUsing", "externalIdentifier", "externalRef"):
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and isinstance(item.get("spdxId", item.get("@id")), str) and isinstance(item.get("type"), str):
                    self._add(index, item)

    def _resolve(self, index: int, value: Any) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            found = self.elements.get(value)
            return found[1] if found else None
        raise _BadElement(index, f"a reference is {type(value).__name__}, not an ID or an element")

    def _id(self, index: int, value: Any) -> str:
        if isinstance(value, dict):
            value = value.get("spdxId", value.get("@id"))
        if not isinstance(value, str):
            raise _BadElement(index, f"a reference is {type(value).__name__}, not an ID")
        return value

    def document(self, version: str) -> SbomDocument:
        relationships = [(i, e) for i, e in self.order if str(e["type"]).endswith("Relationship")]
        contained: set[str] = set()
        packages = {_ident(i, e) for i, e in self.order if e["type"] == "software_Package"}
        for index, rel in relationships:
            if rel.get("relationshipType") == "contains" and self._id(index, rel.get("from")) in packages:
                contained.update(self._id(index, t) for t in _list(index, rel, "to"))
        components: dict[str, Component] = {}
        for index, element in self.order:
            if element["type"] == "software_Package" or (element["type"] == "software_File" and _ident(index, element) not in contained):
                component = self._component(index, element)
                components.setdefault(component.ref, component)
        licences: dict[str, dict[str, list[str]]] = {}
        edges: dict[str, set[str]] = {}
        vex: list[VexStatement] = []
        for index, rel in relationships:
            kind = _str(index, rel, "relationshipType")
            source = self._id(index, rel.get("from"))
            targets = _list(index, rel, "to")
            if kind in DEPENDENCY_TYPES:
                edges.setdefault(source, set()).update(self._id(index, t) for t in targets)
            elif kind in LICENSE_TYPES:
                texts = [self._licence(index, t) for t in targets]
                licences.setdefault(source, {}).setdefault(kind, []).extend(t for t in texts if t)
            elif rel["type"] in VEX_STATES:
                vex.extend(self._vex(index, rel, source, targets, components))
        for ref, component in components.items():
            by_kind = licences.get(ref, {})
            component.licenses = sorted(set(by_kind.get("hasDeclaredLicense") or by_kind.get("hasConcludedLicense") or []))
            component.depends_on = sorted({_label(components[t]) for t in edges.get(ref, ()) if t in components})
        return SbomDocument("spdx", version, list(components.values()), sorted(set(vex), key=lambda v: (v.vulnerability, v.component)))

    def _component(self, index: int, e: dict[str, Any]) -> Component:
        purl = _str(index, e, "software_packageUrl")
        cpe = {"cpe23": "", "cpe22": ""}
        for ext in _list(index, e, "externalIdentifier"):
            if not isinstance(ext, dict):
                raise _BadElement(index, "an externalIdentifier is not an object")
            kind, value = _str(index, ext, "externalIdentifierType"), _str(index, ext, "identifier")
            if kind == "packageUrl" and not purl:
                purl = value
            elif kind in cpe and not cpe[kind]:
                cpe[kind] = value
        sha256 = ""
        for check in _list(index, e, "verifiedUsing"):
            if isinstance(check, dict) and check.get("algorithm") == "sha256":
                sha256 = _str(index, check, "hashValue")
        supplier = ""
        for agent in [e["suppliedBy"]] if e.get("suppliedBy") else _list(index, e, "originatedBy")[:1]:
            found = self._resolve(index, agent)
            supplier = _str(index, found, "name") if found else ""
        return Component(
            ref=_ident(index, e),
            name=_str(index, e, "name"),
            version=_str(index, e, "software_packageVersion"),
            supplier=supplier,
            purl=purl,
            cpe=cpe["cpe23"] or cpe["cpe22"],
            sha256=sha256,
        )

    def _licence(self, index: int, target: Any) -> str:
        ident = target if isinstance(target, str) else None
        found = self._resolve(index, target)
        if found is not None:
            text = _str(index, found, "simplelicensing_licenseExpression") or _str(index, found, "name")
            ident = ident or found.get("spdxId")
            if text:
                return "" if text.upper() in _NO_LICENSE or "NoAssertion" in str(found.get("type")) else text
        if isinstance(ident, str) and ident.startswith("https://spdx.org/licenses/"):
            return ident.rsplit("/", 1)[-1]  # a listed licence named by its IRI
        return ""

    def _vex(
        self, index: int, rel: dict[str, Any], source: str, targets: list[Any], components: dict[str, Component]
    ) -> list[VexStatement]:
        vuln = self._resolve(index, source) or {}
        vid = _str(index, vuln, "name") if vuln else source
        for ext in _list(index, vuln, "externalIdentifier") if vuln else []:
            if isinstance(ext, dict) and ext.get("externalIdentifierType") == "cve":
                vid = _str(index, ext, "identifier")
        why = "; ".join(x for x in (_str(index, rel, "security_justificationType"), _str(index, rel, "security_impactStatement")) if x)
        out = []
        for target in targets:
            ref = self._id(index, target)
            owner = components.get(ref)
            out.append(VexStatement(vid, _label(owner) if owner else ref, VEX_STATES[rel["type"]], why))
        return out


def _ident(index: int, element: dict[str, Any]) -> str:
    """An element's ID (an element without one, which SPDX 3 does not allow, gets its place in the graph)."""
    return str(element.get("spdxId") or element.get("@id") or f"_:element{index + 1}")


def _str(index: int, element: dict[str, Any], key: str) -> str:
    value = element.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _BadElement(index, f"{element.get('type', 'element')} {key!r} is {type(value).__name__}, not a string")
    return value


def _list(index: int, element: dict[str, Any], key: str) -> list[Any]:
    value = element.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict | str):
        return [value]  # JSON-LD allows a single value where a list is expected
    raise _BadElement(index, f"{element.get('type', 'element')} {key!r} is {type(value).__name__}, not a list")


def _label(c: Component) -> str:
    return c.purl or c.name


def _element_position(text: str, index: int, in_graph: bool) -> tuple[int, int] | None:
    """The line and column where element ``index`` of ``@graph`` starts (the document's start if it has none)."""
    decoder = json.JSONDecoder()
    offset = _skip(text, 0)
    if not in_graph:
        return _line_col(text, offset)
    try:
        pos = _skip(text, offset + 1)
        while text[pos] != "}":
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip(text, _skip(text, pos) + 1)  # past ':'
            if key == "@graph":
                pos = _skip(text, pos + 1)
                for _ in range(index):
                    pos = _skip(text, _skip(text, decoder.raw_decode(text, pos)[1]) + 1)  # past the element and ','
                return _line_col(text, pos)
            pos = _skip(text, decoder.raw_decode(text, pos)[1])
            pos = _skip(text, pos + 1) if text[pos] == "," else pos
    except (ValueError, IndexError):
        return None
    return None


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
