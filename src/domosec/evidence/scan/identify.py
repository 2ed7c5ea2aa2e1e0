"""Naming what listens on an open port, then running the probe for that protocol.

The greeting decides first (``SSH-…``, telnet option negotiation), then the port's usual protocol,
then, on an unknown port, an HTTP request in clear and over TLS. TLS itself is recognised by a
handshake that accepts any certificate; the full TLS check runs later, for all TLS ports at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

import aiohttp

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.probes.http import probe_http
from domosec.evidence.scan.probes.mqtt import probe_mqtt
from domosec.evidence.scan.probes.rtsp import probe_rtsp
from domosec.evidence.scan.probes.telnet import looks_like_telnet, probe_telnet

PORT_HINTS: dict[int, str] = {
    22: "ssh",
    23: "telnet",
    2323: "telnet",
    80: "http",
    8080: "http",
    8123: "http",
    443: "https",
    8443: "https",
    554: "rtsp",
    8554: "rtsp",
    1883: "mqtt",
    8883: "mqtts",
}


@dataclass
class ProbeKit:
    """What every probe of one scan shares."""

    pacer: Pacer
    session: aiohttp.ClientSession
    tls: ssl.SSLContext
    timeout: float
    try_defaults: bool


async def speaks_tls(kit: ProbeKit, host: str, port: int) -> bool:
    """Whether ``port`` completes a TLS handshake (any version, any certificate)."""
    async with kit.pacer.slot(host):
        try:
            async with asyncio.timeout(kit.timeout):
                _reader, writer = await asyncio.open_connection(host, port, ssl=kit.tls, server_hostname=None)
        except (TimeoutError, OSError, ssl.SSLError):
            return False
        writer.close()
        with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return True


async def identify_and_probe(kit: ProbeKit, host: str, service: Service, greeting: bytes) -> None:
    """Name the protocol on ``service`` and fill in what its probe learns."""
    hint = PORT_HINTS.get(service.port, "")
    if greeting.startswith(b"SSH-"):
        service.protocol = "ssh"
        service.banner = printable(greeting.split(b"\n", 1)[0])
        return
    if looks_like_telnet(greeting) or hint == "telnet":
        await probe_telnet(kit.pacer, host, service, timeout=kit.timeout)
        return
    if hint == "ssh":
        service.protocol = "ssh"
        service.banner = printable(greeting)
        return
    if hint in ("mqtt", "mqtts"):
        service.tls = hint == "mqtts" and await speaks_tls(kit, host, service.port)
        await probe_mqtt(kit.pacer, host, service, tls=kit.tls if service.tls else None, timeout=kit.timeout, try_defaults=kit.try_defaults)
        return
    if hint == "rtsp" and await probe_rtsp(kit.pacer, host, service, timeout=kit.timeout):
        return
    if greeting:
        service.protocol = "other"
        service.banner = printable(greeting)
        return
    first_tls = hint == "https"
    for use_tls in (first_tls, not first_tls):
        if use_tls and not await speaks_tls(kit, host, service.port):
            continue
        if await probe_http(
            kit.session, kit.pacer, host, service, tls=kit.tls if use_tls else None, timeout=kit.timeout, try_defaults=kit.try_defaults
        ):
            service.tls = use_tls
            return
    service.tls = await speaks_tls(kit, host, service.port)
    service.protocol = "other"
