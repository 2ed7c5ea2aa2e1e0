"""An SBOM written by cdxgen (OWASP CycloneDX's generator, installed with npm at test time) imported offline.

cdxgen is pinned and installed once into pytest's cache folder, as the accessibility tests install axe-core; it
is never committed. It reads a requirements file without installing anything (``--no-install-deps``), so the
test needs no network beyond npm's install. The expected vulnerabilities are those of the OSV records in data/osv
(jinja2 3.1.4 is before the fixes of GHSA-h75v-3vvj-5mfj, 3.1.5, and GHSA-cpwx-vrp4-4pq7, 3.1.6; no record names
paho-mqtt).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import npm_package, run_cli

CDXGEN_VERSION = "12.8.4"


@pytest.fixture(scope="module")
def cdxgen(request: pytest.FixtureRequest) -> Path:
    return npm_package(request.config, "@cyclonedx/cdxgen", CDXGEN_VERSION) / ".bin" / "cdxgen"


def test_a_cdxgen_sbom_gets_its_known_vulnerabilities_offline(cdxgen: Path, store: Path, tmp_path: Path) -> None:
    project = tmp_path / "hub-app"
    project.mkdir()
    (project / "requirements.txt").write_text("jinja2==3.1.4\npaho-mqtt==1.6.1\n", encoding="utf-8")
    bom = tmp_path / "hub-app.cdx.json"
    env = {**os.environ, "CDXGEN_NO_BANNER": "true", "FETCH_LICENSE": "false", "CDXGEN_DEBUG_MODE": ""}
    made = subprocess.run(
        [str(cdxgen), "-t", "python", "--no-install-deps", "-o", str(bom), str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert made.returncode == 0 and bom.is_file(), made.stderr[-2000:]
    document = json.loads(bom.read_text(encoding="utf-8"))
    assert document["bomFormat"] == "CycloneDX" and document["metadata"]["component"]["version"] == "latest"

    model = tmp_path / "hub.yaml"
    imported = run_cli("import", "sbom", bom, "--asset", "hub", "--vulndb", store, "-o", model)
    assert imported.returncode == 0, imported.stderr
    assert "hub: 2 components, 2 known vulnerabilities" in imported.stderr  # the project itself ('latest') is the asset

    assessed = run_cli("assess", model, "--format", "json", "--as-of", "2025-07-10")
    assert assessed.returncode in (0, 1), assessed.stderr
    result = json.loads(assessed.stdout)
    software = {(s["kind"], s["id"]): s for home in result["homes"] for s in home["software"]}
    components = {c["name"]: c for c in software[("device", "hub")]["components"]}
    assert sorted(components) == ["jinja2", "paho-mqtt"]
    assert components["jinja2"]["purl"] == "pkg:pypi/jinja2@3.1.4"
    jinja = {v["id"]: v for v in components["jinja2"]["vulnerabilities"]}
    assert sorted(jinja) == ["GHSA-cpwx-vrp4-4pq7", "GHSA-h75v-3vvj-5mfj"]
    assert {v["confidence"] for v in jinja.values()} == {"exact_purl"}
    assert jinja["GHSA-h75v-3vvj-5mfj"]["fixed_version"] == "3.1.5" and jinja["GHSA-cpwx-vrp4-4pq7"]["fixed_version"] == "3.1.6"
    assert components["paho-mqtt"]["vulnerabilities"] == []

    markdown = run_cli("assess", model, "--format", "markdown", "--as-of", "2025-07-10")
    assert markdown.returncode in (0, 1), markdown.stderr
    assert "GHSA-h75v-3vvj-5mfj" in markdown.stdout and "GHSA-cpwx-vrp4-4pq7" in markdown.stdout
