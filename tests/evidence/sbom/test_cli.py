"""End to end as a user runs it: build the store, import a firmware SBOM onto a router, assess offline."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.conftest import run_cli

from .conftest import DATA
from .firmware import write_firmware_spdx
from .home import HOME as HOME_TEMPLATE
from .home import VEX

HOME = HOME_TEMPLATE.format(kind="deployment")


def _store(tmp_path: Path) -> Path:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for record in sorted((DATA / "osv").glob("*.json")):
            zf.write(record, record.name)
    store = tmp_path / "vulns.duckdb"
    result = run_cli(
        "vulndb",
        "import",
        "--osv",
        archive,
        "--nvd",
        DATA / "nvdcve-2.0-sample.json",
        "--kev",
        DATA / "kev.csv",
        "--eol",
        DATA / "eol.json",
        "-o",
        store,
    )
    assert result.returncode == 0, result.stderr
    assert "newest record 2025-06-30" in result.stderr
    return store


def test_firmware_sbom_to_findings_offline(tmp_path: Path) -> None:
    store = _store(tmp_path)
    info = run_cli("vulndb", "info", store, "--as-of", "2025-07-10", "--max-age", "30")
    assert info.returncode == 0 and "age_days: 10" in info.stdout and "sources: eol,kev,nvd,osv" in info.stdout
    stale = run_cli("vulndb", "info", store, "--as-of", "2025-09-10", "--max-age", "30")
    assert stale.returncode == 1 and "72 days old" in stale.stderr

    sbom = write_firmware_spdx(tmp_path)["json"]
    vex = tmp_path / "router.openvex.json"
    vex.write_text(json.dumps(VEX))
    model = tmp_path / "home.yaml"
    model.write_text(HOME)
    out = tmp_path / "home-sbom.yaml"
    result = run_cli("import", "sbom", sbom, "--asset", "router", "--model", model, "--vulndb", store, "--vex", vex, "-o", out)
    assert result.returncode == 0, result.stderr
    assert (
        "router: 6 components, 5 known vulnerabilities (2 known exploited, 1 not affected or fixed by VEX), 2 with an end-of-life date"
        in result.stderr
    )
    text = out.read_text()
    assert "vulndb_built: '2025-06-30'" in text and "vex_justification: vulnerable_code_not_present" in text

    assessed = run_cli("assess", out, "--format", "json", "--as-of", "2025-07-10")
    assert assessed.returncode in (0, 1), assessed.stderr
    findings = {(f["rule_id"], f["asset"]["id"]) for f in json.loads(assessed.stdout)["findings"]}
    assert ("GW-S40", "router") in findings  # OpenSSL 1.0.1f: CVE-2014-0160 is in CISA's KEV catalog
    assert ("GW-S41", "router") in findings  # dnsmasq 2.76: CVE-2017-14493, critical, fixed in 2.78
    assert ("DEV-S42", "router") not in findings  # a gateway; the rule judges devices
    critical = next(f for f in json.loads(assessed.stdout)["findings"] if f["rule_id"] == "GW-S41")
    assert critical["reason"].endswith("dnsmasq 2.76 (CVE-2017-14493, fixed in 2.78).")
    exploited = next(f for f in json.loads(assessed.stdout)["findings"] if f["rule_id"] == "GW-S40")
    assert "linux 4.4.10 (CVE-2016-5195), openssl 1.0.1f (CVE-2014-0160)" in exploited["reason"]

    again = run_cli("import", "sbom", sbom, "--asset", "router", "--model", model, "--vulndb", store, "--vex", vex, "-o", "-")
    assert again.stdout.split("\n", 1)[1] == text.split("\n", 1)[1]  # same model every time


def test_unknown_asset_and_missing_store(tmp_path: Path) -> None:
    sbom = write_firmware_spdx(tmp_path)["tag-value"]
    model = tmp_path / "home.yaml"
    model.write_text(HOME)
    result = run_cli("import", "sbom", sbom, "--asset", "fridge", "--model", model)
    assert result.returncode == 2 and "error[unknown-asset]" in result.stderr and "router" in result.stderr
    result = run_cli("import", "sbom", sbom, "--asset", "router", "--model", model, "--vulndb", tmp_path / "none.duckdb")
    assert result.returncode == 2 and "error[file-not-found]" in result.stderr
    not_a_store = tmp_path / "x.duckdb"
    not_a_store.write_text("not a database")
    result = run_cli("vulndb", "info", not_a_store)
    assert result.returncode == 2 and "error[vulndb-invalid]" in result.stderr and "Traceback" not in result.stderr
