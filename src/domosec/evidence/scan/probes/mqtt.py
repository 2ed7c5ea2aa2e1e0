"""MQTT: does the broker let a client in without a user name and password?

A CONNECT without credentials (paho-mqtt, MQTT 3.1.1) is answered with CONNACK 0 when the
broker accepts anonymous clients (authentication ``none``) and with "not authorised" or "bad user
name or password" when it wants a login (``password``). A TLS broker that ends the handshake
asking for a client certificate wants ``certificate``. With default credentials on, a broker that
refuses anonymous clients is tried with at most five default pairs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes.credentials import logins_to_try

Outcome = Literal["accepted", "refused", "certificate", "no-answer"]


def _connect(host: str, port: int, tls: ssl.SSLContext | None, timeout: float, login: tuple[str, str] | None) -> Outcome:
    """One CONNECT, blocking (paho's network loop); run in a worker thread."""
    result: list[Any] = []
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="domosec-scan", protocol=MQTTProtocolVersion.MQTTv311, reconnect_on_failure=False
    )
    client.connect_timeout = timeout
    if tls is not None:
        client.tls_set_context(tls)
    if login is not None:
        client.username_pw_set(*login)

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        result.append(reason)

    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=10)
        deadline = time.monotonic() + timeout
        while not result and time.monotonic() < deadline:
            if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                break
    except ssl.SSLError as exc:
        return "certificate" if "certificate required" in str(exc).lower() else "no-answer"
    except (OSError, ValueError):
        return "no-answer"
    finally:
        with contextlib.suppress(Exception):  # closing a half-open connection must never fail the probe
            client.disconnect()
            client.loop(timeout=0.01)
        sock = client.socket()
        if sock is not None:
            sock.close()
    if not result:
        return "no-answer"
    return "refused" if result[0].is_failure else "accepted"


async def probe_mqtt(pacer: Pacer, host: str, service: Service, *, tls: ssl.SSLContext | None, timeout: float, try_defaults: bool) -> bool:
    """Fill ``service`` from an anonymous MQTT CONNECT (and default logins when asked); False when no MQTT answer came."""
    async with pacer.slot(host):
        outcome = await asyncio.to_thread(_connect, host, service.port, tls, timeout, None)
    if outcome == "no-answer":
        return False
    service.protocol = "mqtts" if tls is not None else "mqtt"
    if outcome == "accepted":
        service.authentication = "none"
        service.notes.append("MQTT broker accepts anonymous clients")
    elif outcome == "refused":
        service.authentication = "password"
        service.notes.append("MQTT broker refuses anonymous clients")
        if try_defaults:
            for login in logins_to_try():
                async with pacer.slot(host):
                    if await asyncio.to_thread(_connect, host, service.port, tls, timeout, login) == "accepted":
                        service.default_login = login[0]
                        service.notes.append(f"accepts the default login of user '{login[0]}'")
                        break
    else:
        service.authentication = "certificate"
        service.notes.append("MQTT broker asks for a client certificate")
    return True
