"""Fixtures: a vulnerability store built from the real-record excerpts in data/, and real SBOMs made by real tools."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[3]
CYCLONEDX_PY = Path(sys.executable).with_name("cyclonedx-py")


def build_store(path: Path) -> Path:
    """The store `domosec vulndb import` writes from data/ (OSV as an all.zip, NVD, KEV, EOL)."""
    from domosec.vulndb.feeds import read_eol, read_kev, read_nvd, read_osv
    from domosec.vulndb.store import StoreWriter

    archive = path.parent / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for record in sorted((DATA / "osv").glob("*.json")):
            zf.write(record, record.name)
    with StoreWriter(path) as store:
        read_osv(archive, store, max_bytes=1 << 24)
        read_nvd(DATA / "nvdcve-2.0-sample.json", store, max_bytes=1 << 24)
        read_kev(DATA / "kev.json", store, max_bytes=1 << 24)
        read_eol(DATA / "eol.json", store, max_bytes=1 << 24)
    return path


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("vulndb") / "vulns.duckdb")


@pytest.fixture(scope="session")
def venv_sboms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """CycloneDX SBOMs of the project's own virtualenv, written by cyclonedx-py (CycloneDX 1.6 JSON, 1.5 and 1.4 XML)."""
    if not CYCLONEDX_PY.exists():
        pytest.skip("cyclonedx-py (the cyclonedx-bom package, dev extra) is not installed")
    out = tmp_path_factory.mktemp("sbom")
    made: dict[str, Path] = {}
    for key, fmt, spec in (("json-1.6", "JSON", "1.6"), ("xml-1.5", "XML", "1.5"), ("xml-1.4", "XML", "1.4")):
        target = out / f"venv-{key}.{fmt.lower()}"
        subprocess.run(
            [str(CYCLONEDX_PY), "environment", sys.prefix, "--output-format", fmt, "--spec-version", spec, "-o", str(target)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        made[key] = target
    return made
