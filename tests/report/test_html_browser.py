"""The HTML report in real headless Chromium (Debian's ``chromium``, installed by ``make test``).

The page is opened from a file with every request recorded and anything but the file itself refused,
so a page that tried to fetch something fails the test and nothing leaves the machine. Set
``DOMOSEC_SCREENSHOTS=DIR`` to keep the screenshots for a look.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Dialog, Page, Route, expect, sync_playwright

from domosec.assessment import Assessment
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model
from domosec.report.householder import householder_advice
from domosec.report.html import Audience, render_html
from tests.conftest import npm_package

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Debian's chromium is needed for the browser tests: run `make system-deps` (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 900}
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Opened:
    page: Page
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def open_report(browser: BrowserContext, html: str, path: Path) -> Opened:
    path.write_text(html, encoding="utf-8")
    page = browser.new_page()
    opened = Opened(page, path.as_uri())

    def route(r: Route) -> None:
        opened.requests.append(r.request.url)
        if r.request.url == opened.url:
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: opened.errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: opened.errors.append(f"page error: {e}"))

    def dialog(d: Dialog) -> None:
        opened.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.goto(opened.url)
    page.wait_for_load_state("load")
    return opened


def screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    keep = os.environ.get("DOMOSEC_SCREENSHOTS")
    target = Path(keep) if keep else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    path = target / name
    page.screenshot(path=str(path), full_page=False)
    return path


def visible_rows(page: Page) -> int:
    return int(page.locator("#findings-table tbody tr:not([hidden])").count())


@pytest.fixture(scope="module")
def family() -> Assessment:
    return Assessment.model_validate_json((ROOT / "tests" / "golden" / "family-home.json").read_text(encoding="utf-8"))


@pytest.fixture
def report(browser: BrowserContext, family: Assessment, tmp_path: Path) -> Iterator[Opened]:
    opened = open_report(browser, render_html(family), tmp_path / "report.html")
    yield opened
    opened.page.close()


def test_the_report_opens_offline_without_console_errors(report: Opened, tmp_path: Path) -> None:
    assert report.requests == [report.url]
    assert report.errors == []
    assert report.page.locator("h1").inner_text() == "The Berger family home"
    shot = screenshot(report.page, tmp_path, "report-top.png")
    assert shot.stat().st_size > 20_000


def test_typing_in_the_filter_narrows_the_findings_table(report: Opened, family: Assessment) -> None:
    page = report.page
    total = len(family.findings)
    assert visible_rows(page) == total
    page.fill("#filter-text", "teddy")
    shown = visible_rows(page)
    assert 0 < shown < total
    assert page.locator("#filter-count").inner_text() == f"{shown} of {total} findings shown"
    for text in page.eval_on_selector_all("#findings-table tbody tr:not([hidden])", "rows => rows.map(r => r.textContent)"):
        assert "teddy" in text.lower()  # in a visible column or in the explain trace, which the filter searches too
    page.fill("#filter-text", "")
    page.select_option("select[data-filter=level]", "critical")
    assert visible_rows(page) == sum(1 for f in family.findings if f.residual.level == "critical")
    page.click("#filter-clear")
    # the form's reset event re-applies the filter on the next tick; expect() polls without eval (the CSP forbids it)
    expect(page.locator("#findings-table tbody tr:not([hidden])")).to_have_count(total)
    assert report.errors == []


def test_clicking_a_header_sorts_the_table(report: Opened) -> None:
    page = report.page

    def column(index: int) -> list[str]:
        return [
            str(v)
            for v in page.eval_on_selector_all(
                f"#findings-table tbody tr td:nth-child({index})", "cells => cells.map(c => c.dataset.sort ?? c.textContent.trim())"
            )
        ]

    page.click("th.c-inherent button")
    scores = [int(v) for v in column(2)]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    page.click("th.c-inherent button")
    assert [int(v) for v in column(2)] == sorted(scores)
    assert page.get_attribute("th.c-inherent", "aria-sort") == "ascending"
    page.click("th.c-asset button")
    assets = [v.lower() for v in column(4)]
    assert assets == sorted(assets)
    assert report.errors == []


def test_opening_a_finding_shows_its_explain_trace_and_remediation(report: Opened, family: Assessment) -> None:
    page = report.page
    first = page.locator("#findings-table tbody tr").first
    finding = next(f for f in family.findings if f"f-{f.id}" == first.get_attribute("id"))
    first.locator("summary").click()
    details = first.locator("details")
    assert details.locator("dl.explain").is_visible()
    fix = details.locator(".fix .how-to-fix").inner_text()
    rule = next(r for r in family.rules if r.id == finding.rule_id)
    advice = householder_advice(rule.how_to_fix)
    assert advice[:40].lower() in " ".join(fix.split()).lower()
    assert not details.locator(".fix-link").is_visible()


def test_clicking_an_element_of_the_diagram_lists_its_findings(report: Opened, family: Assessment, tmp_path: Path) -> None:
    page = report.page
    node = page.locator("svg.diagram g.node", has_text="Talking teddy bear").first
    node.click()
    expected = sum(1 for f in family.findings if f.asset.id == "teddy-toy")
    assert visible_rows(page) == expected > 0
    assert set(page.eval_on_selector_all("#findings-table tbody tr:not([hidden])", "rows => rows.map(r => r.dataset.asset)")) == {
        "teddy-toy"
    }
    chip = page.locator("#filter-asset")
    assert chip.is_visible() and "Talking teddy bear" in chip.inner_text()
    screenshot(page, tmp_path, "report-filtered.png")
    chip.click()
    assert visible_rows(page) == len(family.findings)


def test_printed_the_page_drops_the_controls_and_keeps_the_content(report: Opened) -> None:
    page = report.page
    page.emulate_media(media="print")
    assert not page.locator("form.controls").is_visible()
    for section in ("summary", "diagram", "heat-maps", "findings", "soa", "privacy", "treatment", "rules"):
        assert page.locator(f"#{section} h2").is_visible()
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("#findings-table details:not([open])").count() == 0
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.locator("#findings-table details[open]").count() == 0
    page.emulate_media(media="screen")


def test_the_householder_page_opens_cleanly(browser: BrowserContext, family: Assessment, tmp_path: Path) -> None:
    opened = open_report(browser, render_html(family, audience="home"), tmp_path / "home.html")
    try:
        assert opened.requests == [opened.url]
        assert opened.errors == []
        assert opened.page.locator("ol.actions > li").count() >= 3
        assert screenshot(opened.page, tmp_path, "home.png").stat().st_size > 20_000
    finally:
        opened.page.close()


def test_hostile_names_stay_text(browser: BrowserContext, tmp_path: Path) -> None:
    model = tmp_path / "hostile.yaml"
    model.write_text((ROOT / "tests" / "report" / "hostile.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = assess([load_model(model)], load_rules(), as_of=dt.date(2026, 11, 23))
    audiences: tuple[Audience, ...] = ("expert", "home")
    for audience in audiences:
        opened = open_report(browser, render_html(result, audience=audience), tmp_path / f"{audience}.html")
        try:
            page = opened.page
            assert opened.errors == [] and opened.dialogs == [] and opened.requests == [opened.url]
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert page.locator("img, iframe, b, i").count() == 0
            body = page.locator("body").inner_text()
            assert "<img src=x onerror=window.__xss=4>Cam" in body
            if audience == "expert":
                assert "</script><script>window.__xss=5</script>" in (page.locator("svg.diagram").first.text_content() or "")
                page.fill("#filter-text", "onerror")
                assert visible_rows(page) >= 1
        finally:
            opened.page.close()


def test_without_graphviz_the_page_works_and_explains(
    browser: BrowserContext, family: Assessment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    html = render_html(family)
    monkeypatch.undo()
    opened = open_report(browser, html, tmp_path / "no-dot.html")
    try:
        assert opened.errors == []
        assert "Graphviz is not installed" in opened.page.locator("#diagram .absent").inner_text()
        opened.page.fill("#filter-text", "camera")
        assert 0 < visible_rows(opened.page) < len(family.findings)
    finally:
        opened.page.close()


# --- On a phone, with a keyboard and for screen readers -------------------------------------------------------------

AXE_VERSION = "4.14.1"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def axe_source(request: pytest.FixtureRequest) -> str:
    """axe-core (MPL-2.0), installed once with npm into pytest's cache folder; it is never committed."""
    return (npm_package(request.config, "axe-core", AXE_VERSION) / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Page, axe: str) -> list[str]:
    """axe-core's serious and critical violations of the page, as 'rule: target' lines.

    Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern."""
    page.evaluate(axe + "\n;0")
    found = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".flatMap(v => v.nodes.map(n => v.id + ': ' + n.target.join(' '))))"
    )
    return [str(v) for v in found]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
@pytest.mark.parametrize("audience", ["expert", "home"])
def test_no_serious_accessibility_violations_and_no_sideways_scrolling(
    browser: BrowserContext, family: Assessment, tmp_path: Path, axe_source: str, viewport: dict[str, int], audience: Audience
) -> None:
    opened = open_report(browser, render_html(family, audience=audience), tmp_path / "report.html")
    try:
        page = opened.page
        page.set_viewport_size(viewport)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "the page scrolls sideways"
        shot = screenshot(page, tmp_path, f"{audience}-{viewport['width']}.png")
        with Image.open(shot) as im:
            assert im.width == viewport["width"]
        assert axe_violations(page, axe_source) == []
        assert opened.errors == []
    finally:
        opened.page.close()


def test_the_diagram_is_readable_on_a_phone_and_pans_in_its_box(report: Opened) -> None:
    page = report.page
    page.set_viewport_size(PHONE)
    box = page.locator(".svg-wrap").first
    sizes = page.eval_on_selector_all("svg.diagram g.node text", "ts => ts.map(t => t.getBoundingClientRect().height)")
    assert sizes and min(sizes) >= 9, "diagram text shrunk below 9 CSS px"
    assert box.evaluate("b => b.scrollWidth > b.clientWidth"), "the full-size diagram pans inside its box"
    assert box.get_attribute("tabindex") == "0" and box.get_attribute("role") == "region"
    zoom = page.locator("button.zoom").first
    zoom.click()
    fitted = page.eval_on_selector("svg.diagram", "s => s.getBoundingClientRect().width")
    assert fitted <= PHONE["width"]
    assert zoom.get_attribute("aria-pressed") == "false"
    page.set_viewport_size(DESKTOP)


def test_diagram_elements_have_names_a_screen_reader_can_say(report: Opened, family: Assessment) -> None:
    page = report.page
    names = page.eval_on_selector_all("svg.diagram g.node[role=button] > title", "ts => ts.map(t => t.textContent)")
    assert names, "diagram elements can be operated"
    assert not [n for n in names if re.fullmatch(r"n\d+", n)], "Graphviz's node names leaked"
    teddy = page.get_by_role("button", name=re.compile("Talking teddy bear"))
    assert teddy.count() == 1, "the accessible name is the element's name"
    open_count = sum(1 for f in family.findings if f.asset.id == "teddy-toy" and f.is_open)
    assert page.get_by_role("button", name=re.compile(f"Talking teddy bear.*{open_count} open finding")).count() == 1
    assert page.get_attribute("svg.diagram", "role") == "group", "an image cannot hold buttons"


def test_a_skip_link_is_the_first_tab_stop_and_leads_to_the_filter(report: Opened) -> None:
    page = report.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible(), "the skip link shows when it has the focus"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "filter-text"


def test_heat_map_levels_differ_in_lightness_and_have_a_legend(report: Opened) -> None:
    page = report.page
    colours = {}
    for level in ("low", "medium", "high", "critical"):
        cell = page.locator(f"table.heat td.lvf-{level}").first
        colours[level] = cell.evaluate("c => getComputedStyle(c).backgroundColor")
        assert cell.locator(".sr-only").inner_text().startswith(level), "a screen reader hears the level, not a colour"
    lightness = {level: lab_lightness(rgb) for level, rgb in colours.items()}
    ordered = [lightness[lv] for lv in ("low", "medium", "high", "critical")]
    assert all(a - b >= 10 for a, b in itertools.pairwise(ordered)), lightness
    legend = page.locator("#heat-maps .heat-legend li")
    assert legend.all_inner_texts() == ["critical", "high", "medium", "low"]
    swatches = [s.evaluate("s => getComputedStyle(s).backgroundColor") for s in legend.locator(".swatch").all()]
    assert swatches == [colours[lv] for lv in ("critical", "high", "medium", "low")]


def lab_lightness(rgb: str) -> float:
    """CIE L* of a CSS ``rgb(r, g, b)`` colour."""
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", rgb)[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else float(((c + 0.055) / 1.055) ** 2.4)

    y = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return 116 * y ** (1 / 3) - 16 if y > 0.008856 else 903.3 * y
