"""A home whose router carries a real firmware SBOM, matched offline as a user does it (for the report, SoA and fleet tests).

The SBOM is written by spdx-tools (:mod:`.firmware`), the store is built from the real-record excerpts in
data/ (:func:`.conftest.build_store`), and ``domosec import sbom`` attaches the SBOM with an OpenVEX statement
that dismisses CVE-2022-28391 for busybox. Judged on :data:`AS_OF`, ten days after the store's data date.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.conftest import run_cli

from .conftest import build_store
from .firmware import write_firmware_spdx

AS_OF = dt.date(2025, 7, 10)
DATA_DATE = "2025-06-30"
HOME = """\
domosec: 1
system: {{id: flat-12, name: Flat 12, kind: {kind}}}
networks: [{{id: wan, kind: wan}}, {{id: lan, kind: ethernet}}]
gateways:
  - id: router
    name: Home router
    kind: router
    networks: [wan, lan]
devices:
  - id: cam
    name: Hall camera
    type: camera
    networks: [lan]
    gateway: router
"""
VEX = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    "statements": [
        {
            "vulnerability": {"name": "CVE-2022-28391"},
            "products": [{"@id": "pkg:generic/router-firmware@2.0", "subcomponents": [{"@id": "pkg:generic/busybox@1.31.1"}]}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_present",
        }
    ],
}


def plain_home(directory: Path, *, kind: str = "deployment") -> Path:
    """The home without any SBOM."""
    model = directory / f"home-{kind}.yaml"
    model.write_text(HOME.format(kind=kind), encoding="utf-8")
    return model


def sbom_home(directory: Path, *, kind: str = "deployment") -> Path:
    """The home with the router's firmware SBOM imported and matched; returns the model file (beside the SBOM)."""
    store = directory / "vulns.duckdb"
    if not store.exists():
        build_store(store)
    sbom = write_firmware_spdx(directory)["json"]
    vex = directory / "router.openvex.json"
    vex.write_text(json.dumps(VEX), encoding="utf-8")
    out = directory / f"home-sbom-{kind}.yaml"
    result = run_cli(
        "import", "sbom", sbom, "--asset", "router", "--model", plain_home(directory, kind=kind), "--vulndb", store, "--vex", vex, "-o", out
    )
    assert result.returncode == 0, result.stderr
    return out
