"""What a scan saw, before it becomes model facts: hosts, their open services and what probes learnt.

Plain data filled in as results arrive, so an interrupted scan still holds everything found so far.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

Authentication = Literal["none", "password", "token", "certificate"]
CertificateState = Literal["valid", "self_signed", "expired", "wrong_host"]
VERSION_ORDER = ("ssl2", "ssl3", "tls1.0", "tls1.1", "tls1.2", "tls1.3")


@dataclass
class TlsReport:
    """What a TLS check found on one port."""

    versions: list[str] = field(default_factory=list)
    weak_ciphers: list[str] = field(default_factory=list)
    certificate: CertificateState | None = None
    certificate_detail: str = ""

    @property
    def lowest(self) -> str | None:
        """The oldest protocol version the server accepts (the one an attacker would force)."""
        ordered = sorted(self.versions, key=VERSION_ORDER.index)
        return ordered[0] if ordered else None


@dataclass
class Service:
    """One open port and what the probes learnt about it."""

    port: int
    transport: Literal["tcp", "udp"] = "tcp"
    protocol: str = "other"
    banner: str = ""
    tls: bool = False
    tls_report: TlsReport | None = None
    authentication: Authentication | None = None
    default_login: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, str]:
        return (self.port, self.transport)


@dataclass
class PortMapping:
    """A port the gateway forwards from the internet, as its UPnP IGD service reports it."""

    external_port: int
    internal_client: str
    internal_port: int
    protocol: Literal["tcp", "udp"]
    description: str = ""
    enabled: bool = True


@dataclass
class Gateway:
    """A UPnP Internet Gateway Device found on a host."""

    location: str
    external_ip: str = ""
    mappings: list[PortMapping] = field(default_factory=list)
    error: str = ""


@dataclass
class Host:
    """One address that answered, with its identity as far as discovery revealed it."""

    address: str
    mac: str = ""
    hostnames: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    vendor: str = ""
    model: str = ""
    mdns_services: set[str] = field(default_factory=set)
    upnp_types: set[str] = field(default_factory=set)
    services: dict[tuple[int, str], Service] = field(default_factory=dict)
    gateway: Gateway | None = None

    def service(self, port: int, transport: Literal["tcp", "udp"] = "tcp") -> Service:
        key = (port, transport)
        if key not in self.services:
            self.services[key] = Service(port, transport)
        return self.services[key]

    def sorted_services(self) -> list[Service]:
        return [self.services[k] for k in sorted(self.services)]


@dataclass
class Observations:
    """Everything one scan found; ``complete`` is false when it was interrupted."""

    hosts: dict[str, Host] = field(default_factory=dict)
    complete: bool = False
    probes_sent: int = 0
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)

    def host(self, address: str) -> Host:
        if address not in self.hosts:
            self.hosts[address] = Host(address)
        return self.hosts[address]

    def sorted_hosts(self) -> list[Host]:
        return [self.hosts[a] for a in sorted(self.hosts, key=lambda a: (ipaddress.ip_address(a).version, int(ipaddress.ip_address(a))))]

    def open_ports(self) -> list[tuple[str, int, str]]:
        """(address, port, transport) of every open service, sorted."""
        return [(h.address, s.port, s.transport) for h in self.sorted_hosts() for s in h.sorted_services()]
