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

from domosec.errors import Diagnostic, InputError
from domosec.evidence.scan.neighbours import neighbour_state
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.ports import usual_protocol

PortState = Literal["open", "closed", "silent"]
SERVER_FIRST_WAIT = 0.5
"""How long to wait for a greeting (SSH, telnet, FTP…) after connecting."""
ARP_POLL = 0.05
"""How often the neighbour table is read while a host's first connection waits."""

CLIENT_FIRST = frozenset({"http", "https", "mqtt", "mqtts", "rtsp", "rtsps", "upnp", "modbus", "adb"})
"""Usual protocols (``data/ports.yaml``) that wait for the client: no greeting is awaited on their ports."""


def waits_for_client(port: int) -> bool:
    """Whether ``port``'s usual protocol speaks only when spoken to (the greeting is then not awaited)."""
    return usual_protocol(port) in CLIENT_FIRST


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


OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS})
OUT_OF_FILES_RETRIES = 6
"""A connection refused for want of file descriptors is tried again after 0.05, 0.1 … 1.6 s (3.15 s in all)."""


def _out_of_files(exc: OSError) -> InputError:
    """The scan cannot go on: the system gives no more sockets (a result of 0 open services would be false)."""
    message = f"the system refused to open more connections ({exc.strerror or exc}); the scan was stopped"
    hint = "lower --concurrency and --per-host, or raise the limit of open files (ulimit -n)"
    return InputError([Diagnostic("<scan>", None, None, "scan-out-of-files", message, hint=hint)])


async def try_port(pacer: Pacer, host: str, port: int, *, timeout: float, read_greeting: bool, watch_arp: bool = False) -> PortResult:
    """Connect once; read what the server says first when ``read_greeting`` and it is not a client-first port."""
    async with pacer.slot(host):
        for attempt in range(OUT_OF_FILES_RETRIES + 1):
            try:
                async with asyncio.timeout(timeout):
                    reader, writer = await _connect(host, port, arp_wait=timeout / 2 if watch_arp else None)
                break
            except _NoArpAnswer:
                return PortResult(port, "silent", no_arp_answer=True)
            except ConnectionRefusedError:
                return PortResult(port, "closed")
            except TimeoutError:
                return PortResult(port, "silent")
            except OSError as exc:
                if exc.errno not in OUT_OF_FILES:
                    return PortResult(port, "closed" if exc.errno == errno.ECONNRESET else "silent")
                if attempt == OUT_OF_FILES_RETRIES:  # a local limit, not an answer of the host: never "silent"
                    raise _out_of_files(exc) from None
                await asyncio.sleep(0.05 * 2**attempt)  # connections in flight end and give their descriptors back
        greeting = b""
        try:
            if read_greeting and not waits_for_client(port):
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
