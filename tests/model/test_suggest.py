"""`domosec validate --suggest` names the facts a valid model leaves out that a rule would read (issue 14)."""

from __future__ import annotations

from pathlib import Path

from domosec.model.load import load_model_text
from domosec.model.suggest import suggestions
from tests.conftest import run_cli

SILENT = """\
domosec: 1
system: {id: flat, name: Shared flat}
users:
  - {id: a, role: tenant, admin: true}
  - {id: b, role: tenant, left_on: 2026-05-31}
networks:
  - {id: rf, kind: rf433}
gateways:
  - {id: hub, kind: hub, remote_access: cloud_relay, credentials: [{kind: app}]}
devices:
  - {id: garage, type: other, networks: [rf], actuators: [door]}
  - {id: lock, type: lock}
  - {id: meter, type: energy, data: [energy_profile]}
services:
  - {id: utility, kind: energy_provider, sharing_purposes: [analytics]}
flows:
  - {id: f-meter, from: meter, to: utility, data: [energy_profile]}
"""

STATED = """\
domosec: 1
system: {id: flat, name: Shared flat, access_reviews: true}
users:
  - {id: a, role: tenant, admin: true}
  - {id: b, role: tenant, left_on: 2026-05-31, access_removed: true}
networks:
  - {id: rf, kind: rf433}
gateways:
  - {id: hub, kind: hub, remote_access: cloud_relay, credentials: [{kind: app, second_factor: true}]}
devices:
  - {id: garage, type: other, networks: [rf], actuators: [door], radio_code: rolling}
  - {id: lock, type: lock, ownership: {second_hand: false}}
  - {id: meter, type: energy, data: [energy_profile], reading_interval_s: 900, ownership: {second_hand: false}}
services:
  - {id: utility, kind: energy_provider, sharing_purposes: [analytics], consent_scope: per_purpose}
flows:
  - {id: f-meter, from: meter, to: utility, data: [energy_profile]}
"""


def test_each_fact_a_rule_would_read_is_named_where_it_is_missing() -> None:
    hints = suggestions(load_model_text(SILENT, "flat.yaml"))
    assert {(h.code, h.line) for h in hints} == {
        ("unstated-access-reviews", 2),
        ("unstated-access-removed", 5),
        ("unstated-second-factor", 9),
        ("unstated-radio-code", 11),
        ("unstated-ownership", 11),
        ("unstated-reading-interval", 13),
        ("unstated-consent-scope", 15),
    }
    assert all(h.severity == "warning" for h in hints)


def test_a_model_that_states_its_facts_gets_no_hint() -> None:
    assert suggestions(load_model_text(STATED, "flat.yaml")) == []


def test_validate_suggest_prints_the_hints_as_warnings_and_still_accepts_the_model(tmp_path: Path) -> None:
    path = tmp_path / "flat.yaml"
    path.write_text(SILENT, encoding="utf-8")
    result = run_cli("validate", "--suggest", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")
    assert f"{path}:2:9: warning[unstated-access-reviews]: several people use this home" in result.stderr
    assert "warning[unstated-radio-code]" in result.stderr
    plain = run_cli("validate", path)
    assert (plain.returncode, plain.stderr) == (0, "")


HOLIDAY_FLAT = """\
domosec: 1
system: {id: holiday, name: Holiday flat, access_reviews: true}
users:
  - {id: host, role: landlord, admin: true}
  - {id: guests, role: guest}
zones:
  - {id: living, kind: living}
  - {id: door, kind: entrance}
devices:
  - {id: cam, type: camera, zone: living, sensors: [camera], data: [video], ownership: {second_hand: false}}
  - {id: doorbell, type: intercom, zone: door, sensors: [camera], data: [video], ownership: {second_hand: false}}
services:
  - {id: cam-cloud, kind: cloud_backend, operator: Camera maker}
  - {id: partner, kind: cloud_backend}
flows:
  - {id: f-cam, from: cam, to: cam-cloud, data: [video]}
  - {id: f-partner, from: cam-cloud, to: partner, data: [video]}
"""


def test_cameras_where_visitors_come_and_onward_transfers_ask_for_the_facts_their_rules_read() -> None:
    """DEV-P20 needs the indoor camera's indicator and privacy mode; SVC-P20 needs who runs the receiving service."""
    hints = suggestions(load_model_text(HOLIDAY_FLAT, "holiday.yaml"))
    assert {(h.code, h.line) for h in hints} == {("unstated-visitor-privacy", 10), ("unstated-operator", 17)}
    stated = HOLIDAY_FLAT.replace(
        "data: [video], ownership: {second_hand: false}}\n  - {id: doorbell",
        ("data: [video], ownership: {second_hand: false}, privacy_features: {indicator: true, privacy_mode: true}}\n  - {id: doorbell"),
    ).replace("{id: partner, kind: cloud_backend}", "{id: partner, kind: cloud_backend, operator: Partner company}")
    assert suggestions(load_model_text(stated, "holiday.yaml")) == []


def test_a_hint_counts_in_plain_english() -> None:
    one = suggestions(load_model_text(SILENT, "flat.yaml"))
    (ownership,) = [h for h in one if h.code == "unstated-ownership"]
    assert ownership.message.startswith("2 locks, cameras, hubs or similar devices do not say whether they came"), ownership.message
    single = SILENT.replace("  - {id: meter, type: energy", "  - {id: meter, type: other")
    (ownership,) = [h for h in suggestions(load_model_text(single, "flat.yaml")) if h.code == "unstated-ownership"]
    assert ownership.message.startswith("1 lock, camera, hub or similar device does not say whether it came"), ownership.message
    assert "(s)" not in " ".join(h.message for h in one)


def test_a_visitors_lock_code_without_an_end_is_named_at_the_grant() -> None:
    text = """\
domosec: 1
system: {id: flat, name: Flat, access_reviews: true}
users:
  - {id: me, role: resident, devices: [lock]}
  - {id: cleaner, role: domestic_worker, devices: [lock, cam]}
  - {id: sitter, role: guest, devices: [{device: lock, expires: 2026-08-31}]}
devices:
  - {id: lock, type: lock, ownership: {second_hand: false}}
  - {id: cam, type: camera, ownership: {second_hand: false}}
"""
    hints = [h for h in suggestions(load_model_text(text, "flat.yaml")) if h.code == "unstated-grant-expiry"]
    assert [(h.line, h.col) for h in hints] == [(5, 52)]
    assert "'cleaner' holds a key or code to 'lock'" in hints[0].message
