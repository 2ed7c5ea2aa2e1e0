"""Populate a freshly started Home Assistant 2024.3.3 through its own HTTP, WebSocket and MQTT interfaces.

``session.py`` calls :func:`populate` inside the test's network namespace; it also runs on its own
with the Python of Home Assistant's virtual environment (which has aiohttp and paho-mqtt):

    .venv-ha/bin/python ha_populate.py --url http://127.0.0.1:PORT --mqtt-port PORT

It onboards an owner, turns on TOTP for the owner (codes computed here with hmac), adds a second
administrator without MFA, a non-admin local-only user and a long-lived token, creates areas,
sets up the MQTT integration against the broker on loopback, publishes MQTT discovery messages
for four devices (one behind a Zigbee bridge), and places devices in rooms. It returns (and on
its own prints) a JSON summary: names and IDs only, never a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import struct
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import paho.mqtt.client as mqtt

CLIENT_ID = "http://127.0.0.1/"
OWNER_PASSWORD = "owner-Secret-Pass-1"  # throwaway passwords of a test instance on loopback
OTHER_PASSWORD = "member-Secret-Pass-2"


def totp(secret_b32: str, at: float | None = None) -> str:
    """The RFC 6238 code (SHA-1, 30 s, 6 digits) for a base32 secret."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class WebSocket:
    """A minimal client of Home Assistant's WebSocket API."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 1

    async def call(self, message_type: str, **payload: Any) -> Any:
        msg_id = self.next_id
        self.next_id += 1
        await self.ws.send_json({"id": msg_id, "type": message_type, **payload})
        while True:
            reply = await self.ws.receive_json(timeout=30)
            if reply.get("id") == msg_id and reply.get("type") == "result":
                if not reply.get("success"):
                    raise RuntimeError(f"{message_type} failed: {reply.get('error')}")
                return reply.get("result")


async def onboard(session: aiohttp.ClientSession, url: str) -> str:
    """Run the four onboarding steps; return an access token of the owner."""
    async with session.post(
        f"{url}/api/onboarding/users",
        json={"client_id": CLIENT_ID, "name": "Olivia Owner", "username": "olivia", "password": OWNER_PASSWORD, "language": "en"},
    ) as resp:
        resp.raise_for_status()
        code = (await resp.json())["auth_code"]
    async with session.post(f"{url}/auth/token", data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID}) as resp:
        resp.raise_for_status()
        token = str((await resp.json())["access_token"])
    headers = {"Authorization": f"Bearer {token}"}
    for step, body in (("core_config", {}), ("analytics", {}), ("integration", {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID})):
        async with session.post(f"{url}/api/onboarding/{step}", json=body, headers=headers) as resp:
            resp.raise_for_status()
    return token


async def add_mqtt(session: aiohttp.ClientSession, url: str, token: str, mqtt_port: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{url}/api/config/config_entries/flow", json={"handler": "mqtt"}, headers=headers) as resp:
        resp.raise_for_status()
        flow = await resp.json()
    async with session.post(
        f"{url}/api/config/config_entries/flow/{flow['flow_id']}", json={"broker": "127.0.0.1", "port": mqtt_port}, headers=headers
    ) as resp:
        resp.raise_for_status()
        result = await resp.json()
    if result.get("type") != "create_entry":
        raise RuntimeError(f"MQTT setup did not finish: {result}")


BRIDGE = {
    "identifiers": ["z2m_bridge_0x00124b0022aabbcc"],
    "name": "Zigbee2MQTT Bridge",
    "manufacturer": "Zigbee2MQTT",
    "model": "Bridge",
    "sw_version": "1.35.3",
}
DISCOVERY: list[tuple[str, dict[str, Any]]] = [
    (
        "homeassistant/binary_sensor/z2m_bridge/config",
        {
            "name": "Connection state",
            "unique_id": "z2m_bridge_state",
            "state_topic": "zigbee2mqtt/bridge/state",
            "device_class": "connectivity",
            "device": BRIDGE,
        },
    ),
    (
        "homeassistant/binary_sensor/hall_smoke/config",
        {
            "name": "Smoke",
            "unique_id": "0x00158d0001a2b3c4_smoke",
            "state_topic": "zigbee2mqtt/hall_smoke",
            "device_class": "smoke",
            "device": {
                "identifiers": ["z2m_0x00158d0001a2b3c4"],
                "connections": [["zigbee", "0x00158d0001a2b3c4"]],
                "name": "Hall smoke detector",
                "manufacturer": "Xiaomi",
                "model": "JTYJ-GD-01LM/BW",
                "sw_version": "20230110",
                "via_device": "z2m_bridge_0x00124b0022aabbcc",
            },
        },
    ),
    (
        "homeassistant/camera/nursery_cam/config",
        {
            "name": None,
            "unique_id": "nursery_cam_image",
            "topic": "nursery/cam/image",
            "device": {
                "identifiers": ["babycam-0001"],
                "connections": [["mac", "02:00:00:aa:bb:01"]],
                "name": "Nursery camera",
                "manufacturer": "Acme",
                "model": "BabyCam 2",
                "sw_version": "1.4.2",
                "hw_version": "rev B",
            },
        },
    ),
    (
        "homeassistant/lock/front_door/config",
        {
            "name": None,
            "unique_id": "front_door_lock",
            "command_topic": "front_door/lock/set",
            "state_topic": "front_door/lock/state",
            "device": {
                "identifiers": ["doorlock-77"],
                "connections": [["mac", "02:00:00:aa:bb:02"]],
                "name": "Front door lock",
                "manufacturer": "Lockly",
                "model": "Secure Pro",
                "sw_version": "3.2.0",
            },
        },
    ),
]


def publish_discovery(mqtt_port: int) -> None:
    client = mqtt.Client(client_id="domosec-test-publisher")
    client.connect("127.0.0.1", mqtt_port)
    client.loop_start()
    try:
        for topic, payload in DISCOVERY:
            client.publish(topic, json.dumps(payload), qos=1, retain=True).wait_for_publish(timeout=10)
    finally:
        client.loop_stop()
        client.disconnect()


async def wait_for_devices(ws: WebSocket, names: set[str], timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        devices: list[dict[str, Any]] = await ws.call("config/device_registry/list")
        present = {d.get("name") for d in devices}
        if names <= present:
            return devices
        if time.monotonic() > deadline:
            raise RuntimeError(f"devices never appeared: {sorted(names - present)}")
        await asyncio.sleep(0.5)


async def login(session: aiohttp.ClientSession, url: str, username: str, password: str) -> str:
    """Log a user in through the login flow the frontend uses; return an access token (valid 30 minutes)."""
    body = {"client_id": CLIENT_ID, "handler": ["homeassistant", None], "redirect_uri": CLIENT_ID}
    async with session.post(f"{url}/auth/login_flow", json=body) as resp:
        resp.raise_for_status()
        flow_id = (await resp.json())["flow_id"]
    credentials = {"client_id": CLIENT_ID, "username": username, "password": password}
    async with session.post(f"{url}/auth/login_flow/{flow_id}", json=credentials) as resp:
        resp.raise_for_status()
        result = await resp.json()
    if result.get("type") != "create_entry":
        raise RuntimeError(f"login of {username} did not finish: {result.get('type')}")
    form = {"grant_type": "authorization_code", "code": result["result"], "client_id": CLIENT_ID}
    async with session.post(f"{url}/auth/token", data=form) as resp:
        resp.raise_for_status()
        return str((await resp.json())["access_token"])


def keep_secret(path: Path, value: str) -> None:
    path.touch(mode=0o600)
    path.write_text(value + "\n", encoding="ascii")


async def populate(url: str, mqtt_port: int, token_dir: Path | None = None) -> dict[str, Any]:
    """Populate Home Assistant; with ``token_dir``, also write the owner's long-lived token and a non-admin's access token there."""
    async with aiohttp.ClientSession() as session:
        token = await onboard(session, url)
        await add_mqtt(session, url, token, mqtt_port)
        async with session.ws_connect(f"{url}/api/websocket") as raw:
            await raw.receive_json()
            await raw.send_json({"type": "auth", "access_token": token})
            if (await raw.receive_json()).get("type") != "auth_ok":
                raise RuntimeError("WebSocket authentication failed")
            ws = WebSocket(raw)

            # TOTP for the owner: the secret is only used here to compute the confirmation code.
            flow = await ws.call("auth/setup_mfa", mfa_module_id="totp")
            secret = flow["description_placeholders"]["code"]
            done = await ws.call("auth/setup_mfa", flow_id=flow["flow_id"], user_input={"code": totp(secret)})
            if done.get("type") != "create_entry":
                raise RuntimeError(f"TOTP setup did not finish: {done.get('type')}")

            users = {}
            for name, username, groups, local_only in (
                ("Mia Member", "mia", ["system-users"], True),
                ("Sam Second-Admin", "sam", ["system-admin"], False),
            ):
                user = (await ws.call("config/auth/create", name=name, group_ids=groups, local_only=local_only))["user"]
                await ws.call("config/auth_provider/homeassistant/create", user_id=user["id"], username=username, password=OTHER_PASSWORD)
                users[username] = user["id"]
            long_lived = await ws.call("auth/long_lived_access_token", client_name="Wall tablet", lifespan=365)
            if token_dir is not None:
                keep_secret(token_dir / "owner.token", long_lived)
                keep_secret(token_dir / "member.token", await login(session, url, "mia", OTHER_PASSWORD))

            areas = {}
            for name in ("Children's room", "Bathroom", "Hallway"):
                areas[name] = (await ws.call("config/area_registry/create", name=name))["area_id"]
            existing = await ws.call("config/area_registry/list")
            areas.update({a["name"]: a["area_id"] for a in existing})

            publish_discovery(mqtt_port)
            devices = await wait_for_devices(ws, {"Nursery camera", "Hall smoke detector", "Front door lock", "Zigbee2MQTT Bridge"})
            by_name = {d["name"]: d["id"] for d in devices}
            placement = {
                "Nursery camera": "Children's room",
                "Hall smoke detector": "Hallway",
                "Front door lock": "Hallway",
                "Demo Camera": "Bedroom",
            }
            for device_name, area_name in placement.items():
                if device_name in by_name:
                    await ws.call("config/device_registry/update", device_id=by_name[device_name], area_id=areas[area_name])
            return {"users": users, "areas": areas, "devices": sorted(by_name)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--mqtt-port", type=int, required=True)
    args = parser.parse_args()
    summary = asyncio.run(populate(args.url, args.mqtt_port))
    json.dump(summary, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
