"""Naming what listens on an open port by what it answers, then running the deep probe for that protocol.

As nmap's version detection does, the port's own words decide, never its number:

1. the **greeting** read right after connecting (``SSH-…``, telnet option negotiation, a login
   prompt, any other banner);
2. if the port said nothing, **probes** in turn, each on a fresh connection, bounded in time
   (:data:`IDENT_TIMEOUT` at most) and bytes: a TLS ClientHello (and, inside TLS, HTTP, MQTT and
   RTSP again), an HTTP ``GET /``, an MQTT ``CONNECT``, an RTSP ``OPTIONS``, a Modbus Read Device
   Identification and an ADB ``CNXN``. The port's usual protocol (``data/ports.yaml``) only moves
   its probe to the front, so a broker on 1883 is named by its first answer and one on 18831 by
   its third;
3. when nothing answered in a known way, the table's protocol is kept only for protocols no probe
   can name (Tuya, Kasa, DNS…), marked as named by port number.

The probe that names a service is its deep probe too (anonymous MQTT, HTTP authentication and
default logins, telnet prompt, RTSP ``DESCRIBE``); TLS ports get the full sslyze check later.
The first provenance note of every service says how it was identified.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.ports import usual_protocol
from domosec.evidence.scan.portscan import SERVER_FIRST_WAIT, waits_for_client
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.probes.adb import probe_adb
from domosec.evidence.scan.probes.http import probe_http
from domosec.evidence.scan.probes.modbus import probe_modbus
from domosec.evidence.scan.probes.mqtt import probe_mqtt
from domosec.evidence.scan.probes.raw import exchange
from domosec.evidence.scan.probes.rtsp import probe_rtsp, rtsp_options
from domosec.evidence.scan.probes.telnet import LOGIN_PROMPT, looks_like_telnet, probe_telnet

IDENT_TIMEOUT = 2.0
"""The longest one identification probe waits (less when ``--probe-timeout`` is shorter)."""
ORDER = ("tls", "http", "mqtt", "rtsp", "modbus", "adb")
INNER_ORDER = ("http", "mqtt", "rtsp")
FIRST_STEP = {
    "http": "http",
    "upnp": "http",
    "https": "tls",
    "mqtts": "tls",
    "rtsps": "tls",
    "mqtt": "mqtt",
    "rtsp": "rtsp",
    "modbus": "modbus",
    "adb": "adb",
}
NAMED_BY_PORT = frozenset({"proprietary", "dns", "smb", "ftp", "onvif", "websocket"})
"""Protocols of the port table that no probe recognises: kept from the table, said to be a guess."""


@dataclass
class ProbeKit:
    """What every probe of one scan shares."""

    pacer: Pacer
    session: aiohttp.ClientSession
    tls: ssl.SSLContext
    timeout: float
    try_defaults: bool

    @property
    def ident_timeout(self) -> float:
        return min(self.timeout, IDENT_TIMEOUT)


async def speaks_tls(kit: ProbeKit, host: str, port: int, timeout: float) -> bool:
    """Whether ``port`` completes a TLS handshake (any version, any certificate) within ``timeout``."""
    async with kit.pacer.slot(host):
        try:
            async with asyncio.timeout(timeout):
                _reader, writer = await asyncio.open_connection(host, port, ssl=kit.tls, server_hostname=None)
        except (TimeoutError, OSError, ssl.SSLError):
            return False
        writer.close()
        with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return True


def _identified(service: Service, how: str) -> None:
    service.notes.insert(0, f"port {service.port}: identified by {how}")


async def identify_and_probe(kit: ProbeKit, host: str, service: Service, greeting: bytes) -> None:
    """Name the protocol on ``service`` from what it answers, and fill in what its deep probe learns."""
    usual = usual_protocol(service.port)
    if greeting and await _from_greeting(kit, host, service, greeting):
        return
    steps = list(ORDER)
    first = FIRST_STEP.get(usual)
    if first is not None:
        steps.remove(first)
        steps.insert(0, first)
    if waits_for_client(service.port):
        steps.insert(1, "banner")  # the greeting was not awaited on this port: listen once its usual probe failed
    for step in steps:
        if step == "banner":
            said = await exchange(kit.pacer, host, service.port, b"", timeout=SERVER_FIRST_WAIT, limit=512)
            if said and await _from_greeting(kit, host, service, said):
                return
            continue
        if step == "tls":
            if await speaks_tls(kit, host, service.port, kit.timeout if first == "tls" else kit.ident_timeout):
                service.tls = True
                await _inside_tls(kit, host, service, usual)
                return
            continue
        if await _clear_probe(kit, host, service, step, usual_first=step == first):
            return
    if usual in NAMED_BY_PORT:
        service.protocol = usual
        _identified(service, f"port number only: usually {usual} here, and no probe recognised the answer")
    else:
        service.protocol = "other"
        _identified(service, "no probe: open, but answered none of TLS, HTTP, MQTT, RTSP, Modbus or ADB")


async def _from_greeting(kit: ProbeKit, host: str, service: Service, greeting: bytes) -> bool:
    """Name the service from what it said first; False when the greeting names nothing the probes know."""
    shown = printable(greeting.split(b"\n", 1)[0])
    if greeting.startswith(b"SSH-"):
        service.protocol = "ssh"
        service.banner = shown
        _identified(service, f"banner '{shown}'")
        return True
    if looks_like_telnet(greeting) or LOGIN_PROMPT.search(printable(greeting)):
        await probe_telnet(kit.pacer, host, service, timeout=kit.timeout)
        _identified(service, "banner (telnet option negotiation)" if looks_like_telnet(greeting) else "banner (a login prompt)")
        return True
    if greeting.startswith(b"220") and b"FTP" in greeting.upper():
        service.protocol = "ftp"
        service.banner = shown
        _identified(service, f"banner '{shown}'")
        return True
    service.protocol = "other"
    service.banner = shown
    _identified(service, f"banner '{shown}' (a protocol domosec does not probe)")
    return True


async def _clear_probe(
    kit: ProbeKit, host: str, service: Service, step: str, tls: ssl.SSLContext | None = None, *, usual_first: bool = False
) -> bool:
    timeout = kit.timeout if usual_first else kit.ident_timeout  # the port's usual protocol gets the whole --probe-timeout
    probes: dict[str, Callable[[], Awaitable[bool]]] = {
        "http": lambda: probe_http(kit.session, kit.pacer, host, service, tls=tls, timeout=timeout, try_defaults=kit.try_defaults),
        "mqtt": lambda: probe_mqtt(kit.pacer, host, service, tls=tls, timeout=timeout, try_defaults=kit.try_defaults),
        "rtsp": lambda: _rtsp(kit, host, service, tls, timeout),
        "modbus": lambda: probe_modbus(kit.pacer, host, service, timeout=timeout),
        "adb": lambda: probe_adb(kit.pacer, host, service, timeout=timeout),
    }
    if not await probes[step]():
        return False
    what = {
        "http": "an HTTP response to GET /",
        "mqtt": "a CONNACK to an MQTT CONNECT",
        "rtsp": "an RTSP response to OPTIONS",
        "modbus": "a Modbus TCP reply to Read Device Identification",
        "adb": "an ADB reply to CNXN",
    }[step]
    _identified(service, f"probe: {what}" + (" inside TLS" if tls is not None else ""))
    return True


async def _rtsp(kit: ProbeKit, host: str, service: Service, tls: ssl.SSLContext | None, timeout: float) -> bool:
    server = await rtsp_options(kit.pacer, host, service.port, timeout=timeout, tls=tls)
    if server is None:
        return False
    service.protocol = "rtsps" if tls is not None else "rtsp"
    if server:
        service.banner = printable(server)
    if tls is None:
        await probe_rtsp(kit.pacer, host, service, timeout=kit.timeout)
    return True


async def _inside_tls(kit: ProbeKit, host: str, service: Service, usual: str) -> None:
    inner = list(INNER_ORDER)
    first = {"https": "http", "mqtts": "mqtt", "rtsps": "rtsp"}.get(usual)
    if first is not None:
        inner.remove(first)
        inner.insert(0, first)
    for step in inner:
        if await _clear_probe(kit, host, service, step, tls=kit.tls, usual_first=step == first):
            return
    service.protocol = "other"
    _identified(service, "a TLS handshake; the protocol inside answered none of HTTP, MQTT or RTSP")
