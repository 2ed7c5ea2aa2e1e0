"""The Statement of Applicability reads what the model holds and who it is for (issue 14, point 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from domosec.assessment import ControlAssessment
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules()

LOCAL_CAMERA_HOME = """\
domosec: 1
system: {id: local-cam, name: Flat with a camera that records to its SD card}
users: [{id: owner, role: resident, admin: true}]
zones: [{id: hall, kind: hallway}]
devices:
  - {id: cam, type: camera, zone: hall, sensors: [camera], data: [video], data_at_rest: {categories: [video], retention_days: 30}}
"""

THERMOMETER_PRODUCT = """\
domosec: 1
system: {id: thermo, name: Wireless thermometer, kind: product, lifecycle_stage: design}
users: [{id: persona, role: resident, admin: true}]
devices:
  - {id: sensor, type: sensor_alarm, sensors: [temperature], data: [environment]}
"""


def _soa(path: Path) -> dict[str, ControlAssessment]:
    result = assess([load_model(str(path))], RULES, as_of=dt.date(2026, 12, 1))
    return {c.control_id: c for c in result.controls}


def test_a_camera_that_only_records_locally_makes_the_privacy_controls_apply(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(LOCAL_CAMERA_HOME, encoding="utf-8")
    soa = _soa(path)
    for control in ("7.3.2", "7.3.3", "7.3.6", "7.3.12"):
        assert soa[control].applicable, f"{control}: {soa[control].applicability_reason}"
        assert soa[control].status != "not_applicable"


def test_a_home_is_told_which_questions_are_for_the_maker(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(LOCAL_CAMERA_HOME, encoding="utf-8")
    soa = _soa(path)
    # secure development (7.2.8) is the developers' job; network use (7.2.14) is also the household's
    assert soa["7.2.8"].status == "unknown"
    assert soa["7.2.8"].questions and all(q.startswith("Ask the maker or service provider: ") for q in soa["7.2.8"].questions)
    assert soa["7.2.14"].questions and not any(q.startswith("Ask the maker") for q in soa["7.2.14"].questions)


def test_a_product_keeps_its_developer_questions_and_judges_applicability_on_its_personas(tmp_path: Path) -> None:
    path = tmp_path / "product.yaml"
    path.write_text(THERMOMETER_PRODUCT, encoding="utf-8")
    soa = _soa(path)
    assert soa["7.2.8"].questions and not any(q.startswith("Ask the maker") for q in soa["7.2.8"].questions)
    assert not soa["7.1.6"].applicable
    assert "sample users and devices the product model lists" in soa["7.1.6"].applicability_reason
    # a thermometer holds no personal data: the privacy-by-default item does not apply
    assert not soa["7.3.2"].applicable


def test_a_building_with_several_households_is_judged_as_a_home() -> None:
    soa = _soa(ROOT / "tests" / "scenarios" / "apartment-wallpad.yaml")
    assert soa["7.3.2"].applicable
    assert soa["7.2.4"].questions and all(q.startswith("Ask the maker or service provider: ") for q in soa["7.2.4"].questions)


def test_a_declared_failure_is_not_unknown(tmp_path: Path) -> None:
    """A product that states its firmware is not signature-checked, before its update path is decided."""
    path = tmp_path / "product.yaml"
    path.write_text(THERMOMETER_PRODUCT.replace("data: [environment]}", "data: [environment], update: {signed: false}}"), encoding="utf-8")
    soa = _soa(path)
    assert soa["7.2.17"].status == "not_implemented", soa["7.2.17"].status_reason
    assert soa["7.2.17"].findings


SMART_PLUG_PRODUCT = """\
domosec: 1
system: {id: plug, name: Smart plug with energy history, kind: product, lifecycle_stage: design}
users: [{id: persona, role: resident, admin: true}]
devices:
  - {id: plug, type: lighting_plug, sensors: [power], data: [usage_patterns], update: {mechanism: automatic, signed: true}}
"""


def test_a_products_single_persona_does_not_make_the_household_items_inapplicable(tmp_path: Path) -> None:
    """One persona in a product model is a sample: the homes the plug is sold to have several people and visitors."""
    path = tmp_path / "product.yaml"
    path.write_text(SMART_PLUG_PRODUCT, encoding="utf-8")
    soa = _soa(path)
    for control in ("7.3.5", "7.1.7"):
        assert soa[control].applicable, f"{control}: {soa[control].applicability_reason}"
    # the same plug in a flat where one person lives alone: the household's composition is a fact there
    home = tmp_path / "home.yaml"
    home.write_text(SMART_PLUG_PRODUCT.replace("kind: product, lifecycle_stage: design", "kind: deployment"), encoding="utf-8")
    assert not _soa(home)["7.1.7"].applicable


def test_a_product_without_personal_data_is_not_said_to_have_a_single_user(tmp_path: Path) -> None:
    path = tmp_path / "product.yaml"
    path.write_text(THERMOMETER_PRODUCT, encoding="utf-8")
    soa = _soa(path)
    for control in ("7.3.5", "7.1.7"):
        assert not soa[control].applicable
        reason = soa[control].applicability_reason
        assert "single user" not in reason and "handles no personal data" in reason, reason


def test_a_building_shows_the_gaps_its_model_states_and_asks_the_rest() -> None:
    """The wall-pad complex: firewall off, no intrusion detection, a wall pad that cannot be updated, video in clear."""
    soa = _soa(ROOT / "tests" / "scenarios" / "apartment-wallpad.yaml")
    for control in ("7.2.14", "7.2.17", "7.2.12", "7.2.15", "7.3.2"):
        assert soa[control].status == "not_implemented", (control, soa[control].status_reason)
        assert soa[control].findings
    # nothing in the model says how the maker develops the wall pad's firmware: a question for the maker
    assert soa["7.2.8"].status == "unknown"
    assert all(q.startswith("Ask the maker or service provider: ") for q in soa["7.2.8"].questions)
    # no child and no content service in the model
    assert soa["7.1.6"].status == "not_applicable"


def test_a_stated_failure_in_a_home_is_not_unknown(tmp_path: Path) -> None:
    """A home whose camera is stated to take unsigned updates: 7.2.17 is not met, with the finding that shows it."""
    path = tmp_path / "home.yaml"
    path.write_text(
        LOCAL_CAMERA_HOME.replace("retention_days: 30}}", "retention_days: 30}, update: {mechanism: via_app, signed: false}}"),
        encoding="utf-8",
    )
    soa = _soa(path)
    assert soa["7.2.17"].status == "not_implemented", soa["7.2.17"].status_reason
    assert soa["7.2.17"].findings
