"""Issue 14: access to a device that ends and is reviewed (users[].devices as grants), and people who need
extra protection beyond children and the elderly (vulnerable, needs, other_roles). Each test states a fact,
or leaves it out, and checks what the household sees, on one model and through the fleet tables.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from domosec.assessment import Finding
from domosec.catalog.load import load_catalogue
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.errors import ModelError
from domosec.fleet.models import models_from_tables
from domosec.fleet.validate import validate_tables
from domosec.model.elements import SystemModel
from domosec.model.load import load_model
from domosec.model.normalise import normalise

AS_OF = dt.date(2026, 12, 1)
RULES = load_rules()


def _path(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "home.yaml"
    path.write_text("domosec: 1\nsystem: {id: home, name: Home}\n" + text, encoding="utf-8")
    return path


def _findings(tmp_path: Path, text: str, *rule_ids: str) -> list[Finding]:
    rules = [lr for lr in RULES if lr.rule.id in rule_ids]
    assert {lr.rule.id for lr in rules} == set(rule_ids)
    return list(assess([load_model(str(_path(tmp_path, text)))], rules, as_of=AS_OF).findings)


LOCK = "devices:\n  - {id: front-lock, type: lock, actuators: [lock]}\n"


def test_a_cleaners_permanent_code_is_reported_until_someone_reviews_it(tmp_path: Path) -> None:
    def grant(extra: str) -> str:
        return "users:\n  - {id: cleaner, role: domestic_worker, devices: [{device: front-lock" + extra + "}]}\n" + LOCK

    (stale,) = _findings(tmp_path, grant(", never_expires: true, last_reviewed: 2025-06-30"), "DEV-S60")
    assert stale.asset.id == "front-lock" and not stale.is_unverified
    assert "last reviewed on 2025-06-30" in stale.reason
    assert _findings(tmp_path, grant(", never_expires: true, last_reviewed: 2026-06-30"), "DEV-S60") == []
    (ended,) = _findings(tmp_path, grant(", expires: 2026-11-30"), "DEV-S60")
    assert "ended on 2026-11-30" in ended.reason
    assert _findings(tmp_path, grant(", expires: 2026-12-31"), "DEV-S60") == []


def test_a_plain_grant_to_a_lock_is_asked_about_and_keeps_its_finding_id(tmp_path: Path) -> None:
    plain = "users:\n  - {id: guest, role: guest, devices: [front-lock]}\n" + LOCK
    (asked,) = _findings(tmp_path, plain, "DEV-S60")
    assert asked.is_unverified and asked.unverified is not None
    assert "users[].devices[].expires" in asked.unverified.facts
    stated = "users:\n  - {id: guest, role: guest, devices: [{device: front-lock, never_expires: true}]}\n" + LOCK
    (confirmed,) = _findings(tmp_path, stated, "DEV-S60")
    assert not confirmed.is_unverified and confirmed.id == asked.id
    # a resident's own key, and a visitor's share of a lamp, raise no question
    others = "users:\n  - {id: me, role: resident, devices: [front-lock]}\n  - {id: guest, role: guest, devices: [lamp]}\n"
    assert _findings(tmp_path, others + LOCK + "  - {id: lamp, type: lighting_plug}\n", "DEV-S60") == []


def test_grants_survive_the_fleet_tables(tmp_path: Path) -> None:
    home = (
        "users:\n  - {id: carer, role: carer, devices: [{device: front-lock, never_expires: true, last_reviewed: 2026-02-01},"
        " cam]}\n" + LOCK + "  - {id: cam, type: camera}\n"
    )
    model = load_model(str(_path(tmp_path, home))).model
    tables = normalise([(model, "home.yaml")])
    rows = tables["user_devices"].to_pylist()
    assert [(r["device_id"], r["never_expires"], r["last_reviewed"]) for r in rows] == [
        ("front-lock", True, dt.date(2026, 2, 1)),
        ("cam", None, None),
    ]
    _, rejects, _ = validate_tables(tables, load_catalogue())
    assert rejects == []
    (rebuilt,) = models_from_tables(tables)
    assert SystemModel.model_validate(rebuilt).users[0].devices == model.users[0].devices


PRIVATE_CAMERA = """
zones:
  - {id: bedroom, kind: bedroom}
devices:
  - {id: cam, type: camera, zone: bedroom, sensors: [camera], data: [video]}
services:
  - {id: cam-cloud, kind: cloud_backend}
flows:
  - {id: f, from: cam, to: cam-cloud, data: [video], encrypted: true}
"""


def _vulnerable_flag(tmp_path: Path, user: str) -> bool:
    tables = normalise([(load_model(str(_path(tmp_path, f"users:\n  - {user}\n"))).model, "home.yaml")])
    return bool(tables["users"].to_pylist()[0]["is_vulnerable"])


def test_needs_an_explicit_flag_or_a_second_role_make_a_person_vulnerable(tmp_path: Path) -> None:
    assert _vulnerable_flag(tmp_path, "{id: a, role: resident, needs: [cognitive]}")
    assert _vulnerable_flag(tmp_path, "{id: a, role: resident, vulnerable: true}")
    assert _vulnerable_flag(tmp_path, "{id: a, role: guest, other_roles: [child]}")
    assert not _vulnerable_flag(tmp_path, "{id: a, role: elderly, vulnerable: false}")
    assert not _vulnerable_flag(tmp_path, "{id: a, role: resident}")


def test_a_resident_with_a_disability_weighs_privacy_findings_like_a_child_does(tmp_path: Path) -> None:
    def impacts(user: str) -> dict[str, int]:
        findings = assess([load_model(str(_path(tmp_path, f"users:\n  - {user}\n" + PRIVATE_CAMERA)))], RULES, as_of=AS_OF).findings
        return {f.key: f.inherent.impact for f in findings if f.dimension == "privacy"}

    plain = impacts("{id: me, role: resident}")
    needs = impacts("{id: me, role: resident, vulnerable: true, needs: [disability, dependency]}")
    assert plain and needs.keys() == plain.keys()
    assert any(needs[k] > plain[k] for k in plain)


def test_a_visiting_child_counts_as_a_child_for_the_child_rules(tmp_path: Path) -> None:
    oven = "  - {id: oven, type: appliance, actuators: [oven], fail_safe: {child_lock: false}}\n"
    visiting = "users:\n  - {id: me, role: resident}\n  - {id: niece, role: guest, other_roles: [child]}\ndevices:\n" + oven
    (found,) = _findings(tmp_path, visiting, "DEV-S18")
    assert found.asset.id == "oven"
    adults = "users:\n  - {id: me, role: resident}\n  - {id: friend, role: guest}\ndevices:\n" + oven
    assert _findings(tmp_path, adults, "DEV-S18") == []


BRIDGED = """
gateways:
  - id: hub
    kind: home_server
    bridges:
      - {service: broker, topics: all, direction: both, authentication: password, tls: true}
devices:
  - {id: front-lock, type: lock, gateway: hub, actuators: [lock]}
services:
  - {id: broker, kind: cloud_backend}
"""


def test_a_bridge_that_lets_every_topic_in_is_reported_and_survives_the_fleet_tables(tmp_path: Path) -> None:
    (found,) = _findings(tmp_path, BRIDGED, "GW-S60")
    assert found.asset.id == "hub" and not found.is_unverified
    assert "every topic let in" in found.reason and "safety-relevant devices connect through it" in found.reason
    assert _findings(tmp_path, BRIDGED.replace("topics: all, direction: both", "topics: selected, direction: out"), "GW-S60") == []
    model = load_model(str(_path(tmp_path, BRIDGED))).model
    tables = normalise([(model, "home.yaml")])
    assert validate_tables(tables, load_catalogue())[1] == []
    (rebuilt,) = models_from_tables(tables)
    assert SystemModel.model_validate(rebuilt).gateways[0].bridges == model.gateways[0].bridges


AUTOMATED = """
users:
  - {id: owner, role: resident}
devices:
  - {id: front-lock, type: lock, actuators: [lock]}
automations:
  - {name: Auto-unlock, trigger: ble_presence, source: owner, target: front-lock, action: unlock}
"""


def test_auto_unlock_on_bluetooth_presence_is_reported_until_someone_confirms_it(tmp_path: Path) -> None:
    (found,) = _findings(tmp_path, AUTOMATED, "DEV-S61")
    assert found.asset.id == "front-lock" and not found.is_unverified
    assert "seen over Bluetooth" in found.reason
    assert _findings(tmp_path, AUTOMATED.replace("action: unlock}", "action: unlock, confirmation: true}"), "DEV-S61") == []
    # locking when a phone leaves is the safe direction
    assert _findings(tmp_path, AUTOMATED.replace("action: unlock", "action: lock"), "DEV-S61") == []
    model = load_model(str(_path(tmp_path, AUTOMATED))).model
    tables = normalise([(model, "home.yaml")])
    assert validate_tables(tables, load_catalogue())[1] == []
    (rebuilt,) = models_from_tables(tables)
    assert SystemModel.model_validate(rebuilt).automations == model.automations


def test_an_automation_must_drive_a_device_of_the_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        load_model(str(_path(tmp_path, AUTOMATED.replace("target: front-lock", "target: back-lock"))))
    assert "automations[0].target: device 'back-lock' is not defined" in str(err.value)
