"""The Assessment as one self-contained HTML page: for assessors (``expert``) or for the people who live there (``home``).

Everything is inline: CSS, JavaScript and the Graphviz SVG diagrams; the page fetches nothing, and its
Content-Security-Policy (with hashes of the inline style and script) makes the browser refuse any
fetch and any other script. Jinja2 escapes every value from the Assessment. The page reads well
without JavaScript and printed (print CSS; WeasyPrint turns the same HTML into the PDF).
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from domosec.assessment import LEVELS, Assessment
from domosec.report.components import CONFIDENCE_LABELS, NO_COMPONENTS, NO_SBOM
from domosec.report.grouping import PART_TITLES, location
from domosec.report.householder import advice_parts, home_plans
from domosec.report.html import view
from domosec.report.html.components import components_view
from domosec.report.html.diagram import LEVEL_LINE, Diagram, draw
from domosec.report.html.heatmap import heat_map
from domosec.report.html.privacy import privacy_view
from domosec.report.html.tiles import tiles
from domosec.report.html.treatment import treatment_plan

Audience = Literal["expert", "home"]
DIAGRAM_HOMES = 50  # homes drawn; a fleet report lists the rest without diagrams

__all__ = ["Audience", "render_html"]


def render_html(assessment: Assessment, *, audience: Audience = "expert", print_diagrams: bool = False) -> str:
    """The report as a complete HTML document (a ``str``; write it as UTF-8).

    ``print_diagrams`` adds each diagram cut into readable page-sized parts, shown only in print (the PDF).
    """
    if audience == "home":
        return _env().get_template("home.html.j2").render(a=assessment, plans=home_plans(assessment), **_assets("home.css", ""))
    if audience != "expert":
        raise ValueError(f"audience must be 'expert' or 'home', not {audience!r}")
    context = _expert_context(assessment)
    if print_diagrams:
        context["print_tiles"] = {d.home_id: tiles(d.svg) for d in context["diagrams"] if d.svg}
    return _env().get_template("expert.html.j2").render(**context, **_assets("report.css", "report.js"))


def _expert_context(a: Assessment) -> dict[str, Any]:
    open_findings = [f for f in a.findings if f.is_open]
    diagrams: list[Diagram] = []
    for i, home in enumerate(a.homes[:DIAGRAM_HOMES]):
        diagrams.append(draw(home, [f for f in open_findings if f.home_id == home.home_id], prefix=f"d{i}"))
    node_map = {node: [d.home_id, assets] for d in diagrams for node, assets in d.nodes.items()}
    fired = {f.rule_id for f in a.findings}
    return {
        "a": a,
        "multi": len(a.homes) > 1,
        "levels": list(reversed(LEVELS)),
        "level_rows": view.level_rows(a.summary),
        "top": view.top_risks(a),
        "diagrams": diagrams,
        "diagrams_omitted": max(0, len(a.homes) - DIAGRAM_HOMES),
        "diagram_map": Markup(view.json_for_script(node_map)),
        "heat_maps": [heat_map(open_findings, a.matrix, "inherent"), heat_map(open_findings, a.matrix, "residual")],
        "findings": sorted(a.findings, key=view.risk_order),
        "parts": view.part_options(a),
        "fired_rules": [r for r in a.rules if r.id in fired],
        "quiet_rules": [r for r in a.rules if r.id not in fired],
        "privacy": [privacy_view(h, a.data_categories) for h in a.homes],
        "components": components_view(a),
        "plan": treatment_plan(a),
        "home_names": {h.home_id: h.name or h.home_id for h in a.homes},
        "print_tiles": {},
    }


def _assets(css_name: str, js_name: str) -> dict[str, Any]:
    css = _static(css_name)
    js = _static(js_name) if js_name else ""
    policy = f"default-src 'none'; style-src '{_sha256(css)}'; base-uri 'none'; form-action 'none'"
    if js:
        policy += f"; script-src '{_sha256(js)}'"
    return {"css": Markup(css), "js": Markup(js), "csp": policy}


@cache
def _static(name: str) -> str:
    return (files("domosec.report.html") / "static" / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("domosec.report.html", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        value=view.value_text,
        key=view.key_text,
        factor=view.factor_text,
        label=view.label,
        paragraphs=view.paragraphs,
        advice=advice_parts,
        location=location,
    )
    env.globals.update(PART_TITLES=PART_TITLES, KIND_LABELS=view.KIND_LABELS, LEVEL_COLOURS=LEVEL_LINE)
    env.globals.update(CONFIDENCE_LABELS=CONFIDENCE_LABELS, NO_SBOM=NO_SBOM, NO_COMPONENTS=NO_COMPONENTS)
    return env
