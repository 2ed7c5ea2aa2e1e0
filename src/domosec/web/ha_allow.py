"""Where the workspace may connect for a live Home Assistant import (``domosec serve --ha-allow``).

A live import makes the server open a connection to an address a user typed. Without a limit, anyone allowed to
import (and anyone may sign up and own a project) could make the server reach what only it can reach: services on
its loopback interface, its database, a cloud's metadata address (169.254.169.254), the rest of its network, and
learn from the error which ports answer. So the server connects only where its administrator allows, and nowhere
by default. Each ``--ha-allow`` entry is ``HOST[:PORT]`` (IPv6 in brackets when a port is given):

- an address or a network: ``192.168.1.10``, ``192.168.1.0/24:8123``, ``[fd00::10]:8123``, ``fd00::/8``;
- ``private`` (10/8, 172.16/12, 192.168/16, fc00::/7) or ``loopback`` (127/8, ::1), each with an optional port;
- a host name, or a domain with its sub-domains: ``homeassistant.local``, ``*.ui.nabu.casa`` — whatever it resolves
  to is allowed, so name only hosts whose DNS you trust.

The check is made on the address every socket is about to connect to (aiohttp's socket factory), after names are
resolved: a name that resolves elsewhere later (DNS rebinding) or a redirect cannot lead anywhere else.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
KEYWORDS: dict[str, tuple[str, ...]] = {
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
    "loopback": ("127.0.0.0/8", "::1/128"),
}
ENV = "DOMOSEC_HA_ALLOW"
"""The entries, separated by spaces or commas: ``domosec serve --ha-allow`` sets it for its web processes."""
_NAME = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*")


@dataclass(frozen=True)
class Entry:
    """One allowed place: networks or a host name (``*.`` for a domain), on one port or any (``None``)."""

    text: str
    networks: tuple[Network, ...] = ()
    name: str = ""
    port: int | None = None

    def names(self, host: str, port: int) -> bool:
        if not self.name or (self.port is not None and self.port != port):
            return False
        host = host.lower().rstrip(".")
        return host.endswith(self.name[1:]) if self.name.startswith("*.") else host == self.name

    def holds(self, address: Address, port: int) -> bool:
        return (self.port is None or self.port == port) and any(address in net for net in self.networks)


def parse_entry(text: str) -> Entry:
    """An ``--ha-allow`` entry; raises :class:`ValueError` saying what is wrong."""
    raw = text.strip().lower()
    host, port_text = raw, ""
    if raw.startswith("["):
        host, bracket, rest = raw[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: expected [IPv6]:PORT")
        port_text = rest[1:]
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    port = None
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    if host in KEYWORDS:
        return Entry(text, tuple(ipaddress.ip_network(n) for n in KEYWORDS[host]), port=port)
    try:
        return Entry(text, (ipaddress.ip_network(host, strict=False),), port=port)
    except ValueError:
        pass
    if not _NAME.fullmatch(host) or len(host) > 253:
        raise ValueError(f"{text!r}: expected an address, a network (192.168.1.0/24), private, loopback or a host name")
    return Entry(text, name=host, port=port)


def _address(text: str) -> Address | None:
    try:
        found = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


class NotAllowed(Exception):
    """The address is not one the administrator allows; the message says which and how to allow it."""


@dataclass(frozen=True)
class HostPolicy:
    """The ``--ha-allow`` entries of a server; empty: no live import at all."""

    entries: tuple[Entry, ...] = ()

    @classmethod
    def parse(cls, texts: Sequence[str]) -> HostPolicy:
        return cls(tuple(parse_entry(t) for t in texts if t.strip()))

    @staticmethod
    def from_environment() -> HostPolicy:
        """The entries of ``$DOMOSEC_HA_ALLOW`` (``domosec serve`` checked them); none when unset or not valid."""
        return _from_text(os.environ.get(ENV, ""))

    def describe(self) -> str:
        return ", ".join(e.text for e in self.entries) or "none"

    async def gate(self, host: str, port: int, timeout: float) -> Gate:
        """The gate for a connection to ``host``:``port``: the addresses it may reach; :class:`NotAllowed` when none.

        Nothing is resolved or connected when no entry could allow the host."""
        if not self.entries:
            raise NotAllowed("this workspace makes no connection to Home Assistant: its administrator allows no address")
        literal = _address(host)
        by_name = literal is None and any(e.names(host, port) for e in self.entries)
        if literal is None and not by_name and not any(e.networks for e in self.entries):
            raise NotAllowed(f"{host} is not among the hosts this workspace may connect to")
        found = [literal] if literal is not None else await _resolve(host, port, timeout)
        refused = [a for a in found if not by_name and not any(e.holds(a, port) for e in self.entries)]
        if refused:
            raise NotAllowed(f"{refused[0]} port {port} is not among the addresses this workspace may connect to")
        return Gate({(a, port) for a in found})


@functools.cache
def _from_text(text: str) -> HostPolicy:
    try:
        return HostPolicy.parse(re.split(r"[\s,]+", text))
    except ValueError:
        return HostPolicy()


async def _resolve(host: str, port: int, timeout: float) -> list[Address]:
    from domosec.evidence.homeassistant.files import problem

    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise problem(host, "ha-timeout", f"the name {host} was not resolved within {timeout:g} s") from None
    except OSError:
        raise problem(host, "ha-connection-failed", f"cannot connect (unknown host {host})") from None
    found = {a for info in infos if (a := _address(str(info[4][0]))) is not None}
    return sorted(found, key=lambda a: (a.version, int(a)))


@dataclass
class Gate:
    """aiohttp's socket factory for one import: a socket only for the addresses the policy allowed."""

    allowed: set[tuple[Address, int]]
    refused: list[str] = field(default_factory=list)

    def __call__(self, addr_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        address = _address(str(sockaddr[0]))
        if address is None or (address, int(sockaddr[1])) not in self.allowed:
            self.refused.append(f"{sockaddr[0]} port {sockaddr[1]}")
            raise OSError(errno.EACCES, "not an address this workspace may connect to (domosec serve --ha-allow)")
        return socket.socket(family=family, type=kind, proto=proto)


def allow_in_environment(entries: Sequence[str]) -> None:
    """Check ``entries`` (``error[bad-ha-allow]``, exit 2) and put them in ``$DOMOSEC_HA_ALLOW`` for the web processes."""
    from domosec.errors import Diagnostic, InputError

    texts = [t for entry in entries for t in re.split(r"[\s,]+", entry) if t]
    problems = []
    for text in texts:
        try:
            parse_entry(text)
        except ValueError as exc:
            problems.append(Diagnostic("--ha-allow", None, None, "bad-ha-allow", str(exc)))
    if problems:
        raise InputError(problems)
    os.environ[ENV] = " ".join(texts)
