"""`domosec import homeassistant` as a user runs it, and the assessment of what it wrote."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.evidence.homeassistant.helpers import FAMILY, REGISTRY_3_4


def test_import_writes_a_model_that_validate_accepts_and_assess_judges(tmp_path: Path) -> None:
    model = tmp_path / "home.yaml"
    result = run_cli("import", "homeassistant", FAMILY, "-o", model)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "imported Home Assistant 2024.3.3" in result.stderr
    assert "6 devices, 2 gateways, 5 zones" in result.stderr
    assert (
        "left out: 1 device (disabled in Home Assistant: 1); 3 entities (disabled in Home Assistant: 1; of a device left out: 2); 2 service entries of integrations (not hardware); 2 system user(s)"
        in result.stderr
    )
    assert run_cli("validate", model).returncode == 0

    assessed = run_cli("assess", model, "--format", "json")
    assert assessed.returncode == 0, assessed.stderr
    findings = {(f["rule_id"], f["asset"]["id"]) for f in json.loads(assessed.stdout)["findings"]}
    assert ("SVC-S01", "anna") in findings  # an administrator without a second factor
    assert ("GW-S08", "home-assistant") in findings  # the login over plain HTTP on the home network
    assert ("GW-S05", "home-assistant") in findings  # the remote UI puts the login on the internet
    assert ("DEV-P01", "bedroom-camera") in findings  # a camera in the bedroom…
    assert ("SVC-S01", "mia") not in findings  # Mia has TOTP


def test_import_to_standard_output_is_deterministic() -> None:
    first = run_cli("import", "homeassistant", REGISTRY_3_4, "--quiet")
    second = run_cli("import", "homeassistant", REGISTRY_3_4, "--quiet")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stdout.startswith("# Imported from the Home Assistant configuration")
    assert first.stderr == ""


def test_help_names_the_command_and_its_options() -> None:
    result = run_cli("import", "homeassistant", "--help")
    assert result.returncode == 0
    for option in ("--output", "--overlay", "--max-bytes"):
        assert option in result.stdout
