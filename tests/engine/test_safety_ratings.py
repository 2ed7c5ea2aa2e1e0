"""Radio and login weaknesses are rated by what they guard (issue 14, point 3): a lock is not a lamp."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from domosec.assessment import Finding
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model

RULES = load_rules()

S0_HOME = """\
domosec: 1
system: {id: s0-home, name: Flat with an older Z-Wave kit}
networks:
  - {id: zwave-door, kind: zwave, encryption: s0, gateway: hub}
  - {id: zwave-lights, kind: zwave, encryption: s0, gateway: hub}
gateways:
  - {id: hub, kind: hub, networks: [zwave-door, zwave-lights], support_end: 2030-12-31}
devices:
  - {id: door-lock, type: lock, networks: [zwave-door], gateway: hub, actuators: [lock]}
  - {id: lamp, type: lighting_plug, networks: [zwave-lights], gateway: hub, actuators: [light]}
"""


def _findings(tmp_path: Path, text: str, rule_id: str) -> dict[str, Finding]:
    path = tmp_path / "home.yaml"
    path.write_text(text, encoding="utf-8")
    result = assess([load_model(str(path))], RULES, as_of=dt.date(2026, 12, 1))
    return {f.asset.id: f for f in result.findings if f.rule_id == rule_id}


def test_a_lock_on_a_network_whose_key_is_sent_under_a_known_key_rates_high(tmp_path: Path) -> None:
    found = _findings(tmp_path, S0_HOME, "NET-S05")
    assert found["zwave-door"].inherent.level == "high", found["zwave-door"].rating_reason
    assert "door-lock" in found["zwave-door"].reason
    assert found["zwave-lights"].inherent.level == "medium"


CAMERA_CLOUDS = """\
domosec: 1
system: {id: clouds, name: Flat with two camera clouds}
users:
  - {id: ana, role: resident, admin: true, mfa: false, services: [optional-cloud, no-mfa-cloud]}
networks:
  - {id: wifi, kind: wifi, encryption: wpa2}
  - {id: wan, kind: wan, internet: true}
devices:
  - {id: cam-a, type: camera, networks: [wifi], sensors: [camera], data: [video]}
  - {id: cam-b, type: camera, networks: [wifi], sensors: [camera], data: [video]}
services:
  - {id: optional-cloud, kind: cloud_backend, auth: {mfa: optional}}
  - {id: no-mfa-cloud, kind: cloud_backend, auth: {mfa: none}}
flows:
  - {id: f-a, from: cam-a, to: optional-cloud, via: [wifi, wan], data: [video], encrypted: true}
  - {id: f-b, from: cam-b, to: no-mfa-cloud, via: [wifi, wan], data: [video], encrypted: true}
"""


def test_an_optional_second_factor_nobody_uses_is_reported_one_step_below_none(tmp_path: Path) -> None:
    found = _findings(tmp_path, CAMERA_CLOUDS, "SVC-S02")
    assert set(found) == {"optional-cloud", "no-mfa-cloud"}
    assert found["optional-cloud"].inherent.likelihood == found["no-mfa-cloud"].inherent.likelihood - 1
    # the administrator is reported for both accounts, in one finding that says so in plain words
    (admin,) = _findings(tmp_path, CAMERA_CLOUDS, "SVC-S01").values()
    assert "signs in with a password alone to 1 account that offers a second factor: optional-cloud, and to 1 account" in admin.reason
    assert "1 account that offers no second factor at all: no-mfa-cloud" in admin.reason
    assert "(s)" not in admin.reason
