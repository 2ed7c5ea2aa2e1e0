"""What the wheel and the sdist hold: every file of the package that a run reads, and the right metadata."""

from __future__ import annotations

import tarfile
import zipfile
from email.parser import Parser

import pytest

import domosec
from tests.packaging.conftest import Built, package_files

pytestmark = pytest.mark.packaging


def test_every_package_file_is_in_the_wheel(built: Built) -> None:
    """Rules, catalogue, SQL views, templates, static files: a file left out crashes the installed command."""
    expected = package_files(built.tree)
    assert "domosec/engine/views.sql" in expected and any(p.startswith("domosec/rules/") for p in expected)
    with zipfile.ZipFile(built.wheel) as wheel:
        inside = set(wheel.namelist())
    missing = [p for p in expected if p not in inside]
    assert not missing, f"not in {built.wheel.name} (add them to [tool.setuptools.package-data]): {missing}"


def test_every_package_file_is_in_the_sdist(built: Built) -> None:
    """Distributions that build from the sdist (and pip without a wheel) get the same files."""
    prefix = built.sdist.name.removesuffix(".tar.gz") + "/src/"
    with tarfile.open(built.sdist) as sdist:
        inside = {name.removeprefix(prefix) for name in sdist.getnames()}
    missing = [p for p in package_files(built.tree) if p not in inside]
    assert not missing, f"not in {built.sdist.name}: {missing}"


def test_wheel_metadata_names_the_version_the_code_reports_and_the_extras(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(wheel.read(name).decode("utf-8"))
    assert metadata["Version"] == domosec.__version__
    assert {"pdf", "scan", "fleet", "spark", "all"} <= set(metadata.get_all("Provides-Extra") or [])
    core = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    heavy = ("weasyprint", "pyarrow", "numpy", "sslyze", "pyspark", "aiohttp", "zeroconf")
    assert not [r for r in core if r.lower().startswith(heavy)], f"the core install pulls in an extra's package: {core}"
