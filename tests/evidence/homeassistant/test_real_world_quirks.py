"""Quirks of real installations (bench/ha_corpus.txt), each reproduced by our own minimal fixture."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from domosec.evidence.homeassistant import import_homeassistant
from tests.conftest import run_cli
from tests.evidence.homeassistant.helpers import FAMILY, QUIRKS, by_id, copy_fixture, load_yaml


def _cli(config: Path, *extra: str) -> tuple[int, str, str]:
    result = run_cli("import", "homeassistant", config, *extra)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout, result.stderr


def _devices(config: Path) -> dict[str, dict[str, object]]:
    data = import_homeassistant(config).model.model_dump(mode="json", exclude_none=True)
    return by_id([*data["devices"], *data["gateways"]])


def test_devices_are_kept_when_config_entries_are_absent() -> None:
    devices = _devices(QUIRKS)
    assert not (QUIRKS / ".storage" / "core.config_entries").exists()
    assert {"kettle-socket", "kitchen-echo", "anna-s-iphone", "front-door-contact", "hall-smoke-detector", "zigbee2mqtt-bridge"} <= set(
        devices
    )
    # The integration comes from the identifiers and the entities' platforms, and the provenance says so.
    assert "(tuya, from its identifiers and entities: no core.config_entries" in str(devices["kettle-socket"]["provenance"])


def test_cloud_services_come_from_the_devices_when_config_entries_are_absent() -> None:
    data = import_homeassistant(QUIRKS).model.model_dump(mode="json", exclude_none=True)
    tuya = by_id(data["services"])["cloud-tuya"]
    assert "integration 'tuya' of 1 device(s) (no core.config_entries" in str(tuya["provenance"])
    flows = [f for f in data["flows"] if f["target"] == "cloud-tuya"]
    assert [f["source"] for f in flows] == ["kettle-socket"] and "energy_profile" in flows[0]["data"]


def test_every_device_left_out_has_a_reason_in_the_summary_and_with_v() -> None:
    result = import_homeassistant(QUIRKS)
    reasons = {d.ha_id: d.reason for d in result.dropped}
    assert reasons == {
        "d07scene": "a scene or script (software)",
        "d08browser": "a browser tab showing the Home Assistant dashboard",
        "d09plex": "a Plex media server or client session (software)",
        "d10service": "a service entry of an integration (not hardware)",
        "d11old": "disabled in Home Assistant",
    }
    registry = json.loads((QUIRKS / ".storage" / "core.device_registry").read_text(encoding="utf-8"))["data"]["devices"]
    details = [str(e.provenance.detail) for e in [*result.model.devices, *result.model.gateways] if e.provenance]
    imported = {d.split()[3] for d in details if d.startswith("Home Assistant device ")}
    assert {d["id"] for d in registry} == imported | set(reasons)  # nothing silent
    code, _, err = _cli(QUIRKS, "-v")
    assert code == 0
    assert "left out: 4 devices (a Plex media server or client session (software): 1;" in err
    assert "disabled in Home Assistant: 1)" in err and "1 service entry of integrations (not hardware)" in err
    assert "  left out device d08browser 'c5f90b3e-9358477f': a browser tab showing the Home Assistant dashboard" in err
    assert "  left out device" not in _cli(QUIRKS)[2]


def test_zero_devices_from_a_registry_that_has_some_is_an_error_unless_allowed(tmp_path: Path) -> None:
    config = copy_fixture(QUIRKS, tmp_path)
    registry = config / ".storage" / "core.device_registry"
    envelope = json.loads(registry.read_text(encoding="utf-8"))
    for device in envelope["data"]["devices"]:
        device["disabled_by"] = "user"
    registry.write_text(json.dumps(envelope), encoding="utf-8")
    code, out, err = _cli(config)
    assert code == 2 and out == ""
    assert (
        f"{registry}: error[ha-nothing-imported]: 0 devices imported from a registry of 10: "
        "left out 10 devices (disabled in Home Assistant: 10) (--allow-empty accepts an import without devices)"
    ) in err
    code, out, _ = _cli(config, "--allow-empty")
    assert code == 0 and "devices" not in load_yaml(out)


def test_types_come_from_primary_entities_and_the_product() -> None:
    devices = _devices(QUIRKS)
    # A "child lock" setting (entity_category config) does not make a socket a lock.
    assert devices["kettle-socket"]["type"] == "lighting_plug" and "access_events" not in devices["kettle-socket"].get("data", [])
    assert devices["kitchen-echo"]["type"] == "voice_assistant"  # a media_player, but an Echo
    assert devices["hall-smoke-detector"]["type"] == "sensor_alarm"
    phone = devices["anna-s-iphone"]
    assert phone["type"] == "other" and phone["data"] == ["location"]  # not sensor_alarm
    assert "a phone, tablet or computer with the Home Assistant companion app" in str(phone["provenance"])


def test_a_device_that_names_itself_as_via_device_is_not_a_bridge() -> None:
    devices = _devices(QUIRKS)
    assert "kind" not in devices["kitchen-echo"] and devices["kitchen-echo"]["gateway"] == "home-assistant"
    assert devices["zigbee2mqtt-bridge"]["kind"] == "bridge"


def test_zigbee2mqtt_and_legacy_zwave_devices_get_their_network() -> None:
    data = import_homeassistant(QUIRKS).model.model_dump(mode="json", exclude_none=True)
    devices = by_id(data["devices"])
    assert devices["front-door-contact"]["networks"] == ["zigbee"] and devices["front-door-contact"]["gateway"] == "zigbee2mqtt-bridge"
    assert devices["hall-smoke-detector"]["networks"] == ["zwave"]
    assert by_id(data["networks"])["zigbee"]["gateway"] == "zigbee2mqtt-bridge"


def test_missing_include_folder_is_empty_and_missing_include_file_is_a_warning_at_its_tag() -> None:
    code, out, err = _cli(QUIRKS)
    assert code == 0 and load_yaml(out)["devices"]
    assert f"{QUIRKS}/configuration.yaml:5:11: warning[ha-include-dir-missing]: the folder 'themes' does not exist; taken as empty" in err
    assert f"{QUIRKS}/configuration.yaml:6:8: warning[ha-include-missing]: the included file 'groups.yaml' does not exist" in err


@pytest.mark.parametrize("version", ["0.86.0", "0.118.5", "2021.12.10", "2026.11.0b1"])
def test_old_and_new_release_numbers_are_accepted(tmp_path: Path, version: str) -> None:
    config = copy_fixture(QUIRKS, tmp_path)
    (config / ".HA_VERSION").write_text(version + "\n", encoding="utf-8")
    result = import_homeassistant(config)
    assert not [w for w in result.warnings if w.code == "ha-bad-version-file"]
    assert result.model.gateways[0].firmware == version


def test_a_fifo_in_storage_is_refused_without_opening_it(tmp_path: Path) -> None:
    config = copy_fixture(QUIRKS, tmp_path)
    os.mkfifo(config / ".storage" / "core.config_entries")
    code, out, err = _cli(config)  # opening the FIFO would block forever: run_cli would time out
    assert code == 2 and out == ""
    assert "core.config_entries: error[ha-not-a-file]: is a named pipe (FIFO), not a regular file; it is not read" in err


def test_an_account_number_in_a_config_entry_title_stays_out(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    entries_file = config / ".storage" / "core.config_entries"
    envelope = json.loads(entries_file.read_text(encoding="utf-8"))
    envelope["data"]["entries"].append(
        {"entry_id": "0000000000000000000000000000ss01", "domain": "simplisafe", "title": "3141592", "source": "user", "disabled_by": None}
    )
    entries_file.write_text(json.dumps(envelope), encoding="utf-8")
    code, out, err = _cli(config)
    assert code == 0 and "cloud-simplisafe" in out
    assert "3141592" not in out and "3141592" not in err
