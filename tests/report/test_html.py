"""The HTML report as a document: sections, self-containment, escaping, the diagram and its absence, scale.

What a browser does with the page (filtering, sorting, console errors, screenshots) is in test_html_browser.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from domosec.assessment import Assessment
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model
from domosec.report.html import render_html
from domosec.report.html.diagram import GROUP_THRESHOLD
from domosec.report.json_out import render_json

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 23)
SECTIONS = ["summary", "diagram", "heat-maps", "findings", "soa", "privacy", "treatment", "rules"]


def golden(name: str) -> Assessment:
    return Assessment.model_validate_json((ROOT / "tests" / "golden" / f"{name}.json").read_text(encoding="utf-8"))


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of the inline <style> and <script> elements."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline: dict[str, list[str]] = {"style": [], "script": []}
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if tag in ("style", "script") and "type" not in values:
            self._in = tag
            self.inline[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.inline[self._in][-1] += data

    def find(self, tag: str, **want: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in want.items())]


@pytest.fixture(scope="module")
def family() -> Assessment:
    return golden("family-home")


@pytest.fixture(scope="module")
def family_html(family: Assessment) -> str:
    return render_html(family)


def test_report_has_every_section_of_the_issue(family_html: str) -> None:
    page = Page(family_html)
    ids = {a.get("id") for _, a in page.tags}
    assert all(s in ids for s in SECTIONS)
    assert "Statement of Applicability" in family_html and "Treatment plan" in family_html


def test_every_finding_has_a_row_with_its_explain_trace_and_a_link_to_its_remediation(family: Assessment, family_html: str) -> None:
    page = Page(family_html)
    rows = {a["id"][2:]: a for a in page.find("tr") if a.get("id", "").startswith("f-")}
    assert set(rows) == {f.id for f in family.findings}
    f = next(f for f in family.findings if f.explain)
    row = family_html[family_html.index(f'id="f-{f.id}"') :]
    row = row[: row.index("</tr>")]
    for key in f.explain:
        assert key.replace("_", " ") in row
    assert f'href="#rule-{f.rule_id}"' in row and f'data-rule="{f.rule_id}"' in row
    fixes = {a["id"] for a in page.find("div") if a.get("id", "").startswith("fix-")}
    assert fixes == {f"fix-{f.rule_id}" for f in family.findings}


def test_statement_of_applicability_lists_all_45_clause_7_items(family: Assessment, family_html: str) -> None:
    soa = family_html[family_html.index('<section id="soa">') : family_html.index('<section id="privacy">')]
    items = re.findall(r'<th scope="row">(7\.\d\.\d+)</th>', soa)
    assert len(items) == 45 == len(set(items))
    assert sorted(items) == sorted(c.control_id for c in family.controls)


def test_heat_maps_count_the_open_findings_in_each_cell(family: Assessment, family_html: str) -> None:
    heat = family_html[family_html.index('<section id="heat-maps">') : family_html.index('<section id="findings">')]
    open_findings = [f for f in family.findings if f.is_open]
    assert heat.count(f"({len(open_findings)} open findings)") == 2
    cells = [
        int(c or 0) for _, c in re.findall(r'<td class="lvf-(\w+)(?: zero)?" title="\1"><span class="sr-only">\1: </span>(\d*)</td>', heat)
    ]
    assert len(cells) == 50
    inherent = {(5 - row, col + 1): cells[row * 5 + col] for row in range(5) for col in range(5)}  # rows run from likelihood 5 to 1
    for (likelihood, impact), count in inherent.items():
        assert count == sum(1 for f in open_findings if (f.inherent.likelihood, f.inherent.impact) == (likelihood, impact))
    assert sum(cells[25:]) == len(open_findings)


def test_privacy_view_names_the_data_the_destination_and_the_protection(family: Assessment, family_html: str) -> None:
    privacy = family_html[family_html.index('<section id="privacy">') : family_html.index('<section id="treatment">')]
    clear = next(fl for fl in family.homes[0].flows if fl.leaves_home and fl.encrypted is False)
    target = next(e for e in family.homes[0].elements if e.id == clear.target)
    assert 'class="exposed"' in privacy
    assert target.name.replace("'", "&#39;") in privacy
    titles = {c.id: c.title for c in family.data_categories}
    assert all(titles[c] in privacy for c in clear.data)


def test_the_page_loads_nothing_from_anywhere(family_html: str) -> None:
    page = Page(family_html)
    for tag, attrs in page.tags:
        for key in ("src", "href", "xlink:href", "action", "data", "poster"):
            if key in attrs:
                assert attrs[key].startswith("#"), (tag, key, attrs[key])
    assert not any(t in ("link", "img", "iframe", "object", "embed") for t, _ in page.tags)


def test_content_security_policy_allows_exactly_the_inline_style_and_script(family_html: str) -> None:
    page = Page(family_html)
    (meta,) = page.find("meta", http_equiv="Content-Security-Policy")
    policy = dict(part.strip().split(" ", 1) for part in meta["content"].split(";"))
    assert policy["default-src"] == "'none'"

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy["style-src"] == " ".join(digest(s) for s in page.inline["style"])
    assert policy["script-src"] == " ".join(digest(s) for s in page.inline["script"])


def test_rendering_is_deterministic(family: Assessment, family_html: str) -> None:
    assert render_html(family) == family_html
    assert render_html(family, audience="home") == render_html(family, audience="home")


def test_a_saved_assessment_renders_the_same_page_as_a_fresh_one() -> None:
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        fresh = assess([load_model("examples/family-home.yaml")], load_rules(), as_of=DAY)
    finally:
        os.chdir(cwd)
    saved = Assessment.model_validate_json(render_json(fresh))
    assert render_html(saved) == render_html(fresh)


def test_diagram_marks_findings_on_the_elements_they_concern(family: Assessment, family_html: str) -> None:
    diagram = family_html[family_html.index('<section id="diagram">') : family_html.index('<section id="heat-maps">')]
    assert diagram.count('<svg class="diagram"') == 1
    camera = next(e for e in family.homes[0].elements if e.id == "ipcam-garage")
    open_on_camera = [f for f in family.findings if f.asset.id == camera.id and f.is_open]
    worst = max(open_on_camera, key=lambda f: f.residual.score).residual.level
    assert f"{len(open_on_camera)} open findings · worst {worst}" in diagram
    assert "Internet" in diagram and "Home" in diagram


def test_without_graphviz_the_report_renders_and_says_why_the_diagram_is_missing(
    family: Assessment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot
    html = render_html(family)
    assert '<svg class="diagram"' not in html
    assert "Graphviz is not installed" in html and "apt-get install graphviz" in html
    assert all(f'id="{s}"' in html for s in SECTIONS)


def test_a_home_with_nothing_in_it_renders_with_empty_sections(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("domosec: 1\nsystem: {id: empty-flat, name: Empty flat}\n", encoding="utf-8")
    result = assess([load_model(path)], load_rules(), as_of=DAY)
    html = render_html(result)
    assert all(f'id="{s}"' in html for s in SECTIONS)
    assert "The model describes no users, networks, gateways, devices or services to draw." in html
    assert "The model declares no data flows." in html
    assert html.count('<th scope="row">7.') == 45


def hostile_model(tmp_path: Path) -> Path:
    text = (ROOT / "tests" / "report" / "hostile.yaml").read_text(encoding="utf-8")
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_text_from_the_model_is_escaped_everywhere(tmp_path: Path) -> None:
    result = assess([load_model(hostile_model(tmp_path))], load_rules(), as_of=DAY)
    for audience in ("expert", "home"):
        html = render_html(result, audience=audience)
        page = Page(html)
        assert not page.find("img") and not page.find("iframe")
        assert not any("onerror" in a or "onload" in a or "onmouseover" in a for _, a in page.tags)
        assert len(page.inline["script"]) == (1 if audience == "expert" else 0)
        assert "window.__xss" not in "".join(page.inline["script"])
    assert "&lt;img src=x onerror=window.__xss=4&gt;Cam &amp; &#34;co&#34;" in render_html(result)


def test_many_homes_get_a_home_column_a_filter_and_one_diagram_each() -> None:
    homes = [golden(n) for n in ("family-home", "well-kept-home")]
    merged = homes[0].model_copy(
        update={
            "homes": homes[0].homes + homes[1].homes,
            "findings": homes[0].findings + homes[1].findings,
            "controls": homes[0].controls + homes[1].controls,
        }
    )
    html = render_html(merged)
    assert html.count('<svg class="diagram"') == 2
    assert 'data-filter="home"' in html
    assert html.count('<table class="soa"') == 2


def test_a_large_home_is_drawn_grouped_and_the_page_stays_small(tmp_path: Path) -> None:
    from bench.assess import generate  # the benchmark's model generator (the repository root is on pythonpath)

    sizes = {}
    for devices in (GROUP_THRESHOLD * 2, GROUP_THRESHOLD * 8):
        path = tmp_path / f"bench-{devices}.yaml"
        path.write_text(generate(devices), encoding="utf-8")
        result = assess([load_model(path)], load_rules(), as_of=DAY)
        html = render_html(result)
        nodes = html.count('class="node el el-device"')
        assert nodes <= 8 * 10, "devices are grouped per zone and type"
        assert "devices are grouped by zone and type" in html
        sizes[devices] = (len(html.encode()), len(result.findings))
    (small, small_findings), (large, large_findings) = sizes.values()
    # the page grows with the findings, not faster: bytes per finding stay within a factor of 1.5
    assert large / large_findings < 1.5 * small / small_findings
