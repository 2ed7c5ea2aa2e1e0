"""Alpine (apk) versions: ordered as apk-tools orders them, so OSV Alpine records match apk purls correctly."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from domosec.evidence.sbom.components import Component
from domosec.vulndb.match import component_keys, match_components
from domosec.vulndb.versions import compare, scheme_for

from .conftest import DATA


def _pairs() -> list[tuple[str, str, str]]:
    lines = [line for line in (DATA / "apk-versions.csv").read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return [(r["a"], r["relation"], r["b"]) for r in csv.DictReader(lines)]


def test_every_pair_of_apk_tools_version_tests() -> None:
    pairs = _pairs()
    assert len(pairs) > 700
    sign = {"<": -1, "=": 0, ">": 1}
    wrong = [
        f"{a} {rel} {b}: got {compare('alpine', a, b)}"
        for a, rel, b in pairs
        if (lambda c: (c > 0) - (c < 0))(compare("alpine", a, b)) != sign[rel]
    ]
    assert not wrong, "\n".join(wrong[:20])
    # and the comparison is antisymmetric on the same pairs
    assert all((compare("alpine", b, a) > 0) == (rel == "<") for a, rel, b in pairs if rel != "=")


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.1.1k-r0", "1.1.1l-r0"),  # letter suffix
        ("1.29.3-r9", "1.29.3-r10"),  # package revision, as a number
        ("3.0.0_alpha17-r0", "3.0.0-r0"),  # pre-release suffixes sort before the release ...
        ("3.0.0_rc1", "3.0.0"),
        ("3.0.0", "3.0.0_p1"),  # ... a patch suffix after it
        ("1.0_pre2", "1.0_rc1"),
        ("2.4.1", "2.4.1_git20240101"),
    ],
)
def test_apk_rules(lower: str, higher: str) -> None:
    assert compare("alpine", lower, higher) < 0 < compare("alpine", higher, lower)


def test_alpine_ecosystems_use_apk_order() -> None:
    assert scheme_for("Alpine:v3.20") == "alpine"
    assert compare(scheme_for("Alpine:v3.20"), "1.0", "1.0bc") < 0  # apk: an invalid tail sorts after


def test_apk_purls_find_the_records_of_their_branch_and_source_package(store: Path) -> None:
    """syft writes `upstream=` for a binary package of another source package, and `distro=` with the release."""
    keys = component_keys(
        0, Component("x", "libssl3", purl="pkg:apk/alpine/libssl3@3.0.2-r0?arch=x86_64&upstream=openssl&distro=alpine-3.17.2")
    )
    assert keys[1:5] == ("Alpine:v3.17", "Alpine", "openssl", "3.0.2-r0")
    components = [
        Component("a", "openssl", "3.0.1-r0", purl="pkg:apk/alpine/openssl@3.0.1-r0?distro=alpine-3.17.0"),
        Component("b", "busybox", "1.29.3-r9", purl="pkg:apk/alpine/busybox@1.29.3-r9?distro=alpine-3.12.0"),
    ]
    by = {(m.component, m.id): m for m in match_components(components, store).matches}
    fix = by[(0, "ALPINE-CVE-2022-0778")]
    assert (fix.confidence, fix.fixed_version, fix.aliases, fix.cvss) == ("exact_purl", "3.0.2-r0", "CVE-2022-0778", 7.5)
    assert (0, "CVE-2022-0778") not in by  # the NVD record of the same CVE is not repeated
    # no name-only NVD match for a distribution package: Alpine's record says it is fixed, NVD's range would not
    assert not [key for key in by if key[0] == 1 and not key[1].startswith("ALPINE-")]
