"""The Statement of Applicability cites an imported SBOM as evidence for the clause-7 items it serves (7.2.18, 7.2.22,
7.2.23, 7.2.24): which file, how many components, and the date of the vulnerability data they were matched against."""

from __future__ import annotations

from pathlib import Path

import pytest

from domosec.assessment import Assessment, ControlAssessment
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model

from .home import AS_OF, DATA_DATE, plain_home, sbom_home

EVIDENCE = f"SBOM router.spdx.json (gateway router), 6 components, vulnerability data of {DATA_DATE}"


def controls(model: Path) -> dict[str, ControlAssessment]:
    a: Assessment = assess([load_model(model)], load_rules(), as_of=AS_OF)
    return {c.control_id: c for c in a.controls}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("soa")


def test_sbom_is_evidence_instead_of_unknown(folder: Path) -> None:
    with_sbom = controls(sbom_home(folder))
    without = controls(plain_home(folder))
    for item in ("7.2.23", "7.2.24"):
        assert (without[item].status, without[item].evidence) == ("unknown", [])
        c = with_sbom[item]
        assert c.status == "partial" and c.evidence == [EVIDENCE]
        assert "for 1 of 2, which known vulnerabilities affect them" in c.status_reason
        assert c.questions  # what an SBOM cannot show is still asked
    # Items with open findings (known-exploited and critical components on the router) stay not implemented, with the evidence shown.
    for item in ("7.2.18", "7.2.22"):
        assert with_sbom[item].status == "not_implemented" and with_sbom[item].evidence == [EVIDENCE]
    assert with_sbom["7.2.17"].evidence == []  # updates: an SBOM says nothing about them


def test_declared_implemented_with_an_sbom_counts_as_evidenced(folder: Path) -> None:
    model = sbom_home(folder)
    declared = model.with_name("declared.yaml")
    declared.write_text(model.read_text() + 'controls:\n  - id: "7.2.24"\n    status: implemented\n', encoding="utf-8")
    plain = plain_home(folder)
    plain_declared = plain.with_name("plain-declared.yaml")
    plain_declared.write_text(plain.read_text() + 'controls:\n  - id: "7.2.24"\n    status: implemented\n', encoding="utf-8")
    assert controls(plain_declared)["7.2.24"].status == "declared_without_evidence"
    c = controls(declared)["7.2.24"]
    assert (c.status, c.evidence) == ("implemented", [EVIDENCE])


def test_a_software_list_without_vulnerability_data_says_so(folder: Path) -> None:
    model = folder / "listed.yaml"
    model.write_text(
        plain_home(folder).read_text() + "    software:\n      - {name: busybox, version: 1.36.1, supplier: BusyBox project}\n"
    )
    c = controls(model)["7.2.24"]
    assert c.evidence == ["software list (device cam), 1 component, not matched against vulnerability data"]
    assert "for 0 of 2," in c.status_reason
