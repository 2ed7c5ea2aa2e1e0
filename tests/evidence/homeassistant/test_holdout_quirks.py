"""Quirks found on the hold-out configurations (bench/ha_holdout.txt), each reproduced on our own minimal fixture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domosec.evidence.homeassistant import import_homeassistant
from tests.conftest import run_cli
from tests.evidence.homeassistant.helpers import QUIRKS, by_id, copy_fixture

GIT_CRYPT = b"\x00GITCRYPT\x00" + bytes(range(256))
"""How git-crypt writes a file it encrypts: the header, then ciphertext (not UTF-8)."""


def _add_devices(config: Path, *devices: dict[str, Any]) -> None:
    registry = config / ".storage" / "core.device_registry"
    envelope = json.loads(registry.read_text(encoding="utf-8"))
    for device in devices:
        envelope["data"]["devices"].append(
            {
                "area_id": None,
                "config_entries": [],
                "connections": [],
                "disabled_by": None,
                "entry_type": None,
                "identifiers": [],
                "manufacturer": None,
                "model": None,
                "name_by_user": None,
                "sw_version": None,
                "via_device_id": None,
                **device,
            }
        )
    registry.write_text(json.dumps(envelope), encoding="utf-8")


def test_a_store_encrypted_with_git_crypt_is_named_as_such(tmp_path: Path) -> None:
    config = copy_fixture(QUIRKS, tmp_path)
    (config / ".storage" / "core.device_registry").write_bytes(GIT_CRYPT)
    result = run_cli("import", "homeassistant", config)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert (
        f"{config}/.storage/core.device_registry: error[ha-encrypted]: is encrypted with git-crypt, so it cannot be read; "
        "nothing was imported (run 'git-crypt unlock' in the repository" in result.stderr
    )


def test_an_encrypted_secrets_file_is_a_warning_and_its_secrets_count_as_set(tmp_path: Path) -> None:
    config = copy_fixture(QUIRKS, tmp_path)
    (config / "secrets.yaml").write_bytes(GIT_CRYPT)
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  name: Quirk House\nhttp:\n  server_port: 8123\n  ssl_certificate: !secret cert\n  ssl_key: !secret key\n",
        encoding="utf-8",
    )
    result = import_homeassistant(config)
    assert [w.code for w in result.warnings] == ["ha-secrets-encrypted"]
    endpoint = result.model.gateways[0].endpoints[0]
    assert endpoint.protocol == "https"  # the certificate is set, as far as anyone can tell


def test_secrets_without_any_secrets_file_give_one_warning(tmp_path: Path) -> None:
    config = copy_fixture(QUIRKS, tmp_path)
    names = [f"token_{n}" for n in range(8)]
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  name: Quirk House\nnotify:\n" + "".join(f"  - api_key: !secret {name}\n" for name in names), encoding="utf-8"
    )
    missing = [w for w in import_homeassistant(config).warnings if w.code == "ha-secret-missing"]
    assert len(missing) == 1
    assert missing[0].render() == (
        f"{config}/configuration.yaml:4:14: warning[ha-secret-missing]: there is no secrets.yaml, so the 8 !secret reference(s) "
        "(token_0, token_1, token_2, token_3, token_4 and 3 more) are taken as not set (often kept out of version control; "
        "settings that depend on a secret (a certificate, a password) may be missed)"
    )
    # With a secrets.yaml, a name it lacks is still named where it is used.
    (config / "secrets.yaml").write_text("token_0: abc\n", encoding="utf-8")
    missing = [w for w in import_homeassistant(config).warnings if w.code == "ha-secret-missing"]
    assert len(missing) == 7 and "the secret 'token_1' is not defined in any secrets.yaml" in missing[0].render()


def test_a_colon_before_a_bracket_in_a_flow_mapping_reads_as_home_assistant_reads_it(tmp_path: Path) -> None:
    # PyYAML, Home Assistant's reader, takes `rgb_color:[0,63,255]` in a flow mapping as a key and a list; ruamel.yaml refuses it.
    config = copy_fixture(QUIRKS, tmp_path)
    (config / "automations.yaml").write_text(
        "- alias: Lights at start\n  trigger: {platform: homeassistant, event: start}\n"
        "  action:\n    - {service: light.turn_on, data: {rgb_color:[0,63,255], brightness: 63}}\n",
        encoding="utf-8",
    )
    with (config / "configuration.yaml").open("a", encoding="utf-8") as handle:
        handle.write("automation: !include automations.yaml\n")
    result = run_cli("import", "homeassistant", config)
    assert result.returncode == 0, result.stderr
    # Still refused where Home Assistant refuses it too, at its position.
    (config / "automations.yaml").write_text("- alias: [unclosed\n", encoding="utf-8")
    result = run_cli("import", "homeassistant", config)
    assert result.returncode == 2 and f"{config}/automations.yaml:2:1: error[ha-bad-yaml]: invalid YAML" in result.stderr


def test_the_second_channel_of_a_relay_does_not_make_the_relay_a_bridge(tmp_path: Path) -> None:
    config = copy_fixture(QUIRKS, tmp_path)
    relay = {"manufacturer": "FIBARO System", "model": "FGS223 Double Relay", "identifiers": [["zwave", "10"]]}
    _add_devices(
        config,
        {**relay, "id": "d20relay", "name": "Porch relay"},
        {**relay, "id": "d21relay2", "name": "Porch relay channel 2", "via_device_id": "d20relay"},
    )
    data = import_homeassistant(config).model.model_dump(mode="json", exclude_none=True)
    devices = by_id(data["devices"])
    assert devices["porch-relay"]["type"] == "lighting_plug" and devices["porch-relay"]["gateway"] == "home-assistant"
    assert devices["porch-relay-channel-2"]["gateway"] == "home-assistant"
    assert "porch-relay" not in by_id(data["gateways"])
    assert by_id(data["gateways"])["zigbee2mqtt-bridge"]["kind"] == "bridge"  # other makes still hang off their bridge


def test_a_qualified_identifier_key_names_the_integration(tmp_path: Path) -> None:
    # Without core.config_entries the integration comes from the identifiers: "homekit_controller:accessory-id" is homekit_controller.
    config = copy_fixture(QUIRKS, tmp_path)
    _add_devices(
        config,
        {
            "id": "d22shade",
            "name": "Study shade",
            "manufacturer": "Lutron Electronics Co., Inc",
            "model": "Lutron Motorized Shade/Drapery",
            "identifiers": [["homekit_controller:accessory-id", "aa:bb:cc:dd:ee:ff:1"]],
        },
    )
    shade = by_id(import_homeassistant(config).model.model_dump(mode="json", exclude_none=True)["devices"])["study-shade"]
    assert "Home Assistant device d22shade (homekit_controller, from its identifiers" in str(shade["provenance"])


def test_router_and_account_entries_of_older_releases(tmp_path: Path) -> None:
    # Before service entries existed, a Spotify account and a Pi-hole were plain registry devices; a UPnP device is the router.
    config = copy_fixture(QUIRKS, tmp_path)
    _add_devices(
        config,
        {
            "id": "d23spotify",
            "name": "Spotify",
            "manufacturer": "Spotify AB",
            "model": "Spotify premium",
            "identifiers": [["spotify", "x"]],
        },
        {"id": "d24pihole", "name": "Pi-hole", "manufacturer": "Pi-hole", "identifiers": [["pi_hole", "y"]]},
        {"id": "d25router", "name": "FRITZ!Box", "manufacturer": "AVM Berlin", "identifiers": [["upnp", "uuid:z"]]},
    )
    result = import_homeassistant(config)
    reasons = {d.ha_id: d.reason for d in result.dropped}
    assert reasons["d23spotify"] == "a Spotify account (a cloud service)"
    assert reasons["d24pihole"] == "a Pi-hole DNS filter (software on some computer)"
    devices = by_id(result.model.model_dump(mode="json", exclude_none=True)["devices"])
    assert devices["fritz-box"]["type"] == "network_equipment"  # no entities, no model: still the router, not a client


def test_yaml_nested_past_the_recursion_limit_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    config = copy_fixture(QUIRKS, tmp_path)
    (config / "configuration.yaml").write_text("group: " + "[" * 20_000 + "\n", encoding="utf-8")
    result = run_cli("import", "homeassistant", config)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{config}/configuration.yaml: error[ha-yaml-too-large]: the configuration nests deeper than 64 levels" in result.stderr
