"""The commands a user types, run as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from domosec.cli.model_cmds import TEMPLATES
from domosec.docgen import check
from tests.conftest import EXAMPLES, ROOT, run_cli


def test_validate_accepts_every_example() -> None:
    result = run_cli("validate", *sorted(EXAMPLES.glob("*.yaml")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok ") == len(list(EXAMPLES.glob("*.yaml")))


@pytest.mark.parametrize("template", TEMPLATES)
def test_init_writes_a_valid_starter_model(template: str, tmp_path: Path) -> None:
    target = tmp_path / "home.yaml"
    assert run_cli("init", target, "--template", template).returncode == 0
    text = target.read_text(encoding="utf-8")
    assert text.count("#") > 10, "the starter model should teach the format with comments"
    assert run_cli("validate", target).returncode == 0


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    target = tmp_path / "home.yaml"
    target.write_text("mine", encoding="utf-8")
    result = run_cli("init", target)
    assert result.returncode == 2 and "already exists" in result.stderr
    assert target.read_text(encoding="utf-8") == "mine"


def test_catalog_browsing() -> None:
    listing = run_cli("catalog", "list", "controls", "--clause", "7.3")
    assert listing.returncode == 0 and "7.3.14" in listing.stdout and "7.2.1 " not in listing.stdout
    page = run_cli("catalog", "show", "7.1.6")
    assert page.returncode == 0 and "Consideration for children" in page.stdout and "Treats" in page.stdout
    missing = run_cli("catalog", "show", "7.2.99")
    assert missing.returncode == 2 and "no catalogue item" in missing.stderr
    found = run_cli("catalog", "search", "default password")
    assert found.returncode == 0 and "R-S-DV-09" in found.stdout
    # A clause-7 item is listed once (as the control), not again as its clause heading.
    once = run_cli("catalog", "search", "password")
    assert once.returncode == 0 and once.stdout.count("7.2.15 ") == 1


def test_rules_list_and_show() -> None:
    listing = run_cli("rules", "list", "--clause", "6.2.3")
    assert listing.returncode == 0 and "DEV-S01" in listing.stdout and "GW-S01" not in listing.stdout
    page = run_cli("rules", "show", "DEV-S01")
    assert page.returncode == 0 and "How to fix" in page.stdout and "Detection logic" in page.stdout
    typo = run_cli("rules", "show", "DEV-S1")
    assert typo.returncode == 2 and "did you mean" in typo.stderr


def test_rules_test_runs_the_examples_of_a_pack() -> None:
    result = run_cli("rules", "test", ROOT / "src/domosec/rules/6.2.3-devices")
    assert result.returncode == 0, result.stderr
    assert " 0 failed" in result.stdout
    lines = result.stdout.splitlines()
    assert "ok   DEV-S01" in lines and not any("[" in line for line in lines)  # styled, no markup shown as text


def test_schema_command_matches_committed_schema(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert run_cli("schema", "-o", out).returncode == 0
    assert out.read_text(encoding="utf-8") == (ROOT / "schema/domosec-model-1.schema.json").read_text(encoding="utf-8")


def test_generated_docs_are_up_to_date() -> None:
    assert check(ROOT) == [], "run `make docs`"


def test_help_states_exit_codes() -> None:
    result = run_cli("--help")
    assert result.returncode == 0 and "Exit codes" in result.stdout
