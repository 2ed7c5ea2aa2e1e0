"""The output formats: name → renderer, whether the output is text or bytes, and its file suffix.

The CLI (``domosec assess --format``, ``domosec report --format``) and library users go through
:func:`render`. Renderers are imported only when used, so listing the formats costs nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast

if TYPE_CHECKING:
    from domosec.assessment import Assessment

Audience = Literal["expert", "home"]


class FormatName(StrEnum):
    text = "text"
    github = "github"
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"
    pdf = "pdf"
    sarif = "sarif"
    csv = "csv"
    components_csv = "components-csv"
    oscal = "oscal"
    oscal_poam = "oscal-poam"
    oscal_catalog = "oscal-catalog"


@dataclass(frozen=True)
class RenderOptions:
    audience: Audience = "expert"
    root: Path | None = None
    """Directory that SARIF makes absolute model paths relative to."""


@dataclass(frozen=True)
class ReportFormat:
    name: FormatName
    suffix: str
    binary: bool
    audiences: tuple[Audience, ...]
    summary: str
    renderer: Callable[[Assessment, RenderOptions], str | bytes]


def render(assessment: Assessment, name: FormatName | str, options: RenderOptions | None = None) -> str | bytes:
    """Render ``assessment`` in format ``name``; ``ValueError`` for an audience the format does not have."""
    fmt = FORMATS[FormatName(name)]
    opts = options or RenderOptions()
    if opts.audience not in fmt.audiences:
        raise ValueError(f"the {fmt.name} format has no '{opts.audience}' audience (it has: {', '.join(fmt.audiences)})")
    return fmt.renderer(assessment, opts)


def format_for_path(path: Path) -> FormatName | None:
    """The format a file name asks for by its suffix (the longest that matches), if any."""
    name = path.name.lower()
    matches = [f for f in FORMATS.values() if name.endswith(f.suffix)]
    return max(matches, key=lambda f: len(f.suffix)).name if matches else None


class _HtmlRenderer(Protocol):
    def __call__(self, assessment: Assessment, *, audience: Audience = "expert") -> str: ...


class _PdfRenderer(Protocol):
    def __call__(self, assessment: Assessment, *, audience: Audience = "expert") -> bytes: ...


class _HomeRenderer(Protocol):
    def __call__(self, assessment: Assessment) -> str: ...


def home_markdown(assessment: Assessment) -> str:
    """The householder summary (plain language, the few things to fix first)."""
    module = importlib.import_module("domosec.report.householder")
    return cast(_HomeRenderer, module.render_home_markdown)(assessment)


def _table(a: Assessment, o: RenderOptions) -> str:
    if o.audience == "home":
        return home_markdown(a)
    from io import StringIO

    from rich.console import Console

    from domosec.report.terminal import print_terminal

    buffer = StringIO()
    print_terminal(a, Console(file=buffer, width=120, no_color=True, emoji=False), show_controls=True)
    return buffer.getvalue()


def _text(a: Assessment, o: RenderOptions) -> str:
    if o.audience == "home":
        return home_markdown(a)
    from domosec.report.lines import render_text

    return render_text(a)


def _github(a: Assessment, o: RenderOptions) -> str:
    from domosec.report.lines import render_github

    return render_github(a)


def _json(a: Assessment, o: RenderOptions) -> str:
    from domosec.report.json_out import render_json

    return render_json(a)


def _markdown(a: Assessment, o: RenderOptions) -> str:
    if o.audience == "home":
        return home_markdown(a)
    from domosec.report.markdown import render_markdown

    return render_markdown(a)


def _html(a: Assessment, o: RenderOptions) -> str:
    module = importlib.import_module("domosec.report.html")
    return cast(_HtmlRenderer, module.render_html)(a, audience=o.audience)


def _pdf(a: Assessment, o: RenderOptions) -> bytes:
    module = importlib.import_module("domosec.report.pdf")
    return cast(_PdfRenderer, module.render_pdf)(a, audience=o.audience)


def _sarif(a: Assessment, o: RenderOptions) -> str:
    from domosec.report.sarif import render_sarif

    return render_sarif(a, root=o.root)


def _csv(a: Assessment, o: RenderOptions) -> str:
    from domosec.report.csv_out import render_csv

    return render_csv(a)


def _components_csv(a: Assessment, o: RenderOptions) -> str:
    from domosec.report.components_csv import render_components_csv

    return render_components_csv(a)


def _oscal(a: Assessment, o: RenderOptions) -> str:
    from domosec.report.oscal import render_assessment_results

    return render_assessment_results(a)


def _oscal_poam(a: Assessment, o: RenderOptions) -> str:
    from domosec.report.oscal import render_poam

    return render_poam(a)


def _oscal_catalog(a: Assessment, o: RenderOptions) -> str:
    from domosec.catalog.load import load_catalogue
    from domosec.errors import Diagnostic, InputError
    from domosec.report.oscal import render_catalog

    catalogue = load_catalogue()
    if catalogue.standard.catalogue_version != a.catalogue_version:
        message = f"the assessment used catalogue {a.catalogue_version}, but this domosec ships {catalogue.standard.catalogue_version}"
        raise InputError([Diagnostic("<assessment>", None, None, "catalogue-mismatch", message, hint="re-run 'domosec assess'")])
    return render_catalog(catalogue, as_of=a.as_of)


EXPERT: tuple[Audience, ...] = ("expert",)
BOTH: tuple[Audience, ...] = ("expert", "home")
FORMATS: dict[FormatName, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat(FormatName.text, ".text", False, BOTH, "the summary, fix first, then one line per finding", _text),
        ReportFormat(FormatName.github, ".github.txt", False, EXPERT, "GitHub Actions annotations, one per open finding", _github),
        ReportFormat(FormatName.table, ".txt", False, BOTH, "tables for the terminal (plain text in a file)", _table),
        ReportFormat(FormatName.json, ".json", False, EXPERT, "the Assessment itself (schema/assessment-1.schema.json)", _json),
        ReportFormat(FormatName.markdown, ".md", False, BOTH, "Markdown that fits a pull-request comment", _markdown),
        ReportFormat(FormatName.html, ".html", False, BOTH, "one self-contained HTML report", _html),
        ReportFormat(FormatName.pdf, ".pdf", True, BOTH, "the HTML report as PDF", _pdf),
        ReportFormat(FormatName.sarif, ".sarif", False, EXPERT, "SARIF 2.1.0 for code scanning", _sarif),
        ReportFormat(FormatName.csv, ".csv", False, EXPERT, "a CSV risk register, one row per finding", _csv),
        ReportFormat(
            FormatName.components_csv,
            ".components.csv",
            False,
            EXPERT,
            "CSV of each gateway's and device's SBOM components and their known vulnerabilities",
            _components_csv,
        ),
        ReportFormat(FormatName.oscal, ".oscal.json", False, EXPERT, "OSCAL 1.2.3 assessment-results", _oscal),
        ReportFormat(
            FormatName.oscal_poam, ".poam.json", False, EXPERT, "OSCAL 1.2.3 plan of action and milestones (open findings)", _oscal_poam
        ),
        ReportFormat(
            FormatName.oscal_catalog, ".catalog.json", False, EXPERT, "the clause-7 catalogue as an OSCAL 1.2.3 catalog", _oscal_catalog
        ),
    )
}
