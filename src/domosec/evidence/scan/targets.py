"""What a scan may touch: target addresses, ports and limits, checked before any packet is sent.

Targets are IP addresses, CIDR blocks or host names, comma-separated. Only private, loopback and
link-local addresses are accepted unless the user passes ``--allow-public``: this tool is pointed at
real homes, and a typo in a CIDR must not turn it on somebody else's network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from domosec.errors import Diagnostic, InputError
from domosec.evidence.scan.ports import top_ports

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_TCP_PORTS, DEFAULT_UDP_PORTS = top_ports()
"""Every port of the table in ``data/ports.yaml`` (see :mod:`.ports` and docs/scan.md); ``--ports`` adds more."""

COAP_PORT = 5683
SSDP_PORT = 1900
DEFAULT_MAX_HOSTS = 4096


@dataclass(frozen=True)
class Limits:
    """How hard the scan may push: new connections per second, parallelism, and time per probe."""

    rate: float = 1000.0
    per_host: int = 8
    concurrency: int = 256
    connect_timeout: float = 1.0
    probe_timeout: float = 5.0


@dataclass(frozen=True)
class ScanPlan:
    """Everything a scan will do, fixed before it starts, so it can be printed and reviewed first."""

    targets: tuple[str, ...]
    hosts: tuple[IPAddress, ...]
    tcp_ports: tuple[int, ...]
    udp_ports: tuple[int, ...] = (5683,)
    excluded: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    discovery: bool = True
    discovery_wait: float = 2.0
    probes: bool = True
    default_credentials: bool = False
    allow_public: bool = False

    @property
    def host_set(self) -> frozenset[str]:
        return frozenset(str(h) for h in self.hosts)

    def describe(self) -> list[str]:
        """The plan in a few lines, printed before the scan starts."""
        public = [str(h) for h in self.hosts if not is_home_address(h)]
        lines = [
            f"targets: {', '.join(self.targets)} ({len(self.hosts)} address{'es' if len(self.hosts) != 1 else ''}"
            + (f"; {len(public)} public, allowed by --allow-public)" if public else "; all private or loopback)"),
            f"TCP ports ({len(self.tcp_ports)}): {format_ports(self.tcp_ports)}",
            "excluded, never sent a packet: " + ("; ".join(self.excluded) if self.excluded else "nothing"),
        ]
        coap = [p for p in self.udp_ports if p != SSDP_PORT]
        if self.probes:
            if coap:
                lines.append(f"UDP: CoAP GET /.well-known/core on {format_ports(coap)}")
            lines.append(
                "identification on every open port: banner, TLS ClientHello, HTTP GET, MQTT CONNECT, RTSP OPTIONS, "
                "Modbus device identification, ADB CNXN (the port's usual protocol first)"
            )
            lines.append(
                "probes: TLS versions/ciphers/certificate, MQTT anonymous login, HTTP authentication, "
                "telnet login prompt, RTSP DESCRIBE, UPnP IGD port mappings"
            )
            lines.append(
                "default credentials: "
                + ("tried, at most 5 per service, from domosec's short list" if self.default_credentials else "not tried")
            )
        else:
            lines.append("probes: none (open ports only)")
        lines.append(
            f"discovery: mDNS browse and SSDP search, {self.discovery_wait:g} s, answers from targets only"
            if self.discovery
            else "discovery: off"
        )
        lim = self.limits
        lines.append(
            f"limits: {lim.rate:g} new connections/s, {lim.per_host} per host, {lim.concurrency} in flight; "
            f"timeouts {lim.connect_timeout:g} s to connect, {lim.probe_timeout:g} s per probe"
        )
        return lines


HOME_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "::1/128", "fe80::/10", "fc00::/7")
)
"""Private (RFC 1918, unique local), loopback and link-local blocks: what a home network or a machine uses."""


def is_home_address(address: IPAddress) -> bool:
    """An address in :data:`HOME_NETWORKS`, which stays inside a home or a machine."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_home_address(address.ipv4_mapped)
    return any(address in net for net in HOME_NETWORKS if net.version == address.version)


def parse_targets(
    specs: Iterable[str], *, allow_public: bool = False, max_hosts: int = DEFAULT_MAX_HOSTS
) -> tuple[tuple[str, ...], tuple[IPAddress, ...]]:
    """Expand ``CIDR|HOST[,…]`` into addresses, refusing public ones unless allowed; every problem at once."""
    problems: list[Diagnostic] = []
    items = tuple(part.strip() for spec in specs for part in spec.split(",") if part.strip())
    found: dict[IPAddress, None] = {}
    if not items:
        problems.append(Diagnostic("--target", None, None, "no-target", "no target given; pass an address, a CIDR block or a host name"))
    for item in items:
        addresses, problem = _expand(item, max_hosts)
        if problem:
            problems.append(problem)
            continue
        public = [a for a in addresses if not is_home_address(a)]
        if public and not allow_public:
            problems.append(
                Diagnostic(
                    "--target",
                    None,
                    None,
                    "public-target",
                    (f"{item} is a public address" if len(addresses) == 1 else f"{item} includes public address {public[0]}")
                    + "; domosec scans private, loopback and link-local addresses only",
                    hint="pass --allow-public only for a network you are responsible for",
                )
            )
            continue
        for a in addresses:
            found[a] = None
        if len(found) > max_hosts:
            problems.append(
                Diagnostic(
                    "--target",
                    None,
                    None,
                    "too-many-hosts",
                    f"the targets hold more than {max_hosts} addresses",
                    hint="narrow the targets or raise --max-hosts",
                )
            )
            break
    if problems:
        raise InputError(problems)
    return items, tuple(sorted(found, key=_address_key))


def parse_ports(spec: str) -> tuple[int, ...]:
    """``22,80,8000-8010`` into sorted unique TCP port numbers."""
    return parse_port_spec(spec)[0]


def parse_port_spec(spec: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``22,80,8000-8010,U:5683,56830`` into sorted unique (TCP, UDP) ports; as in nmap, ``U:`` and ``T:`` switch the transport."""
    ports: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    transport = "tcp"
    for part in (p.strip() for p in spec.split(",")):
        if part[:2].upper() in ("T:", "U:"):
            transport, part = ("udp" if part[0].upper() == "U" else "tcp"), part[2:].strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise InputError([Diagnostic("--ports", None, None, "bad-port", f"'{part}' is not a port or a range like 8000-8010")]) from None
        if not (1 <= first <= last <= 65535):
            raise InputError([Diagnostic("--ports", None, None, "bad-port", f"'{part}' is outside 1-65535 or the range is reversed")])
        ports[transport].update(range(first, last + 1))
    return tuple(sorted(ports["tcp"])), tuple(sorted(ports["udp"]))


def format_ports(ports: Iterable[int]) -> str:
    """Sorted ports with consecutive runs folded: ``22-23,80,443``."""
    runs: list[list[int]] = []
    for p in sorted(set(ports)):
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _expand(item: str, max_hosts: int) -> tuple[list[IPAddress], Diagnostic | None]:
    if "/" in item:
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            return [], Diagnostic("--target", None, None, "bad-target", f"'{item}' is not a CIDR block: {exc}")
        if net.num_addresses > max_hosts + 2:
            return [], Diagnostic(
                "--target",
                None,
                None,
                "too-many-hosts",
                f"{item} holds {net.num_addresses} addresses, more than {max_hosts}",
                hint="narrow the block or raise --max-hosts",
            )
        hosts: list[IPAddress] = [ipaddress.ip_address(str(a)) for a in (net.hosts() if net.num_addresses > 2 else net)]
        return hosts, None
    try:
        return [ipaddress.ip_address(item)], None
    except ValueError as exc:
        if all(ch in "0123456789." for ch in item) or ":" in item:
            return [], Diagnostic("--target", None, None, "bad-target", f"'{item}' is not an IP address: {exc}")
    try:
        infos = socket.getaddrinfo(item, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return [], Diagnostic(
            "--target", None, None, "bad-target", f"'{item}' is neither an address, a CIDR block nor a host name that resolves ({exc})"
        )
    addresses = sorted({ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}, key=_address_key)
    return addresses, None


def _address_key(a: IPAddress) -> tuple[int, int]:
    return (a.version, int(a))
