"""Cross-maps of clause-7 items to OWASP ISVS 1.0 (requirement IDs only) and to the EU CRA Annex I (our inference)."""

from __future__ import annotations

import json
import re

from domosec.catalog.load import load_catalogue
from domosec.report.oscal import render_catalog
from tests.conftest import run_cli
from tests.schemas.validate import oscal_errors

ISVS_ID = re.compile(r"^[1-5]\.\d{1,2}\.\d{1,2}$")
CRA_IDS = {"I.1", *(f"I.2({c})" for c in "abcdefghijklm"), *(f"II.{n}" for n in range(1, 9))}


def test_isvs_and_cra_items_are_ids_with_our_own_titles() -> None:
    cat = load_catalogue()
    isvs = {k.split(":", 1)[1]: v for k, v in cat.framework_items.items() if k.startswith("owasp_isvs_1_0:")}
    cra = {k.split(":", 1)[1]: v for k, v in cat.framework_items.items() if k.startswith("eu_cra_annex_i:")}
    assert isvs and all(ISVS_ID.match(i) for i in isvs), sorted(isvs)
    # Every CRA Annex I essential requirement is listed, and nothing else.
    assert set(cra) == CRA_IDS
    # Our own short summaries, never ISVS's "Verify that ..." requirement sentences.
    assert all(not item.title.lower().startswith("verify") and len(item.title) <= 80 for item in isvs.values())
    assert "CC BY-SA" in cat.standard.note and "inference" in cat.standard.note


def test_the_items_that_treat_updates_and_authentication_map_to_both() -> None:
    cat = load_catalogue()
    refs = {c: {r.framework: r for r in cat.controls[c].cross_map} for c in ("7.2.16", "7.2.17", "7.2.19")}
    assert "3.4.3" in refs["7.2.17"]["owasp_isvs_1_0"].ids  # signed updates verified
    assert "I.2(c)" in refs["7.2.17"]["eu_cra_annex_i"].ids  # vulnerabilities fixable by security updates
    assert "2.1.12" in refs["7.2.16"]["owasp_isvs_1_0"].ids  # brute-force protection
    assert "1.6.1" in refs["7.2.19"]["owasp_isvs_1_0"].ids  # support period published
    for by_framework in refs.values():
        assert by_framework["eu_cra_annex_i"].provenance == "inferred"
        assert "inference" in by_framework["eu_cra_annex_i"].note


def test_catalog_show_lists_the_cross_maps() -> None:
    result = run_cli("catalog", "show", "7.2.17")
    assert result.returncode == 0, result.stderr
    assert "owasp_isvs_1_0: 1.2.9, 3.4.2, 3.4.3" in result.stdout
    assert "eu_cra_annex_i: I.2(c), II.7, II.8 (inferred)" in result.stdout


def test_the_oscal_catalog_carries_them_as_props() -> None:
    doc = json.loads(render_catalog(load_catalogue(), as_of="2026-11-23"))
    assert oscal_errors(doc) == []
    props = [
        (p["name"], p["value"], p.get("class"))
        for group in doc["catalog"]["groups"]
        for sub in group.get("groups", [group])
        for control in sub.get("controls", [])
        for p in control.get("props", [])
        if p["name"] in ("owasp_isvs_1_0", "eu_cra_annex_i")
    ]
    assert ("owasp_isvs_1_0", "3.4.3", "inferred") in props
    assert ("eu_cra_annex_i", "I.2(c)", "inferred") in props
