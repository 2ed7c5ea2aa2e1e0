"""The components and vulnerabilities as CSV: one row per component and matched vulnerability, for spreadsheets.

The same conventions as the risk register (:mod:`domosec.report.csv_out`): RFC 4180, UTF-8 without a byte-order
mark, CRLF, and a text cell a spreadsheet would run as a formula prefixed with an apostrophe. A component
without a matched vulnerability is one row with the vulnerability columns empty. Rows follow the homes, then
gateways before devices by ID, components by name and version, and each component's vulnerabilities worst first
(known exploited, severity, CVSS); an assessment without software gives the header alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from domosec.assessment import Assessment, AssetSoftware, Component, ComponentVulnerability, Home
from domosec.report.components import past_end_of_life
from domosec.report.csv_out import _text

COLUMNS = (
    "home_id",
    "home_name",
    "asset_kind",
    "asset_id",
    "asset_name",
    "sbom_file",
    "sbom_format",
    "vulndb_built",
    "vulndb_sources",
    "component",
    "version",
    "supplier",
    "purl",
    "cpe",
    "licenses",
    "end_of_life",
    "past_end_of_life",
    "vulnerability_id",
    "aliases",
    "severity",
    "cvss",
    "known_exploited",
    "fixed_version",
    "confidence",
    "vex_state",
    "vex_justification",
)


def render_components_csv(assessment: Assessment) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(component_rows(assessment))
    return buffer.getvalue()


def component_rows(assessment: Assessment) -> Iterable[list[str]]:
    for h in assessment.homes:
        for s in h.software:
            for c in s.components:
                head = _component(h, s, c, assessment.as_of)
                if not c.vulnerabilities:
                    yield head + [""] * 9
                for v in c.vulnerabilities:
                    yield head + _vulnerability(v)


def _component(h: Home, s: AssetSoftware, c: Component, as_of: str) -> list[str]:
    return [
        _text(h.home_id),
        _text(h.name),
        s.kind,
        _text(s.id),
        _text(s.name),
        _text(s.sbom_file),
        s.sbom_format,
        s.vulndb_built or "",
        _text(s.vulndb_sources),
        _text(c.name),
        _text(c.version),
        _text(c.supplier),
        _text(c.purl),
        _text(c.cpe),
        _text(c.licenses),
        c.end_of_life or "",
        "true" if past_end_of_life(c, as_of) else "false",
    ]


def _vulnerability(v: ComponentVulnerability) -> list[str]:
    return [
        _text(v.id),
        _text(v.aliases),
        v.severity,
        "" if v.cvss is None else f"{v.cvss:.1f}",
        "true" if v.known_exploited else "false",
        _text(v.fixed_version),
        v.confidence,
        v.vex_state or "",
        _text(v.vex_justification),
    ]
