"""The fleet summary as one self-contained HTML page (no scripts, no external files).

Like the expert report, the page carries a Content-Security-Policy that allows only its own style
sheet (by hash): no script, image, frame, font or connection of any kind, even if a name from a
fleet got past the template's escaping. Bars are SVG shapes, so no inline ``style`` attribute is needed.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

CSS = """body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d8dce5; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eceef3; vertical-align: top; }
th { background: #f4f5f8; } td.n { text-align: right; font-variant-numeric: tabular-nums; } td.n, td.id, th.n { white-space: nowrap; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; } .card { background: #f4f5f8; border-radius: 6px; padding: 0.7rem 1rem; }
.card b { display: block; font-size: 1.4rem; }
.critical { color: #8b0000; } .high { color: #c0392b; } .medium { color: #b9770e; } .low { color: #1e8449; } .info, .none { color: #566573; }
.bar { display: block; }
"""
CSP = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
    + "'; base-uri 'none'; form-action 'none'"
)

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>Fleet assessment — {{ s.homes.assessed | num }} homes</title>
<style>{{ css }}</style>
</head>
<body>
<h1>Fleet assessment</h1>
<p>{{ s.homes.assessed | num }} homes assessed against {{ s.rules | length }} rules on {{ s.as_of }}
(domosec {{ s.tool_version }}, catalogue {{ s.catalogue_version }}, engine {{ s.engine }}).</p>
<div class="cards">
  <div class="card"><b>{{ s.homes.in | num }}</b>homes in</div>
  <div class="card"><b>{{ s.homes.assessed | num }}</b>assessed</div>
  <div class="card"><b>{{ s.homes.rejected | num }}</b>rejected (see rejects.jsonl)</div>
  <div class="card"><b>{{ s.findings.total | num }}</b>findings</div>
</div>

<h2>Homes by worst open finding</h2>
<table><tr><th>worst level</th><th class="n">homes</th><th class="n">share</th><th></th></tr>
{% for level, n in s.homes_by_worst_level.items() | reverse %}
<tr><td class="{{ level }}">{{ level }}</td><td class="n">{{ n | num }}</td><td class="n">{{ (n / s.homes.assessed) | pct if s.homes.assessed else "–" }}</td>
<td><svg class="bar" width="200" height="10" aria-hidden="true"><rect height="10" fill="#c0392b" width="{{ (200 * n / s.homes.assessed) | round(1) if s.homes.assessed else 0 }}"/></svg></td></tr>
{% endfor %}
</table>

<h2>Rules, by share of homes affected</h2>
<table><tr><th>rule</th><th>title</th><th class="n">homes</th><th class="n">share</th><th class="n">findings</th>
{% for level in levels | reverse %}<th class="n {{ level }}">{{ level }}</th>{% endfor %}</tr>
{% for r in s.rules if r.findings %}
<tr><td class="id">{{ r.rule_id }}</td><td>{{ r.title }}</td><td class="n">{{ r.homes_affected | num }}</td><td class="n">{{ r.share_of_homes | pct }}</td>
<td class="n">{{ r.findings | num }}</td>{% for level in levels | reverse %}<td class="n">{{ r.by_level[level] | num }}</td>{% endfor %}</tr>
{% endfor %}
</table>

<h2>Device models and firmware, ranked by the risk they carry</h2>
<p>Risk is the sum of the inherent scores (likelihood × impact) of the open findings on units of that model and firmware;
"update findings" are those that updates (7.2.17) or the management of vulnerable devices (7.2.22) would treat.</p>
<table><tr><th>kind</th><th>type</th><th>vendor</th><th>model</th><th>firmware</th><th class="n">units</th><th class="n">affected</th>
<th class="n">findings</th><th class="n">risk</th><th class="n">per unit</th><th class="n">update findings</th><th>worst</th><th>top rules</th></tr>
{% for e in s.equipment %}
<tr><td>{{ e.kind }}</td><td>{{ e.type }}</td><td>{{ e.vendor }}</td><td>{{ e.model }}</td><td>{{ e.firmware }}</td>
<td class="n">{{ e.units | num }}</td><td class="n">{{ e.units_affected | num }}</td><td class="n">{{ e.findings | num }}</td>
<td class="n">{{ e.risk | num }}</td><td class="n">{{ e.risk_per_unit }}</td><td class="n">{{ e.update_findings | num }}</td>
<td class="{{ e.worst_level }}">{{ e.worst_level }}</td><td>{% for t in e.top_rules %}{{ t.rule_id }} ({{ t.findings | num }}){% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}
</table>

{% set v = s.get("vulnerabilities") %}
{% if v and v.source == "sbom" %}
<h2>Known vulnerabilities by firmware, across homes</h2>
<p>From the SBOMs of the homes' gateways and devices, matched offline (dismissed by VEX: left out); known-exploited first, then by homes affected.
{{ v.ranked | num }} vulnerability × component × firmware rows{% if v.ranked > v.rows | length %}, the first {{ v.rows | length }} shown{% endif %}.</p>
<table><tr><th>vulnerability</th><th>known exploited</th><th>severity</th><th class="n">CVSS</th><th>component</th><th>version</th><th>fixed in</th>
<th>kind</th><th>vendor</th><th>model</th><th>firmware</th><th class="n">homes</th><th class="n">units</th></tr>
{% for r in v.rows %}
<tr><td class="id">{{ r.vulnerability_id }}</td><td{% if r.known_exploited %} class="critical"{% endif %}>{{ "yes" if r.known_exploited else "no" }}</td><td>{{ r.severity }}</td>
<td class="n">{{ r.cvss if r.cvss is not none else "" }}</td><td>{{ r.component }}</td><td>{{ r.version }}</td><td>{{ r.fixed_version }}</td>
<td>{{ r.kind }}</td><td>{{ r.vendor }}</td><td>{{ r.model }}</td><td>{{ r.firmware }}</td><td class="n">{{ r.homes | num }}</td><td class="n">{{ r.units | num }}</td></tr>
{% endfor %}
</table>
{% elif v %}
<h2>Firmware × update and vulnerability findings, across homes</h2>
<p>The homes carry no SBOM components, so this ranks each device model and firmware by the open findings that updates (7.2.17)
or the management of vulnerable devices (7.2.22) would treat, by homes affected.</p>
<table><tr><th>kind</th><th>vendor</th><th>model</th><th>firmware</th><th>rule</th><th>title</th><th class="n">homes</th><th class="n">units</th></tr>
{% for r in v.rows %}
<tr><td>{{ r.kind }}</td><td>{{ r.vendor }}</td><td>{{ r.model }}</td><td>{{ r.firmware }}</td><td class="id">{{ r.rule_id }}</td><td>{{ r.title }}</td>
<td class="n">{{ r.homes | num }}</td><td class="n">{{ r.units | num }}</td></tr>
{% else %}<tr><td colspan="8">No such finding.</td></tr>
{% endfor %}
</table>
{% endif %}

<h2>Controls most often contradicted</h2>
<p>Declared implemented or partial while open findings show gaps it should close, or declared not applicable while the home shows it applies.</p>
<table><tr><th>control</th><th>title</th><th class="n">homes</th><th class="n">share</th></tr>
{% for c in s.controls_contradicted %}
<tr><td class="id">{{ c.control_id }}</td><td>{{ c.title }}</td><td class="n">{{ c.homes_contradicted | num }}</td><td class="n">{{ c.share_of_homes | pct }}</td></tr>
{% else %}<tr><td colspan="4">No declared control is contradicted.</td></tr>
{% endfor %}
</table>
</body>
</html>
"""


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def render_summary_html(summary: dict[str, Any]) -> str:
    from domosec.assessment import LEVELS

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    return env.from_string(TEMPLATE).render(s=summary, levels=LEVELS, css=Markup(CSS), csp=CSP)
