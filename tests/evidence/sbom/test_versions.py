"""Version comparison per ecosystem: what decides whether a component version is inside a vulnerable range."""

from __future__ import annotations

import pytest

from domosec.vulndb.versions import compare, scheme_for


@pytest.mark.parametrize(
    ("scheme", "lower", "higher"),
    [
        ("pep440", "65.5.1rc1", "65.5.1"),
        ("pep440", "2.0", "10.0"),
        ("pep440", "1.0.post1", "1.1.dev0"),
        ("semver", "1.2.3-beta.2", "1.2.3"),
        ("semver", "1.2.3-alpha", "1.2.3-beta"),
        ("semver", "1.9.9", "v1.10.0"),
        ("debian", "1.0~rc1-1", "1.0-1"),
        ("debian", "3.0.11-1~deb12u2", "3.0.11-1"),
        ("debian", "2.0", "1:1.0"),
        ("debian", "1.2.3-1", "1.2.3-1+b1"),
        ("generic", "1.1.1", "1.1.1k"),
        ("generic", "1.0.2zc", "1.0.2zd"),
        ("generic", "1.31.1", "1.36.0"),
        ("generic", "2.9", "2.10"),
        ("generic", "1.0rc1", "1.0"),
        ("generic", "2016.73", "2016.74"),
    ],
)
def test_order(scheme: str, lower: str, higher: str) -> None:
    assert compare(scheme, lower, higher) < 0
    assert compare(scheme, higher, lower) > 0
    assert compare(scheme, lower, lower) == 0


def test_equal_spellings() -> None:
    assert compare("pep440", "1.0", "1.0.0") == 0
    assert compare("semver", "v1.2.0", "1.2") == 0


def test_schemes_by_ecosystem() -> None:
    assert scheme_for("PyPI") == "pep440"
    assert scheme_for("Debian:12") == "debian"
    assert scheme_for("npm") == "semver"
    assert scheme_for("Maven", "SEMVER") == "semver"
    assert scheme_for("OSS-Fuzz") == "generic"


VERSIONS = {
    "generic": [
        "1.0rc1",
        "1.0",
        "1.0.0",
        "1.0.1",
        "1.0.1e",
        "1.0.1f",
        "1.0.2",
        "1.0.2zc",
        "1.0.2zd",
        "1.1.1",
        "1.1.1k",
        "1.9",
        "1.10",
        "2016.74",
        "v3",
    ],
    "pep440": ["1.0.dev1", "1.0a1", "1.0a2.dev1", "1.0b1", "1.0rc1", "1.0", "1.0.post1", "1.1.dev0", "1.1", "2!0.1", "65.5.1rc1", "65.5.1"],
}


@pytest.mark.parametrize("scheme", sorted(VERSIONS))
def test_sort_keys_order_as_compare_does(scheme: str) -> None:
    """The strings DuckDB compares in SQL must order every pair exactly as the Python comparator does."""
    from domosec.vulndb.versions import sort_key

    versions = VERSIONS[scheme]
    for a in versions:
        for b in versions:
            ka, kb = sort_key(scheme, a), sort_key(scheme, b)
            assert ka is not None and kb is not None
            assert ((ka > kb) - (ka < kb)) == (lambda c: (c > 0) - (c < 0))(compare(scheme, a, b)), (a, b)
