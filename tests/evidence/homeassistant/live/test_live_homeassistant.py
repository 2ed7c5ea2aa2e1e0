"""Import a configuration directory that a real Home Assistant 2024.3.3 wrote.

``session.py`` runs in a network namespace of its own (``unshare --net``: only loopback, so
nothing Home Assistant tries to reach outside the machine is ever reached): it starts Mosquitto and
Home Assistant (from ``.venv-ha``, built by ``make ha-venv``) on free loopback ports, populates
Home Assistant through its own APIs (``ha_populate.py``: onboarding, TOTP for the owner, more
users, a long-lived token, areas, the ``demo`` integration, MQTT-discovered devices), and stops
both. The test then imports the directory Home Assistant left behind. A missing ``.venv-ha``,
Mosquitto or ``unshare`` fails the test: ``make test`` installs them (and runs as root in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_cli
from tests.evidence.homeassistant.helpers import by_id, load_yaml

pytestmark = pytest.mark.live

HERE = Path(__file__).resolve().parent
HA_VENV = Path(os.environ.get("DOMOSEC_HA_VENV", ROOT / ".venv-ha"))


@dataclass
class LiveHome:
    config: Path
    port: int
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def live_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHome]:
    hass = HA_VENV / "bin" / "hass"
    if not hass.exists():
        pytest.fail(f"{hass} is missing: run `make ha-venv` (part of `make test`)")
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists():
        pytest.fail("mosquitto is not installed: run `make system-deps` (part of `make test`)")
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare (util-linux) is missing: the live test runs Home Assistant in its own network namespace")
    config = tmp_path_factory.mktemp("live-ha") / "config"
    command = [
        unshare,
        "--net",
        str(HA_VENV / "bin" / "python"),
        str(HERE / "session.py"),
        "--config",
        str(config),
        "--hass",
        str(hass),
        "--mosquitto",
        mosquitto,
    ]
    session = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True
    )
    try:
        out, err = session.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(session.pid, signal.SIGKILL)
        out, err = session.communicate()
        pytest.fail(f"the live Home Assistant session did not end within 300 s:\n{err[-4000:]}")
    if session.returncode != 0:
        pytest.fail(f"the live Home Assistant session failed ({session.returncode}):\n{err[-4000:]}")
    result = json.loads(out)
    yield LiveHome(config, int(result["port"]), result["summary"])


def test_import_of_what_a_live_home_assistant_wrote(live_home: LiveHome, tmp_path: Path) -> None:
    """One test, so that Home Assistant starts once even when pytest-xdist spreads tests over workers."""
    model = tmp_path / "home.yaml"
    result = run_cli("import", "homeassistant", live_home.config, "-o", model)
    assert result.returncode == 0, result.stderr
    imported = (load_yaml(model.read_text(encoding="utf-8")), result.stderr, model)
    _check_users_and_their_second_factor(imported)
    _check_areas_devices_and_the_zigbee_bridge(imported, live_home)
    _check_exposure_and_cloud_flows(imported, live_home)
    _check_assessment_of_the_live_home(imported)
    _check_no_secret_of_the_live_home_leaves(imported, live_home)


def _check_users_and_their_second_factor(imported: tuple[dict[str, Any], str, Path]) -> None:
    data, summary, _ = imported
    users = by_id(data["users"])
    assert sorted(users) == ["mia", "olivia", "sam"]
    assert (users["olivia"]["admin"], users["olivia"]["mfa"]) == (True, True)  # TOTP set up through the API
    assert (users["sam"]["admin"], users["sam"]["mfa"]) == (True, False)
    assert (users["mia"]["admin"], users["mia"]["mfa"], users["mia"]["local_only"]) == (False, False, True)
    assert "1 system user(s): Home Assistant Content" in summary
    host = by_id(data["gateways"])["home-assistant"]
    assert host["firmware"] == "2024.3.3"
    tokens = [c["provenance"]["detail"] for c in host["credentials"] if c["kind"] == "api"]
    assert len(tokens) == 1 and tokens[0].startswith("long-lived access token 'Wall tablet' of Olivia Owner")


def _check_areas_devices_and_the_zigbee_bridge(imported: tuple[dict[str, Any], str, Path], live_home: LiveHome) -> None:
    data, summary, _ = imported
    zones = {z["id"]: z["kind"] for z in data["zones"]}
    assert zones == {
        "bathroom": "bathroom",
        "bedroom": "bedroom",
        "children_s_room": "children_room",
        "hallway": "hallway",
        "kitchen": "kitchen",
        "living_room": "living",
    }
    devices = by_id(data["devices"])
    camera = devices["nursery-camera"]
    assert (camera["type"], camera["zone"], camera["vendor"], camera["firmware"], camera["mac"]) == (
        "camera",
        "children_s_room",
        "Acme",
        "1.4.2",
        "02:00:00:aa:bb:01",
    )
    smoke = devices["hall-smoke-detector"]
    assert (smoke["type"], smoke["gateway"], smoke["networks"], smoke["sensors"]) == (
        "sensor_alarm",
        "zigbee2mqtt-bridge",
        ["zigbee"],
        ["smoke"],
    )
    assert by_id(data["gateways"])["zigbee2mqtt-bridge"]["kind"] == "bridge"
    assert devices["front-door-lock"]["type"] == "lock" and devices["front-door-lock"]["zone"] == "hallway"
    # The demo integration's devices, classified by their entities.
    assert devices["ecobee"]["type"] == "climate" and devices["living-room-window"]["actuators"] == ["motor"]
    assert len(devices) == len(live_home.summary["devices"]) - 2  # less the bridge and the Sun service entry
    assert "formats read:" in summary and "core.device_registry 1.5" in summary and "core.entity_registry 1.13" in summary


def _check_exposure_and_cloud_flows(imported: tuple[dict[str, Any], str, Path], live_home: LiveHome) -> None:
    data, _, _ = imported
    endpoint = by_id(data["gateways"])["home-assistant"]["endpoints"][0]
    assert (endpoint["protocol"], endpoint["port"], endpoint["exposure"], endpoint["tls"], endpoint["brute_force_protection"]) == (
        "http",
        live_home.port,
        "local",
        "none",
        True,
    )
    assert by_id(data["services"])["home-assistant-app"]["auth"]["mfa"] == "optional"
    # Onboarding added Met.no, Radio Browser and Google Translate: cloud integrations.
    flows = by_id(data["flows"])
    assert sorted(flows) == [
        "home-assistant-to-cloud-google-translate",
        "home-assistant-to-cloud-met",
        "home-assistant-to-cloud-radio-browser",
    ]
    assert all(f["provenance"]["detail"].startswith("inferred from iot_class cloud_") for f in flows.values())


def _check_assessment_of_the_live_home(imported: tuple[dict[str, Any], str, Path]) -> None:
    _, _, model = imported
    assessed = run_cli("assess", model, "--format", "json")
    assert assessed.returncode == 0, assessed.stderr
    findings = {(f["rule_id"], f["asset"]["id"]) for f in json.loads(assessed.stdout)["findings"]}
    assert ("SVC-S01", "sam") in findings and ("SVC-S01", "olivia") not in findings
    assert ("DEV-P01", "nursery-camera") in findings


def _check_no_secret_of_the_live_home_leaves(imported: tuple[dict[str, Any], str, Path], live_home: LiveHome) -> None:
    _, summary, model = imported
    storage = live_home.config / ".storage"
    auth = json.loads((storage / "auth").read_text())["data"]
    secrets = {t[k] for t in auth["refresh_tokens"] for k in ("token", "jwt_key")}
    secrets |= {u["password"] for u in json.loads((storage / "auth_provider.homeassistant").read_text())["data"]["users"]}
    secrets |= set(json.loads((storage / "auth_module.totp").read_text())["data"]["users"].values())
    assert len(secrets) >= 8
    text = model.read_text(encoding="utf-8") + summary
    assert [s for s in secrets if s in text] == []
