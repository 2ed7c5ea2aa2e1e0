"""The components and vulnerabilities section: a router with a real firmware SBOM (written by spdx-tools), matched
offline by `domosec import sbom` with an OpenVEX statement, in the Markdown, HTML and components CSV reports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from domosec.assessment import Assessment
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model
from domosec.report.components_csv import COLUMNS, render_components_csv
from domosec.report.formats import FormatName, format_for_path, render
from domosec.report.html import render_html
from domosec.report.json_out import render_json
from domosec.report.markdown import render_markdown
from domosec.report.oscal import render_assessment_results
from domosec.report.oscal.common import NS
from domosec.report.sarif import render_sarif
from tests.evidence.sbom.home import AS_OF, DATA_DATE, plain_home, sbom_home
from tests.report.test_html import Page
from tests.report.test_html_browser import DESKTOP, PHONE, axe_source, axe_violations, browser, open_report  # noqa: F401
from tests.schemas.validate import oscal_errors, sarif_errors

WORST_FIRST = ["CVE-2014-0160", "CVE-2016-5195", "CVE-2017-14493", "CVE-2021-3448", "CVE-2022-28391"]
"""Known exploited first (OpenSSL Heartbleed high 7.5, Dirty COW high 7.0), then critical, medium, and the one VEX dismisses last."""


def assessed(model: Path) -> Assessment:
    return assess([load_model(model)], load_rules(), as_of=AS_OF)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("sbom-home")
    return {
        "sbom": sbom_home(directory),
        "plain": plain_home(directory),
        "product": plain_home(directory, kind="product"),
    }


@pytest.fixture(scope="module")
def with_sbom(models: dict[str, Path]) -> Assessment:
    return assessed(models["sbom"])


def test_the_assessment_carries_each_assets_sbom_components_and_matches(with_sbom: Assessment) -> None:
    (home,) = with_sbom.homes
    (router,) = home.software
    assert (router.kind, router.id, router.sbom_file, router.sbom_format) == ("gateway", "router", "router.spdx.json", "spdx")
    assert (router.vulndb_built, router.vulndb_sources) == (DATA_DATE, "eol,kev,nvd,osv")
    assert [c.name for c in router.components] == ["busybox", "dnsmasq", "dropbear", "linux", "openssl", "router-firmware"]
    dnsmasq = next(c for c in router.components if c.name == "dnsmasq")
    assert [(v.id, v.severity, v.fixed_version, v.confidence) for v in dnsmasq.vulnerabilities] == [
        ("CVE-2017-14493", "critical", "2.78", "name_only"),
        ("CVE-2021-3448", "medium", "2.85", "name_only"),
    ]
    # The JSON assessment keeps it all: `domosec report` renders the same section from the file.
    again = Assessment.model_validate_json(render_json(with_sbom))
    assert again == with_sbom and render_markdown(again) == render_markdown(with_sbom)


def test_markdown_lists_components_and_vulnerabilities_worst_first_with_vex(with_sbom: Assessment) -> None:
    text = render_markdown(with_sbom)
    section = text[text.index("<b>Components and vulnerabilities</b>") :]
    assert section.startswith(
        "<b>Components and vulnerabilities</b>: 6 components on 1 gateway or device, 4 known vulnerabilities (2 known exploited)"
    )
    assert f"| `router` (Home router) | `router.spdx.json` (spdx) | 6 | vulnerability data of {DATA_DATE} (eol, kev, nvd, osv) |" in section
    assert (
        "| `router` (Home router) | openssl | 1.0.1f | OpenSSL Foundation | `pkg:generic/openssl@1.0.1f` "
        "`cpe:2.3:a:openssl:openssl:1.0.1f:*:*:*:*:*:*:*` |  | 1 (1 known exploited) | **past**: 2016-12-31 |" in section
    )
    assert "| `router` (Home router) | dropbear | 2022.83 | unknown |" in section  # the SBOM names no supplier
    ids = [line.split(" | ")[0].strip("|~ ") for line in section.splitlines() if line.startswith("| ") and "CVE-" in line.split(" | ")[0]]
    assert ids == WORST_FIRST
    assert (
        "| ~~CVE-2022-28391~~ | high 8.8 | no | `router` (Home router) | busybox 1.31.1 |  | CPE version range | not affected: vulnerable code not present |"
        in section
    )
    assert (
        "| CVE-2014-0160 | high 7.5 | **yes** |" in section
        and "| CVE-2016-5195 | high 7.0 | **yes** | `router` (Home router) | linux 4.4.10 | 4.4.26 | name only |" in section
    )
    assert section.index("</details>") < section.index("**Statement of Applicability (clause 7):**")
    assert render_markdown(with_sbom) == text


def test_no_section_without_software_and_an_empty_state_for_a_product_without_sbom(models: dict[str, Path]) -> None:
    plain = assessed(models["plain"])
    assert plain.homes[0].software == []
    assert "Components and vulnerabilities" not in render_markdown(plain)
    assert 'id="components"' not in render_html(plain) and 'href="#components"' not in render_html(plain)
    product = assessed(models["product"])
    text = render_markdown(product)
    assert "<b>Components and vulnerabilities</b>: no SBOM</summary>" in text
    assert "No gateway or device of this model has an SBOM" in text and "domosec import sbom FILE --asset ID" in text
    page = render_html(product)
    assert 'href="#components"' in page and "No gateway or device of this model has an SBOM" in page


def test_html_section_has_a_captioned_table_per_asset_and_the_vulnerabilities_worst_first(with_sbom: Assessment) -> None:
    html = render_html(with_sbom)
    page = Page(html)
    assert page.find("a", href="#components") and page.find("section", id="components")
    assert page.find("table", id="components-flat-12-gateway-router") and page.find("table", id="vulnerabilities-flat-12")
    section = html[html.index('<section id="components">') : html.index('<section id="treatment">')]
    caption = (
        f"Home router (gateway router): SBOM router.spdx.json (spdx), 6 components, vulnerability data of {DATA_DATE} (eol, kev, nvd, osv)"
    )
    assert caption in section
    table = section[section.index('id="vulnerabilities-flat-12"') :]
    assert [table.index(f'<th scope="row">{v}') for v in WORST_FIRST] == sorted(table.index(f'<th scope="row">{v}') for v in WORST_FIRST)
    assert "<strong>dismissed</strong>: not affected: vulnerable code not present" in table
    assert "2016-12-31<br><strong>past end of life</strong>" in section
    assert render_html(with_sbom) == html


def test_components_csv_one_row_per_component_and_vulnerability(with_sbom: Assessment, tmp_path: Path) -> None:
    assert format_for_path(tmp_path / "home.components.csv") == FormatName.components_csv
    text = render(with_sbom, "components-csv")
    assert isinstance(text, str) and text == render_components_csv(with_sbom)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS
    # 6 components: 4 without a match (one row each: dropbear, router-firmware) or with one, dnsmasq with two.
    assert [(r["component"], r["vulnerability_id"]) for r in rows] == [
        ("busybox", "CVE-2022-28391"),
        ("dnsmasq", "CVE-2017-14493"),
        ("dnsmasq", "CVE-2021-3448"),
        ("dropbear", ""),
        ("linux", "CVE-2016-5195"),
        ("openssl", "CVE-2014-0160"),
        ("router-firmware", ""),
    ]
    openssl = rows[5]
    assert (openssl["known_exploited"], openssl["cvss"], openssl["confidence"], openssl["past_end_of_life"]) == (
        "true",
        "7.5",
        "cpe_range",
        "true",
    )
    assert (rows[0]["vex_state"], rows[0]["vex_justification"]) == ("not_affected", "vulnerable_code_not_present")
    assert rows[0]["vulndb_built"] == DATA_DATE and rows[0]["sbom_file"] == "router.spdx.json"


def test_components_csv_of_a_home_without_software_is_the_header_alone(models: dict[str, Path]) -> None:
    assert render_components_csv(assessed(models["plain"])) == ",".join(COLUMNS) + "\r\n"


def test_hand_written_hostile_software_list_stays_text(tmp_path: Path) -> None:
    model = tmp_path / "home.yaml"
    model.write_text(
        plain_home(tmp_path).read_text()
        + """\
    software:
      - name: "=HYPERLINK(\\"http://x\\")"
        version: "<script>alert(1)</script>"
        supplier: "| pipe [link](javascript:x)"
"""
    )
    a = assessed(model)
    (cam,) = a.homes[0].software
    assert (cam.id, cam.sbom_file) == ("cam", "")
    rows = list(csv.DictReader(io.StringIO(render_components_csv(a), newline="")))
    assert rows[0]["component"] == '\'=HYPERLINK("http://x")'
    html = render_html(a)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "software list, 1 component, not matched against vulnerability data" in html
    text = render_markdown(a)
    assert "\\| pipe \\[link\\](javascript:x)" in text and "<script>" not in text


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
def test_the_section_has_no_serious_accessibility_violations(
    browser: BrowserContext,  # noqa: F811
    with_sbom: Assessment,
    tmp_path: Path,
    axe_source: str,  # noqa: F811
    viewport: dict[str, int],
) -> None:
    opened = open_report(browser, render_html(with_sbom), tmp_path / "report.html")
    try:
        page = opened.page
        page.set_viewport_size(viewport)
        assert page.locator("#components table").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "the page scrolls sideways"
        assert axe_violations(page, axe_source) == []
        assert opened.errors == []
    finally:
        opened.page.close()


def test_sarif_locates_sbom_findings_in_the_sbom_with_the_components_purls(with_sbom: Assessment, models: dict[str, Path]) -> None:
    document = json.loads(render_sarif(with_sbom, root=models["sbom"].parent))
    assert sarif_errors(document) == []
    results = {r["ruleId"]: r for r in document["runs"][0]["results"]}
    exploited = results["GW-S40"]
    # The SBOM sits beside the model (the model records its name); URIs are relative to the model's folder here.
    assert [loc["physicalLocation"]["artifactLocation"] for loc in exploited["locations"]] == [
        {"uri": "router.spdx.json", "uriBaseId": "%SRCROOT%"}
    ]
    assert exploited["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] >= 1  # the router in the model
    assert exploited["properties"]["sbom"] == "router.spdx.json"
    assert exploited["properties"]["purls"] == ["pkg:generic/linux@4.4.10", "pkg:generic/openssl@1.0.1f"]
    assert results["GW-S41"]["properties"]["purls"] == ["pkg:generic/dnsmasq@2.76"]
    # A finding on the camera (no SBOM) keeps its place in the model.
    camera = next(r for r in document["runs"][0]["results"] if r["locations"][0]["logicalLocations"][0]["name"] == "cam")
    assert "sbom" not in camera["properties"] and camera["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


def test_oscal_observation_per_vulnerable_component_is_valid_and_names_the_sbom(with_sbom: Assessment) -> None:
    doc = json.loads(render_assessment_results(with_sbom))
    assert oscal_errors(doc) == []
    (result,) = doc["assessment-results"]["results"]
    observations = [o for o in result["observations"] if any(p["name"] == "component-name" for p in o["props"])]
    facts = [{p["name"]: p["value"] for p in o["props"] if p["name"] in ("component-name", "purl")} for o in observations]
    assert [f["component-name"] for f in facts] == ["busybox", "dnsmasq", "linux", "openssl"]  # dropbear and the firmware: no match
    openssl = observations[3]
    assert openssl["title"] == "openssl 1.0.1f on Home router: 1 known vulnerability (1 known exploited)"
    assert {"name": "known-exploited-vulnerability", "value": "CVE-2014-0160", "ns": NS} in openssl["props"]
    assert openssl["relevant-evidence"][0]["href"].endswith("router.spdx.json")
    busybox = observations[0]
    assert {"name": "vulnerability", "value": "CVE-2022-28391", "ns": NS, "class": "dismissed-by-vex"} in busybox["props"]
    assert "VEX: not affected: vulnerable code not present" in busybox["description"]
    assert busybox["title"] == "busybox 1.31.1 on Home router: 0 known vulnerabilities"
    subjects = {c["uuid"] for c in result["local-definitions"]["components"]}
    assert all(s["subject-uuid"] in subjects for o in observations for s in o["subjects"])
    assert render_assessment_results(with_sbom) == render_assessment_results(with_sbom)
