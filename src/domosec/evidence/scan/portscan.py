"""TCP connect scan: which ports of a host accept a connection, and what they say first.

A full ``connect()`` (no raw packets, no root) per port, paced by the :class:`Pacer`. A host's
first port is tried alone, and while it waits the kernel's neighbour table is watched: the
kernel asks ARP for the host's MAC address before sending the first packet, so a host on the
scanner's link that has not answered ARP within half the connect timeout is down, and its other
ports are not tried. An empty address thus costs half a timeout instead of one per port. Hosts
that answered ARP, and hosts behind a router (no neighbour entry), get every port.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from domosec.evidence.scan.neighbours import neighbour_state
from domosec.evidence.scan.pacing import Pacer

PortState = Literal["open", "closed", "silent"]
SERVER_FIRST_WAIT = 0.5
"""How long to wait for a greeting (SSH, telnet, FTP…) after connecting."""
ARP_POLL = 0.05
"""How often the neighbour table is read while a host's first connection waits."""

CLIENT_FIRST_PORTS = frozenset({80, 443, 554, 1883, 5000, 8080, 8123, 8443, 8554, 8883})
"""Ports whose protocols wait for the client: no greeting is awaited there."""


@dataclass
class PortResult:
    port: int
    state: PortState
    greeting: bytes = b""
    no_arp_answer: bool = False


class _NoArpAnswer(Exception):
    """The host did not answer ARP in time: nobody is at that address."""


async def _connect(host: str, port: int, *, arp_wait: float | None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection; with ``arp_wait``, give up early when the neighbour table shows the host never answered."""
    if arp_wait is None:
        return await asyncio.open_connection(host, port)
    loop = asyncio.get_running_loop()
    attempt = asyncio.ensure_future(asyncio.open_connection(host, port))
    started = loop.time()
    try:
        while True:
            done, _ = await asyncio.wait({attempt}, timeout=ARP_POLL)
            if done:
                return attempt.result()
            if loop.time() - started >= arp_wait and neighbour_state(host) == "failed":
                raise _NoArpAnswer
    finally:
        if not attempt.done():
            attempt.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await attempt


async def try_port(pacer: Pacer, host: str, port: int, *, timeout: float, read_greeting: bool, watch_arp: bool = False) -> PortResult:
    """Connect once; read what the server says first when ``read_greeting`` and it is not a client-first port."""
    async with pacer.slot(host):
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await _connect(host, port, arp_wait=timeout / 2 if watch_arp else None)
        except _NoArpAnswer:
            return PortResult(port, "silent", no_arp_answer=True)
        except ConnectionRefusedError:
            return PortResult(port, "closed")
        except TimeoutError:
            return PortResult(port, "silent")
        except OSError as exc:
            return PortResult(port, "closed" if exc.errno == errno.ECONNRESET else "silent")
        greeting = b""
        try:
            if read_greeting and port not in CLIENT_FIRST_PORTS:
                try:
                    greeting = await asyncio.wait_for(reader.read(512), SERVER_FIRST_WAIT)
                except (TimeoutError, OSError):
                    greeting = b""
        finally:
            writer.close()
            with contextlib.suppress(TimeoutError, OSError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
    return PortResult(port, "open", greeting)


async def scan_host(
    pacer: Pacer,
    host: str,
    ports: Sequence[int],
    *,
    timeout: float,
    read_greeting: bool,
    on_open: Callable[[PortResult], None] = lambda _r: None,
) -> HostScan:
    """Every port of ``host``, unless the first one shows the host is down.

    ``on_open`` is called as soon as a port is found open, so an interrupted scan keeps it.
    """

    async def one(port: int, *, watch_arp: bool = False) -> PortResult:
        result = await try_port(pacer, host, port, timeout=timeout, read_greeting=read_greeting, watch_arp=watch_arp)
        if result.state == "open":
            on_open(result)
        return result

    if not ports:
        return HostScan([], down=False)
    first = await one(ports[0], watch_arp=True)
    if first.state == "silent" and (first.no_arp_answer or neighbour_state(host) == "failed"):
        return HostScan([first], down=True)
    rest = await asyncio.gather(*(one(p) for p in ports[1:]))
    return HostScan([first, *rest], down=False)


@dataclass
class HostScan:
    results: list[PortResult]
    down: bool
