"""Importing the committed configuration directories of four Home Assistant releases (2024.3 to 2026.11)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domosec.evidence.homeassistant import import_homeassistant
from tests.evidence.homeassistant.helpers import (
    ALL_FIXTURES,
    FAMILY,
    REGISTRY_1_12,
    REGISTRY_3_2,
    REGISTRY_3_4,
    by_id,
    copy_fixture,
    load_yaml,
)


def _imported(path: Any) -> dict[str, Any]:
    return load_yaml(import_homeassistant(path).text)


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=lambda p: p.name)
def test_every_release_imports_into_a_model_that_validates_with_imported_provenance(fixture: Any) -> None:
    result = import_homeassistant(fixture)
    data = load_yaml(result.text)
    assert result.model.system.kind == "deployment"
    for section in ("users", "zones", "networks", "gateways", "devices", "services", "flows"):
        for element in data.get(section, []):
            assert element["provenance"]["source"] == "imported", (section, element["id"])
    assert not [w for w in result.warnings if w.code == "ha-unknown-version"]


def test_family_home_2024_3_devices_bridges_and_zones() -> None:
    data = _imported(FAMILY)
    assert data["system"] == {
        "id": "berger-home",
        "name": "Berger Home",
        "kind": "deployment",
        "description": "Imported from the configuration of Home Assistant 2024.3.3 by domosec import homeassistant.",
        "jurisdiction": "DE",
    }
    devices = by_id(data["devices"])
    assert sorted(devices) == ["bedroom-camera", "front-door", "front-door-lock", "kids-room-sensor", "kitchen-plug", "living-room-lamp"]
    cam = devices["bedroom-camera"]
    assert (cam["type"], cam["zone"], cam["sensors"], cam["vendor"]) == ("camera", "schlafzimmer", ["camera", "motion"], "Google Nest")
    assert set(cam["data"]) == {"video", "presence"}
    assert devices["front-door-lock"]["type"] == "lock" and devices["front-door-lock"]["actuators"] == ["lock"]
    assert devices["front-door-lock"]["mac"] == "54:d2:72:44:55:66"
    assert devices["kitchen-plug"]["firmware"] == "20230913-112234/v1.14.0-gcb84623"
    # Devices behind the Hue bridge hang off it, over Zigbee; the bridge is a gateway, not a device.
    bridge = by_id(data["gateways"])["hue-bridge"]
    assert bridge["kind"] == "bridge" and bridge["networks"] == ["home-lan", "zigbee"]
    assert devices["living-room-lamp"]["gateway"] == "hue-bridge" and devices["living-room-lamp"]["networks"] == ["zigbee"]
    assert devices["kids-room-sensor"]["sensors"] == ["light", "motion", "temperature"]
    assert by_id(data["networks"])["zigbee"]["gateway"] == "hue-bridge"
    # The disabled plug and the service entries (Forecast, Sun) are not hardware in the home.
    assert "old-plug" not in devices and "forecast" not in devices
    zones = {z["id"]: z["kind"] for z in data["zones"]}
    assert zones == {
        "flur": "hallway",
        "kinderzimmer": "children_room",
        "kueche": "kitchen",
        "schlafzimmer": "bedroom",
        "wohnzimmer": "living",
    }


def test_family_home_users_mfa_tokens_and_exposure() -> None:
    data = _imported(FAMILY)
    users = by_id(data["users"])
    assert sorted(users) == ["anna", "mia"]  # system users (Supervisor, Home Assistant Content) are not people
    assert (users["anna"]["admin"], users["anna"]["mfa"], users["anna"]["role"]) == (True, False, "admin")
    assert (users["mia"]["admin"], users["mia"]["mfa"], users["mia"]["local_only"]) == (False, True, True)
    host = by_id(data["gateways"])["home-assistant"]
    assert host["firmware"] == "2024.3.3"
    lan, remote = host["endpoints"]
    assert (lan["protocol"], lan["port"], lan["exposure"], lan["tls"], lan["brute_force_protection"]) == ("http", 8123, "lan", "none", True)
    assert (remote["protocol"], remote["exposure"]) == ("https", "internet")
    assert host["remote_access"] == "cloud_relay"
    tokens = [c for c in host["credentials"] if c["kind"] == "api"]
    assert [t["provenance"]["detail"] for t in tokens] == [
        "long-lived access token 'Grafana' of Anna Berger, created 2024-01-05, last used 2024-03-21",
        "long-lived access token 'Wall tablet' of Mia Berger, created 2024-02-11, never used",
    ]
    app = by_id(data["services"])["home-assistant-app"]
    assert app["auth"] == {"per_member_accounts": True, "brute_force_protection": True, "mfa": "optional"}
    assert users["anna"]["services"] == ["home-assistant-app"]


def test_family_home_cloud_integrations_become_services_with_inferred_flows() -> None:
    data = _imported(FAMILY)
    services = by_id(data["services"])
    assert sorted(services) == ["cloud-met", "cloud-nest", "cloud-ring", "google-assistant", "home-assistant-app", "nabu-casa"]
    assert "cloud_push" in services["cloud-nest"]["provenance"]["detail"]
    assert services["nabu-casa"]["linked_accounts"] == [{"service": "google-assistant"}]
    flows = by_id(data["flows"])
    cam_flow = flows["bedroom-camera-to-cloud-nest"]
    assert (cam_flow["from"], cam_flow["to"]) == ("bedroom-camera", "cloud-nest")
    assert "video" in cam_flow["data"]
    assert cam_flow["provenance"]["detail"].startswith("inferred from iot_class cloud_push")
    assert flows["home-assistant-to-cloud-met"]["data"] == ["location", "telemetry"]
    # Hue, Shelly and Nuki are local integrations: their devices get no flow to a cloud.
    assert sorted(flows) == [
        "bedroom-camera-to-cloud-nest",
        "front-door-to-cloud-ring",
        "home-assistant-to-cloud-met",
        "home-assistant-to-nabu-casa",
        "nabu-casa-to-google-assistant",
    ]


def test_device_registry_1_12_with_notify_mfa_tls_from_secrets_and_reverse_proxy() -> None:
    result = import_homeassistant(REGISTRY_1_12)
    data = load_yaml(result.text)
    devices = by_id(data["devices"])
    assert devices["hallway-smoke-alarm"]["type"] == "sensor_alarm"
    assert devices["hallway-smoke-alarm"]["gateway"] == "skyconnect" and devices["hallway-smoke-alarm"]["networks"] == ["zigbee"]
    assert devices["bathroom-leak-sensor"]["networks"] == ["thread"] and devices["bathroom-leak-sensor"]["sensors"] == ["water"]
    assert devices["bedroom-thermostat"]["zone"] == "master_bedroom" and devices["bedroom-thermostat"]["type"] == "climate"
    assert sorted(by_id(data["gateways"])) == ["home-assistant", "skyconnect", "tado-internet-bridge"]
    assert by_id(data["users"])["noor"]["mfa"] is True  # the notify module counts as a second factor
    assert by_id(data["users"])["guest"]["mfa"] is False
    endpoint = by_id(data["gateways"])["home-assistant"]["endpoints"][0]
    assert (endpoint["protocol"], endpoint["tls"], endpoint["exposure"], endpoint["brute_force_protection"]) == (
        "https",
        "tls1.2",
        "lan",
        False,
    )
    assert "reverse proxy (trusted proxies: 192.168.2.1)" in endpoint["provenance"]["detail"]
    assert by_id(data["flows"])["bedroom-thermostat-to-cloud-tado"]["to"] == "cloud-tado"


@pytest.mark.parametrize("fixture", [REGISTRY_3_2, REGISTRY_3_4], ids=lambda p: p.name)
def test_device_registry_3_merges_split_devices_and_reads_http_storage(fixture: Any) -> None:
    data = _imported(fixture)
    devices = by_id(data["devices"])
    # The plug that Shelly and BTHome shared was split in 2026.8; it is still one piece of hardware.
    plug = devices["sauna-plug"]
    assert plug["networks"] == ["ble", "home-lan"] and plug["sensors"] == ["power", "temperature"]
    assert "99999999999999999999999999999999 (bthome, shelly" in plug["provenance"]["detail"]
    assert devices["bunk-room-camera"]["zone"] == "bunk_room"
    assert {z["id"]: z["kind"] for z in data["zones"]}["bunk_room"] == "bedroom"
    assert devices["cabin-door"]["networks"] == ["zwave"] and by_id(data["networks"])["zwave"]["gateway"] == "home-assistant"
    assert by_id(data["zones"])["porch"]["provenance"]["detail"] == "area 'porch' on floor 'Ground floor'"
    # Since 2026.8 the HTTP settings live in .storage/http; the pending configuration is the one running.
    endpoint = by_id(data["gateways"])["home-assistant"]["endpoints"][0]
    assert (endpoint["protocol"], endpoint["port"], endpoint["exposure"], endpoint["tls"]) == ("https", 8443, "lan", "tls1.2")
    assert "pending configuration" in endpoint["provenance"]["detail"]
    assert by_id(data["flows"])["bunk-room-camera-to-cloud-blink"]["data"] == ["telemetry", "video"]


def test_device_registry_3_4_child_devices_belong_to_their_parent() -> None:
    data = _imported(REGISTRY_3_4)
    lock = by_id(data["devices"])["cabin-door"]
    assert "event" in lock["provenance"]["detail"]  # the keypad child device's event entity
    assert "keypad" not in by_id(data["devices"])


def test_devices_sharing_a_name_get_stable_distinct_ids(tmp_path: Any) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    registry = config / ".storage" / "core.device_registry"
    envelope = json.loads(registry.read_text(encoding="utf-8"))
    for device in envelope["data"]["devices"]:
        if device["name"] in ("Kitchen plug", "Front door lock"):
            device["name"] = "Plug"
    registry.write_text(json.dumps(envelope), encoding="utf-8")
    first = sorted(by_id(_imported(config)["devices"]))
    envelope["data"]["devices"].reverse()
    registry.write_text(json.dumps(envelope), encoding="utf-8")
    assert sorted(by_id(_imported(config)["devices"])) == first
    # Each gets a suffix from its Home Assistant device ID, whatever the order of the registry.
    assert [i for i in first if i.startswith("plug")] == ["plug-0bf64e", "plug-31bd42"]
