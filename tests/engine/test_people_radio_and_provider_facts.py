"""Rules reading the facts of issue 14 a home could not state before: people who left and access reviews,
radio replay protection and link-security levels, shared building gateways, and what a provider does with
customers' data and its own keys. Each test states a fact, or leaves it out, and checks what the household sees.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from domosec.assessment import Finding
from domosec.catalog.load import load_catalogue
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.errors import ModelError
from domosec.fleet.validate import validate_tables
from domosec.model.load import load_model
from domosec.model.normalise import normalise

AS_OF = dt.date(2026, 12, 1)
RULES = load_rules()


def _findings(tmp_path: Path, text: str, *rule_ids: str) -> list[Finding]:
    path = tmp_path / "home.yaml"
    path.write_text("domosec: 1\nsystem: {id: home, name: Home}\n" + text, encoding="utf-8")
    rules = [lr for lr in RULES if lr.rule.id in rule_ids]
    assert {lr.rule.id for lr in rules} == set(rule_ids)
    return list(assess([load_model(str(path))], rules, as_of=AS_OF).findings)


def _one(findings: list[Finding], asset: str) -> Finding:
    (found,) = [f for f in findings if f.asset.id == asset]
    return found


def test_a_former_partner_is_reported_on_each_service_that_still_has_their_account(tmp_path: Path) -> None:
    home = """
users:
  - {id: me, role: resident, admin: true, services: [lock-cloud, tv-cloud]}
  - {id: ex, role: resident, left_on: 2026-06-01, services: [lock-cloud, tv-cloud]}
devices:
  - {id: front-lock, type: lock, actuators: [lock]}
services:
  - {id: lock-cloud, kind: cloud_backend}
  - {id: tv-cloud, kind: content}
flows:
  - {id: f-lock, from: front-lock, to: lock-cloud, data: [access_events], encrypted: true}
"""
    findings = _findings(tmp_path, home, "SVC-S18")
    assert {f.asset.id for f in findings} == {"lock-cloud", "tv-cloud"}
    lock, tv = _one(findings, "lock-cloud"), _one(findings, "tv-cloud")
    # the account that opens the front door weighs one step more than the one that plays films
    assert lock.inherent.impact == tv.inherent.impact + 1
    assert "former resident 'ex'" in lock.reason and lock.confidence == "confirmed"


def test_a_former_user_whose_removal_is_unstated_is_asked_about_and_keeps_their_finding_id(tmp_path: Path) -> None:
    people = "users:\n  - {{id: me, role: resident, admin: true}}\n  - {{id: lodger, role: tenant, left_on: 2026-03-01{extra}}}\n"
    lock = "devices:\n  - {id: front-lock, type: lock, actuators: [lock]}\n"
    unverified = _one(_findings(tmp_path, people.format(extra="") + lock, "SVC-S18"), "lodger")
    assert unverified.is_unverified
    assert unverified.unverified is not None and unverified.unverified.facts == ["users[].access_removed"]
    confirmed = _one(_findings(tmp_path, people.format(extra=", access_removed: false") + lock, "SVC-S18"), "lodger")
    assert not confirmed.is_unverified and confirmed.id == unverified.id
    # without a camera, microphone or lock in the home nobody asks
    assert _findings(tmp_path, people.format(extra=""), "SVC-S18") == []


def _unreviewed(tmp_path: Path, users: str, reviews: str = "false") -> list[Finding]:
    path = tmp_path / "home.yaml"
    path.write_text(
        f"domosec: 1\nsystem: {{id: home, name: Home, access_reviews: {reviews}}}\n"
        + users
        + "services:\n  - {id: house-cloud, kind: cloud_backend}\n",
        encoding="utf-8",
    )
    rules = [lr for lr in RULES if lr.rule.id == "SVC-S19"]
    return list(assess([load_model(str(path))], rules, as_of=AS_OF).findings)


def test_unreviewed_access_names_the_service_with_several_accounts_else_the_home(tmp_path: Path) -> None:
    several = (
        "users:\n  - {id: a, role: tenant, admin: true, services: [house-cloud]}\n  - {id: b, role: tenant, services: [house-cloud]}\n"
    )
    assert [(f.asset.kind, f.asset.id) for f in _unreviewed(tmp_path, several)] == [("service", "house-cloud")]
    no_accounts = "users:\n  - {id: a, role: tenant, admin: true}\n  - {id: cleaner, role: domestic_worker}\n"
    assert [(f.asset.kind, f.asset.id) for f in _unreviewed(tmp_path, no_accounts)] == [("home", "home")]
    assert _unreviewed(tmp_path, several, reviews="true") == []


def test_a_lock_that_can_be_downgraded_is_one_step_less_likely_than_one_running_s0(tmp_path: Path) -> None:
    home = """
networks:
  - {id: zwave, kind: zwave, encryption: s2}
  - {id: zwave-old, kind: zwave, encryption: s0}
  - {id: zigbee, kind: zigbee}
devices:
  - {id: front, type: lock, networks: [zwave], actuators: [lock], link_security: {level: s2_access_control, lowest_accepted: s0}}
  - {id: back, type: lock, networks: [zwave-old], actuators: [lock]}
  - {id: alarm, type: sensor_alarm, networks: [zigbee]}
"""
    findings = _findings(tmp_path, home, "NET-S31")
    front, back, alarm = _one(findings, "front"), _one(findings, "back"), _one(findings, "alarm")
    assert back.inherent.likelihood == front.inherent.likelihood + 1
    assert "downgrade" in front.reason and "s0 of its network zwave-old" in back.reason
    # not stated anywhere: a question, rated medium, never high, for a safety device
    assert alarm.is_unverified and alarm.inherent.level == "medium"


def test_a_fixed_code_is_reported_on_the_radio_command_with_the_weight_of_the_device(tmp_path: Path) -> None:
    devices = """
networks:
  - {id: rf, kind: rf433, encryption: none}
devices:
  - {id: garage, type: other, networks: [rf], actuators: [door], radio_code: fixed}
  - {id: remote, type: other, networks: [rf]}
"""
    without_flow = _one(_findings(tmp_path, devices, "NET-S15"), "garage")
    flows = "flows:\n  - {id: f-open, from: remote, to: garage, via: [rf], data: [access_events]}\n"
    on_flow = _one(_findings(tmp_path, devices + flows, "NET-S15"), "f-open")
    assert without_flow.asset.kind == "device" and on_flow.asset.kind == "flow"
    assert on_flow.inherent.impact == without_flow.inherent.impact


def test_provider_facts_confirmed_are_findings_and_unstated_ones_are_questions(tmp_path: Path) -> None:
    home = """
users:
  - {id: parent, role: resident, admin: true}
  - {id: baby, role: child}
zones:
  - {id: nursery, kind: children_room}
devices:
  - {id: cot-cam, type: camera, zone: nursery, sensors: [camera, microphone], data: [video, audio]}
services:
  - {id: leaky-cloud, kind: cloud_backend, tenant_isolation: false}
  - {id: quiet-cloud, kind: cloud_backend}
flows:
  - {id: f-a, from: cot-cam, to: leaky-cloud, data: [video, audio], encrypted: true}
  - {id: f-b, from: cot-cam, to: quiet-cloud, data: [video, audio], encrypted: true}
"""
    findings = _findings(tmp_path, home, "SVC-P30")
    leaky, quiet = _one(findings, "leaky-cloud"), _one(findings, "quiet-cloud")
    assert not leaky.is_unverified and leaky.inherent.level in ("high", "critical")
    assert quiet.is_unverified and quiet.inherent.level == "medium"
    assert quiet.unverified is not None and quiet.unverified.facts == ["services[].tenant_isolation"]


def test_an_exposed_operator_credential_outranks_unmanaged_ones(tmp_path: Path) -> None:
    home = """
services:
  - {id: leaked, kind: cloud_backend, operator_secrets: {exposed: true}}
  - {id: careless, kind: cloud_backend, operator_secrets: {managed: false}}
  - {id: unknown, kind: cloud_backend}
"""
    findings = _findings(tmp_path, home, "SVC-S30")
    assert {f.asset.id for f in findings} == {"leaked", "careless"}
    assert _one(findings, "leaked").inherent.likelihood == _one(findings, "careless").inherent.likelihood + 2


SHARED = """
users:
  - {id: me, role: resident, admin: true}
  - {id: nanny, role: domestic_worker, left_on: 2026-09-30, devices: [nursery-cam, front-lock]}
zones:
  - {id: nursery, kind: children_room}
devices:
  - {id: nursery-cam, type: camera, zone: nursery, sensors: [camera], data: [video]}
  - {id: front-lock, type: lock, actuators: [lock]}
"""


def test_a_camera_or_lock_shared_directly_with_someone_who_left_is_reported_on_the_device(tmp_path: Path) -> None:
    findings = _findings(tmp_path, SHARED, "DEV-P30", "DEV-S30")
    assert {(f.rule_id, f.asset.id) for f in findings} == {("DEV-P30", "nursery-cam"), ("DEV-S30", "front-lock")}
    assert "a direct share" in _one(findings, "nursery-cam").reason
    removed = SHARED.replace("left_on: 2026-09-30,", "left_on: 2026-09-30, access_removed: true,")
    assert _findings(tmp_path, removed, "DEV-P30", "DEV-S30") == []


def test_a_share_naming_a_device_the_model_lacks_is_refused_by_the_file_and_the_fleet_checks(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text("domosec: 1\nsystem: {id: home, name: Home}\n" + SHARED.replace("front-lock]", "back-lock]"), encoding="utf-8")
    with pytest.raises(ModelError) as err:
        load_model(str(path))
    assert "users[1].devices[1]: device 'back-lock' is not defined" in str(err.value)

    path.write_text("domosec: 1\nsystem: {id: home, name: Home}\n" + SHARED, encoding="utf-8")
    tables = normalise([(load_model(str(path)).model, str(path))])
    rows = json.loads(json.dumps(tables["user_devices"].to_pylist()))
    assert [(r["user_id"], r["device_id"]) for r in rows] == [("nanny", "nursery-cam"), ("nanny", "front-lock")]
    broken = [{**r, "device_id": "back-lock"} if r["device_id"] == "front-lock" else r for r in rows]
    tables["user_devices"] = pa.Table.from_pylist(broken, schema=tables["user_devices"].schema)
    _, rejects, _ = validate_tables(tables, load_catalogue())
    assert [r.home_id for r in rejects] == ["home"]
    assert any("users[nanny].devices" in reason and "back-lock" in reason for reason in rejects[0].reasons), rejects[0].reasons
