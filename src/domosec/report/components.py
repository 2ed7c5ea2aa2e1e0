"""The components and vulnerabilities section: what each gateway and device runs, and what is known against it.

Read from the homes' ``software`` (the SBOMs ``domosec import sbom`` attached, and the matches against the
offline vulnerability data). The HTML page, the Markdown comment and the components CSV share these rows.
The section appears when a home lists software, or when a product model (``system.kind: product``) lists none
(then it says so: a product is expected to have an SBOM, DEV-S43); a home without any software shows nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from domosec.assessment import Assessment, AssetSoftware, Component, ComponentVulnerability, Finding, Home
from domosec.report.markdown import cell, code, plural

NO_SBOM = "No gateway or device of this model has an SBOM, so its components and their known vulnerabilities are unknown."
NO_SBOM_HINT = "Import one with `domosec import sbom FILE --asset ID --model MODEL --vulndb STORE`."
NO_COMPONENTS = "The SBOM lists no components."
CONFIDENCE_LABELS = {"exact_purl": "exact purl", "cpe_range": "CPE version range", "name_only": "name only"}
SUPPRESSED = frozenset({"not_affected", "fixed"})
"""VEX states under which a match is dismissed (the rules skip it; reports still show it, with the reason)."""


@dataclass(frozen=True)
class VulnerabilityRow:
    home: Home
    asset: AssetSoftware
    component: Component
    vulnerability: ComponentVulnerability

    @property
    def suppressed(self) -> bool:
        return self.vulnerability.vex_state in SUPPRESSED


def shown(a: Assessment) -> bool:
    """Whether the report has the section: some home lists software, or a product model lists none."""
    return any(h.software or h.kind == "product" for h in a.homes)


def homes_shown(a: Assessment) -> list[Home]:
    """The homes the section speaks of: those with software, and products without (for the empty-state text)."""
    return [h for h in a.homes if h.software or h.kind == "product"]


def past_end_of_life(c: Component, as_of: str) -> bool:
    return c.end_of_life is not None and c.end_of_life < as_of


def vulnerability_rows(a: Assessment) -> list[VulnerabilityRow]:
    """Every matched vulnerability: dismissed by VEX last, then known exploited first, severity, CVSS, ID, home, asset, component."""
    rows = [VulnerabilityRow(h, s, c, v) for h in a.homes for s in h.software for c in s.components for v in c.vulnerabilities]
    return sorted(rows, key=_row_order)


def _row_order(r: VulnerabilityRow) -> tuple[object, ...]:
    return (r.suppressed, *r.vulnerability.worst_first, r.home.home_id, r.asset.kind, r.asset.id, r.component.name, r.component.version)


def severity_text(v: ComponentVulnerability) -> str:
    return f"{v.severity} {v.cvss:.1f}" if v.cvss is not None else v.severity


def vex_text(v: ComponentVulnerability) -> str:
    if v.vex_state is None:
        return ""
    state = v.vex_state.replace("_", " ")
    return f"{state}: {v.vex_justification.replace('_', ' ')}" if v.vex_justification else state


def data_text(s: AssetSoftware) -> str:
    if s.vulndb_built is None:
        return "not matched against vulnerability data"
    return f"vulnerability data of {s.vulndb_built}" + (f" ({s.vulndb_sources.replace(',', ', ')})" if s.vulndb_sources else "")


def counts(a: Assessment) -> tuple[int, int, int, int]:
    """(assets with software, components, vulnerabilities not dismissed by VEX, of those known exploited)."""
    assets = sum(len(h.software) for h in a.homes)
    components = sum(len(s.components) for h in a.homes for s in h.software)
    live = [r for r in vulnerability_rows(a) if not r.suppressed]
    return assets, components, len(live), sum(1 for r in live if r.vulnerability.known_exploited)


@dataclass(frozen=True)
class MarkdownTable:
    intro: list[str]
    header: list[str]
    rows: list[str]
    outro: list[str]


def markdown_tables(a: Assessment) -> list[MarkdownTable]:
    """The section as Markdown tables (SBOMs, components, vulnerabilities), or none when it is not shown."""
    if not shown(a):
        return []
    assets, components, vulns, exploited = counts(a)
    summary = f"{plural(components, 'component')} on {assets} {'gateway or device' if assets == 1 else 'gateways or devices'}, "
    summary += f"{vulns} known {'vulnerability' if vulns == 1 else 'vulnerabilities'} ({exploited} known exploited)"
    intro = [f"<details><summary><b>Components and vulnerabilities</b>: {summary if assets else 'no SBOM'}</summary>", ""]
    if not assets:
        return [MarkdownTable([*intro, f"{NO_SBOM} {NO_SBOM_HINT}", ""], [], [], ["</details>", ""])]
    multi = len(a.homes) > 1
    sboms = [
        f"| {_asset_cell(h, s, multi)} | {code(s.sbom_file) if s.sbom_file else 'software list'}"
        f"{f' ({cell(s.sbom_format)})' if s.sbom_format else ''} | {len(s.components)} | {cell(data_text(s))} |"
        for h, s in _assets(a)
    ]
    parts = [MarkdownTable(intro, ["asset", "SBOM", "components", "matched against"], sboms, [""])]
    rows = [_component_row(h, s, c, a.as_of, multi) for h, s in _assets(a) for c in s.components]
    parts.append(
        MarkdownTable(
            [], ["asset", "component", "version", "supplier", "purl or CPE", "licence", "vulnerabilities", "end of life"], rows, [""]
        )
    )
    vuln_rows = [_vulnerability_row(r, multi) for r in vulnerability_rows(a)]
    if vuln_rows:
        header = ["vulnerability", "severity", "known exploited", "asset", "component", "fixed in", "match", "VEX"]
        parts.append(MarkdownTable([], header, vuln_rows, [""]))
    parts[-1] = MarkdownTable(parts[-1].intro, parts[-1].header, parts[-1].rows, [*parts[-1].outro, "</details>", ""])
    return parts


def _assets(a: Assessment) -> Iterator[tuple[Home, AssetSoftware]]:
    for h in a.homes:
        for s in h.software:
            yield h, s


def _asset_cell(h: Home, s: AssetSoftware, multi: bool) -> str:
    text = code(s.id) + (f" ({cell(s.name)})" if s.name else "")
    return f"{text} in {cell(h.name or h.home_id)}" if multi else text


def _component_row(h: Home, s: AssetSoftware, c: Component, as_of: str, multi: bool) -> str:
    live = [v for v in c.vulnerabilities if v.vex_state not in SUPPRESSED]
    exploited = sum(1 for v in live if v.known_exploited)
    vulns = (str(len(live)) + (f" ({exploited} known exploited)" if exploited else "")) if live else "none"
    eol = ""
    if c.end_of_life is not None:
        eol = f"**past**: {c.end_of_life}" if past_end_of_life(c, as_of) else c.end_of_life
    ids = " ".join(code(x) for x in (c.purl, c.cpe) if x)
    return (
        f"| {_asset_cell(h, s, multi)} | {cell(c.name)} | {cell(c.version)} | {cell(c.supplier) or 'unknown'} | "
        f"{ids} | {cell(c.licenses)} | {vulns} | {eol} |"
    )


def _vulnerability_row(r: VulnerabilityRow, multi: bool) -> str:
    v = r.vulnerability
    ident = cell(v.id) if not r.suppressed else f"~~{cell(v.id)}~~"
    return (
        f"| {ident} | {cell(severity_text(v))} | {'**yes**' if v.known_exploited else 'no'} | {_asset_cell(r.home, r.asset, multi)} | "
        f"{cell(r.component.name)} {cell(r.component.version)} | {cell(v.fixed_version)} | {CONFIDENCE_LABELS[v.confidence]} | "
        f"{cell(vex_text(v))} |"
    )


SbomAssets = dict[tuple[str, str, str], tuple[Home, AssetSoftware]]


def sbom_assets(a: Assessment) -> SbomAssets:
    """``(home_id, kind, asset_id)`` → the home and the asset's software, for the assets whose software came from an SBOM file."""
    return {(h.home_id, s.kind, s.id): (h, s) for h in a.homes for s in h.software if s.sbom_file}


def sbom_path(home: Home, s: AssetSoftware) -> str:
    """Where the SBOM is: ``domosec import sbom`` records its name, and it is kept beside the model file."""
    return str(PurePath(home.file).parent / s.sbom_file) if home.file else s.sbom_file


def named_components(f: Finding, s: AssetSoftware) -> list[Component]:
    """The components of ``s`` a finding's facts name: an item 'name version (…)' or 'name' of a comma-separated text."""
    items = {item.strip() for value in f.explain.values() if isinstance(value, str) for item in value.split(", ")}
    if not items:
        return []
    return [c for c in s.components if c.name in items or any(i.startswith(f"{c.name} {c.version} (") for i in items)]
