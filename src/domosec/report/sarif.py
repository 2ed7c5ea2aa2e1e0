"""The Assessment as SARIF 2.1.0, for code scanning (GitHub and other SARIF viewers).

One run; a reporting descriptor per rule (short and full description, Markdown help, links to the
clause-7 items that treat it as a taxonomy); a result per finding, located at the asset's line and
column in the model file (a URI relative to ``%SRCROOT%``), with the stable finding ID as its
partial fingerprint. Accepted findings carry an ``accepted`` suppression.

GitHub code scanning shows a rule's ``security-severity`` only when the rule is tagged ``security``,
so every rule carries that tag (privacy rules as well, beside ``privacy``). The rule's severity and
``defaultConfiguration.level`` come from its stable base rating (likelihood × impact on the
assessment's matrix), so they do not change from one upload to the next; each result carries its
own level and ``security-severity`` from that finding's rating. An *unverified* finding (a fact the
rule needs is not stated) is a result of kind ``review`` and level ``note``, without a
``security-severity``; its properties carry ``confidence``, the assessor's ``question`` and the
``facts`` to state. Every rule has a ``helpUri``: its
page under ``docs/rules/`` (the base URL can be changed with ``DOMOSEC_RULES_DOCS_URL``).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from domosec.assessment import LEVELS, Assessment, Finding, LevelName, RuleInfo
from domosec.errors import Diagnostic, InputError
from domosec.report.components import SbomAssets, named_components, sbom_assets, sbom_path

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TAXONOMY = "ISO/IEC 27403"
FINGERPRINT = "domosecFindingId/v1"
SRCROOT = "%SRCROOT%"
RULES_DOCS_URL = "https://github.com/domosec/domosec/blob/main/docs/rules/"
"""Where ``helpUri`` points by default: the rule ID and ``.md`` are appended."""
RULES_DOCS_ENV = "DOMOSEC_RULES_DOCS_URL"

SARIF_LEVEL: dict[str, str] = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY: dict[str, str] = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.5"}
"""GitHub's bands: 9.0+ critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low; info gets none."""


def render_sarif(assessment: Assessment, *, root: Path | None = None, docs_url: str | None = None) -> str:
    """SARIF JSON text. ``root`` is the directory URIs are made relative to (for absolute model paths);
    ``docs_url`` the base of the rules' ``helpUri`` (default: ``$DOMOSEC_RULES_DOCS_URL`` or ``RULES_DOCS_URL``)."""
    document = sarif_document(assessment, root=root, docs_url=docs_url)
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def rules_docs_url(docs_url: str | None = None) -> str:
    """The base URL of the rules' pages, ending in ``/``; an ``https``, ``http`` or ``file`` URL."""
    base = docs_url or os.environ.get(RULES_DOCS_ENV, "").strip() or RULES_DOCS_URL
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http", "file") or not (parts.netloc or parts.scheme == "file") or any(c.isspace() for c in base):
        message = f"'{base[:80]}' is not a URL; give e.g. https://docs.example.org/rules/"
        raise InputError([Diagnostic(RULES_DOCS_ENV, None, None, "bad-setting", message)])
    return base if base.endswith("/") else base + "/"


def sarif_document(assessment: Assessment, *, root: Path | None = None, docs_url: str | None = None) -> dict[str, Any]:
    rule_index = {r.id: i for i, r in enumerate(assessment.rules)}
    base_url = rules_docs_url(docs_url)
    titles = {c.control_id: c.title for c in assessment.controls}
    homes = {h.home_id: h.file for h in assessment.homes}
    sboms = sbom_assets(assessment)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "domosec",
                "semanticVersion": assessment.tool_version,
                "rules": [_rule(r, _base_level(assessment, r), base_url) for r in assessment.rules],
                "supportedTaxonomies": [{"name": TAXONOMY, "index": 0}],
            }
        },
        "taxonomies": [_taxonomy(assessment, titles)],
        "automationDetails": {"id": "domosec/" + "+".join(sorted(homes)) + "/"},
        "columnKind": "unicodeCodePoints",
        "results": [_sbom_located(_result(f, rule_index, homes, root), f, sboms, root) for f in assessment.findings],
        "properties": {"as_of": assessment.as_of, "catalogue_version": assessment.catalogue_version},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _base_level(assessment: Assessment, rule: RuleInfo) -> LevelName:
    try:
        level = assessment.matrix["levels"][rule.likelihood - 1][rule.impact - 1]
    except (KeyError, IndexError, TypeError):
        return "medium"
    return next((name for name in LEVELS if name == level), "medium")


def _rule(rule: RuleInfo, level: LevelName, base_url: str) -> dict[str, Any]:
    tags = ["security", "privacy"] if rule.dimension == "privacy" else ["security"]
    tags += ["iot", "smart-home", f"iso27403-{rule.risk_source}"]
    properties: dict[str, Any] = {"tags": tags, "risk_source": rule.risk_source, "risk_items": rule.risk_items, "controls": rule.controls}
    if level in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[level]
    if rule.cross_map:
        properties["cross_map"] = rule.cross_map
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.summary or rule.title},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "helpUri": base_url + quote(rule.id, safe="") + ".md",
        "defaultConfiguration": {"level": SARIF_LEVEL[level]},
        "properties": properties,
    }
    if rule.controls:
        descriptor["relationships"] = [
            {"target": {"id": c, "toolComponent": {"name": TAXONOMY, "index": 0}}, "kinds": ["relevant"]} for c in rule.controls
        ]
    return descriptor


def _help_text(rule: RuleInfo) -> str:
    parts = [rule.summary, f"Why it matters: {_flat(rule.why_it_matters)}", f"How to fix: {_flat(rule.how_to_fix)}"]
    parts.append(f"Risk source: ISO/IEC 27403 {rule.risk_source}. Treated by clause-7 items: {', '.join(rule.controls) or 'none'}.")
    return "\n\n".join(p for p in parts if p.strip())


def _help_markdown(rule: RuleInfo) -> str:
    lines = [f"**{rule.id}** {rule.title}", "", rule.summary, ""]
    if rule.why_it_matters.strip():
        lines += ["### Why it matters", "", rule.why_it_matters.strip(), ""]
    if rule.how_to_fix.strip():
        lines += ["### How to fix", "", rule.how_to_fix.strip(), ""]
    lines += [
        "### Clause references",
        "",
        f"- Risk source: ISO/IEC 27403 {rule.risk_source} ({', '.join(rule.risk_items)})",
        f"- Treated by: {', '.join(rule.controls) or '—'}",
    ]
    for framework, ids in sorted(rule.cross_map.items()):
        lines.append(f"- {framework}: {', '.join(ids)}")
    return "\n".join(lines) + "\n"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _taxonomy(assessment: Assessment, titles: dict[str, str]) -> dict[str, Any]:
    used = sorted({c for r in assessment.rules for c in r.controls}, key=_clause_key)
    return {
        "name": TAXONOMY,
        "fullName": "ISO/IEC 27403:2024 Cybersecurity — IoT security and privacy — Guidelines for IoT-domotics",
        "version": assessment.catalogue_version,
        "organization": "ISO/IEC",
        "shortDescription": {"text": "Clause-7 principles and controls of ISO/IEC 27403 that treat the risks the rules find."},
        "isComprehensive": False,
        "taxa": [{"id": c, "name": titles.get(c, c), "shortDescription": {"text": f"{c} {titles.get(c, '')}".strip()}} for c in used],
    }


def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in clause.split("."))


def _result(f: Finding, rule_index: dict[str, int], homes: dict[str, str], root: Path | None) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": f.rule_id}
    if f.rule_id in rule_index:
        result["ruleIndex"] = rule_index[f.rule_id]
    rating = f"{f.inherent.level} ({f.inherent.likelihood}×{f.inherent.impact} = {f.inherent.score})"
    text = f"{f.reason} Risk: {rating}."
    if f.unverified is not None:
        text = f"Unverified: {f.reason} Risk if so: {rating}. To settle: {f.unverified.question} State: {', '.join(f.unverified.facts)}."
    result |= {
        "level": "note" if f.is_unverified else SARIF_LEVEL[f.inherent.level],
        "kind": "review" if f.is_unverified else "fail",
        "message": {"text": text},
        "locations": [_location(f, homes, root)],
        "partialFingerprints": {FINGERPRINT: f.id},
        "properties": _result_properties(f),
    }
    if f.treatment == "accepted" and f.acceptance is not None:
        a = f.acceptance
        text = f"Accepted by {a.approver} until {a.expires}: {a.reason}" + (f" ({a.ticket})" if a.ticket else "")
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": text}]
    return result


def _sbom_located(result: dict[str, Any], f: Finding, sboms: SbomAssets, root: Path | None) -> dict[str, Any]:
    """A finding on components of an imported SBOM is located in the SBOM file (the model line becomes a related
    location); its properties name the SBOM and the components' purls."""
    found = sboms.get((f.home_id, f.asset.kind, f.asset.id))
    components = named_components(f, found[1]) if found else []
    if not found or not components:
        return result
    home, software = found
    model = result["locations"][0]
    result["locations"] = [{"physicalLocation": {"artifactLocation": _artifact(sbom_path(home, software), root)}, **_logical(model)}]
    result["relatedLocations"] = [{"id": 1, **model, "message": {"text": f"{f.asset.kind} {f.asset.id} in the model"}}]
    result["properties"] |= {
        "sbom": software.sbom_file,
        "purls": sorted({c.purl for c in components if c.purl}),
        "components": [f"{c.name} {c.version}".strip() for c in components],
    }
    return result


def _logical(location: dict[str, Any]) -> dict[str, Any]:
    return {"logicalLocations": location["logicalLocations"]} if "logicalLocations" in location else {}


def _location(f: Finding, homes: dict[str, str], root: Path | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(f.asset.file or homes.get(f.home_id, ""), root)}
    if f.asset.line is not None:
        region: dict[str, int] = {"startLine": f.asset.line}
        if f.asset.col is not None:
            region["startColumn"] = f.asset.col
        physical["region"] = region
    logical = {"name": f.asset.id, "fullyQualifiedName": f"{f.home_id}/{f.asset.kind}/{f.asset.id}", "kind": "resource"}
    return {"physicalLocation": physical, "logicalLocations": [logical]}


def _artifact(file: str, root: Path | None) -> dict[str, str]:
    """A URI relative to %SRCROOT% when the path is relative (or under ``root``); a file URI otherwise."""
    path = Path(file)
    if path.is_absolute() and root is not None:
        try:
            path = path.relative_to(root.resolve())
        except ValueError:
            return {"uri": path.as_uri()}
    elif path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(PurePosixPath(*path.parts).as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _result_properties(f: Finding) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "key": f.key,
        "home_id": f.home_id,
        "asset_kind": f.asset.kind,
        "dimension": f.dimension,
        "risk_source": f.risk_source,
        "controls": f.controls,
        "inherent": f.inherent.model_dump(),
        "residual": f.residual.model_dump(),
        "treatment": f.treatment,
        "rating_reason": f.rating_reason,
        "confidence": f.confidence,
    }
    if f.unverified is not None:
        properties["question"] = f.unverified.question
        properties["facts"] = f.unverified.facts
    elif f.inherent.level in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[f.inherent.level]
    if f.factors:
        properties["factors"] = f.factors
    if f.explain:
        properties["explain"] = f.explain
    return properties
