"""Matching components to vulnerabilities: the hand-checked table, confidence, KEV, VEX and end of life."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from domosec.evidence.sbom.components import Component, VexStatement
from domosec.evidence.sbom.vex import read_vex
from domosec.vulndb.match import match_components
from domosec.vulndb.store import store_info

from .conftest import DATA


def _table() -> list[tuple[str, str, str, set[str]]]:
    lines = [line for line in (DATA / "expected-matches.csv").read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return [(r["name"], r["version"], r["identifier"], set(r["expected"].split())) for r in csv.DictReader(lines)]


TABLE = _table()


def _component(name: str, version: str, identifier: str) -> Component:
    return Component(
        ref=f"{name}@{version}",
        name=name,
        version=version,
        purl=identifier if identifier.startswith("pkg:") else "",
        cpe=identifier if identifier.startswith("cpe:") else "",
    )


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 50
    assert sum(1 for row in TABLE if row[3]) >= 25 and sum(1 for row in TABLE if not row[3]) >= 15


def test_every_row_of_the_hand_checked_table(store: Path) -> None:
    components = [_component(name, version, ident) for name, version, ident, _ in TABLE]
    result = match_components(components, store)
    found: dict[int, set[str]] = {}
    for m in result.matches:
        found.setdefault(m.component, set()).add(m.id)
    wrong = [
        f"{name} {version} {ident}: expected {sorted(expected)}, got {sorted(found.get(i, set()))}"
        for i, (name, version, ident, expected) in enumerate(TABLE)
        if found.get(i, set()) != expected
    ]
    assert not wrong, "\n".join(wrong)


def test_confidence_severity_kev_and_fix(store: Path) -> None:
    components = [
        _component("openssl", "1.0.1e", "cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*"),
        _component("openssl", "1.0.1e", ""),
        _component("setuptools", "65.5.0", "pkg:pypi/setuptools@65.5.0"),
        _component("dnsmasq", "2.76", ""),
    ]
    by = {(m.component, m.id): m for m in match_components(components, store).matches}
    heartbleed = by[(0, "CVE-2014-0160")]
    assert (heartbleed.confidence, heartbleed.severity, heartbleed.cvss, heartbleed.known_exploited) == ("cpe_range", "high", 7.5, True)
    assert by[(1, "CVE-2014-0160")].confidence == "name_only"
    redos = by[(2, "GHSA-r9hx-vwmv-q579")]
    assert (redos.confidence, redos.severity, redos.fixed_version, redos.aliases) == ("exact_purl", "high", "65.5.1", "CVE-2022-40897")
    assert not redos.known_exploited
    overflow = by[(3, "CVE-2017-14493")]
    assert (overflow.severity, overflow.fixed_version) == ("critical", "2.78")


def test_end_of_life_and_store_date(store: Path) -> None:
    components = [_component("openssl", "1.1.1w", ""), _component("openssl", "3.0.15", ""), _component("busybox", "1.36.1", "")]
    result = match_components(components, store)
    assert result.end_of_life == {0: dt.date(2023, 9, 11), 1: dt.date(2026, 9, 7)}  # busybox 1.36: eol false, no date
    assert result.data_date == dt.date(2025, 6, 30)
    assert result.sources == "eol,kev,nvd,osv"
    info = store_info(store)
    assert info["rows_kev"] == 2 and info["data_date"] == "2025-06-30"


def test_openvex_suppresses_with_justification(store: Path, tmp_path: Path) -> None:
    vex = tmp_path / "router.openvex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.org/vex/router-1",
                "author": "Router maker",
                "timestamp": "2025-07-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2023-38545"},
                        "products": [{"@id": "pkg:generic/router-fw@2.0", "subcomponents": [{"@id": "pkg:generic/curl@8.3.0"}]}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                        "impact_statement": "built without SOCKS5 proxy support",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    statements = read_vex(vex)
    assert statements == [
        VexStatement(
            "CVE-2023-38545",
            "pkg:generic/curl@8.3.0",
            "not_affected",
            "vulnerable_code_not_in_execute_path; built without SOCKS5 proxy support",
        )
    ]
    components = [
        Component(ref="curl", name="curl", version="8.3.0", purl="pkg:generic/curl@8.3.0"),
        Component(ref="dnsmasq", name="dnsmasq", version="2.80"),
    ]
    matches = match_components(components, store, statements).matches
    curl = next(m for m in matches if m.id == "CVE-2023-38545")
    assert (curl.vex_state, curl.vex_justification) == (
        "not_affected",
        "vulnerable_code_not_in_execute_path; built without SOCKS5 proxy support",
    )
    assert all(m.vex_state is None for m in matches if m.component == 1)


@pytest.mark.parametrize("kev_file", ["kev.json", "kev.csv"])
def test_kev_json_and_csv_agree(tmp_path: Path, kev_file: str) -> None:
    from domosec.vulndb.feeds import read_kev
    from domosec.vulndb.store import Rows

    rows = Rows()
    read_kev(DATA / kev_file, rows, max_bytes=1 << 20)
    assert sorted((r[0], r[1]) for r in rows.kev) == [("CVE-2014-0160", dt.date(2022, 5, 4)), ("CVE-2016-5195", dt.date(2022, 3, 3))]


def test_debian_and_semver_ranges_are_checked_in_python(tmp_path: Path) -> None:
    """Schemes without a SQL sort key (Debian, SemVer) take the Python path with the same range rules.

    The two records are made up to exercise the comparators (epoch, ``~``, pre-release), not real advisories."""
    from domosec.vulndb.feeds import add_osv_record
    from domosec.vulndb.store import Rows, write_store

    rows = Rows()
    add_osv_record(
        rows,
        {
            "id": "TEST-DEB-1",
            "affected": [
                {
                    "package": {"ecosystem": "Debian:12", "name": "openssl"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}],
                }
            ],
        },
    )
    add_osv_record(
        rows,
        {
            "id": "TEST-NPM-1",
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": "@scope/lib"},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.2.0-beta.1"}, {"fixed": "1.4.0"}]}],
                }
            ],
        },
    )
    store = tmp_path / "s.duckdb"
    write_store(rows, store)
    cases = [
        ("pkg:deb/debian/openssl@3.0.11-1~deb12u1?distro=debian-12", {"TEST-DEB-1"}),
        ("pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12", set()),
        ("pkg:deb/debian/openssl@3.0.11-1?distro=debian-12", set()),  # 3.0.11-1 sorts after 3.0.11-1~deb12u2
        ("pkg:deb/debian/openssl@3.0.9-1?distro=debian-11", set()),  # another release's ecosystem
        ("pkg:npm/%40scope/lib@1.2.0-beta.2", {"TEST-NPM-1"}),
        ("pkg:npm/%40scope/lib@1.2.0-alpha", set()),
        ("pkg:npm/%40scope/lib@1.3.9", {"TEST-NPM-1"}),
        ("pkg:npm/%40scope/lib@1.4.0", set()),
    ]
    components = [Component(ref=purl, name="x", purl=purl) for purl, _ in cases]
    found: dict[int, set[str]] = {}
    for m in match_components(components, store).matches:
        found.setdefault(m.component, set()).add(m.id)
        assert m.confidence == "exact_purl"
    assert [found.get(i, set()) for i in range(len(cases))] == [expected for _, expected in cases]
