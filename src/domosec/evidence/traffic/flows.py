"""The flow table: packets grouped by 5-tuple, with what the deep parsers found in each flow, and the hosts seen.

A flow's client is the side that sent the first SYN (TCP) or, failing that, the side whose port is
not a known service port. Only the first :data:`DEEP_PACKETS` payloads of a flow are parsed
deeply; name services (DNS, mDNS, DHCP) are parsed whole. At most ``max_flows`` flows are kept:
packets of further flows are counted and reported, so memory stays bounded.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from domosec.evidence.traffic import deep
from domosec.evidence.traffic.capture import Packet
from domosec.evidence.traffic.decode import KNOWN_LINKTYPES, TCP, UDP, decode

DEEP_PACKETS = 6
LOGIN_PACKETS = 200  # telnet and FTP: option negotiation and prompts come before the login, a character at a time
LOGIN_PROTOCOLS = frozenset({"telnet", "ftp"})
PORT_PROTOCOLS: dict[tuple[int, int], str] = {
    **{(TCP, p): "http" for p in (80, 8080, 8000, 8008, 8081, 8123)},
    **{(TCP, p): "https" for p in (443, 8443)},
    (TCP, 1883): "mqtt",
    (TCP, 8883): "mqtts",
    (UDP, 5683): "coap",
    (UDP, 5684): "coaps",
    (TCP, 554): "rtsp",
    (TCP, 322): "rtsps",
    (TCP, 23): "telnet",
    (TCP, 21): "ftp",
    (TCP, 22): "ssh",
    (UDP, 53): "dns",
    (TCP, 53): "dns",
    (TCP, 853): "dns-over-tls",
    (UDP, 123): "ntp",
    (UDP, 1900): "ssdp",
    (UDP, 5353): "mdns",
    (UDP, 443): "quic",
    (UDP, 67): "dhcp",
    (UDP, 68): "dhcp",
}
SERVICE_PORTS = frozenset(port for _proto, port in PORT_PROTOCOLS)
ENCRYPTED = frozenset({"https", "mqtts", "coaps", "rtsps", "tls", "ssh", "quic", "dns-over-tls"})
TLS_OVER = {"mqtt": "mqtts", "rtsp": "rtsps", "http": "https"}


@dataclass(slots=True)
class Flow:
    """One conversation: client and server ends, counts, times (ns) and what its payloads revealed."""

    transport: int
    client: str
    client_port: int
    server: str
    server_port: int
    client_mac: str = ""
    server_mac: str = ""
    packets: int = 0
    bytes: int = 0
    first_ns: int = 0
    last_ns: int = 0
    protocol: str = "other"
    sni: str = ""
    tls_version: str = ""
    http_host: str = ""
    user_agent: str = ""
    credentials: set[str] = field(default_factory=set)
    fragments: int = 0
    deep_left: int = DEEP_PACKETS
    password_asked: bool = False

    @property
    def encrypted(self) -> bool:
        return self.protocol in ENCRYPTED

    @property
    def transport_name(self) -> str:
        return {TCP: "tcp", UDP: "udp"}.get(self.transport, str(self.transport))


@dataclass
class HostInfo:
    """A local address: its MAC address and the names it gave itself (DHCP) or announced (mDNS)."""

    address: str
    mac: str = ""
    hostnames: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)


@dataclass
class FlowTable:
    """Flows, local hosts and DNS answers of one capture."""

    max_flows: int = 500_000
    flows: dict[tuple[int, str, int, str, int], Flow] = field(default_factory=dict)
    hosts: dict[str, HostInfo] = field(default_factory=dict)
    answers: dict[str, set[str]] = field(default_factory=dict)  # address → names a DNS answer gave it
    dhcp_names: dict[str, str] = field(default_factory=dict)  # MAC → DHCP host name
    not_ip: int = 0
    fragments: int = 0
    overflow_packets: int = 0
    unknown_linktypes: set[int] = field(default_factory=set)

    def add_all(self, packets: Iterable[Packet]) -> None:
        for packet in packets:
            self.add(packet)

    def add(self, packet: Packet) -> None:
        if packet.linktype not in KNOWN_LINKTYPES:
            self.unknown_linktypes.add(packet.linktype)
            return
        d = decode(packet.linktype, packet.data)
        if d is None:
            self.not_ip += 1
            return
        if d.fragment:
            self.fragments += 1
        key = (d.proto, d.src, d.sport, d.dst, d.dport)
        flow = self.flows.get(key)
        from_client = True
        if flow is None:
            flow = self.flows.get((d.proto, d.dst, d.dport, d.src, d.sport))
            from_client = False
        if flow is None:
            if len(self.flows) >= self.max_flows:
                self.overflow_packets += 1
                return
            from_client = src_is_client(d.proto, d.sport, d.dport, d.tcp_flags)
            if from_client:
                flow = Flow(d.proto, d.src, d.sport, d.dst, d.dport, d.src_mac, d.dst_mac, first_ns=packet.ts_ns)
                self.flows[key] = flow
            else:
                flow = Flow(d.proto, d.dst, d.dport, d.src, d.sport, d.dst_mac, d.src_mac, first_ns=packet.ts_ns)
                self.flows[(d.proto, d.dst, d.dport, d.src, d.sport)] = flow
            flow.protocol = PORT_PROTOCOLS.get((d.proto, flow.server_port), "other")
            if flow.protocol in LOGIN_PROTOCOLS:
                flow.deep_left = LOGIN_PACKETS
        flow.packets += 1
        flow.bytes += packet.length
        flow.last_ns = max(flow.last_ns, packet.ts_ns)
        if d.fragment:
            flow.fragments += 1
        if _is_local(d.src):
            info = self.hosts.get(d.src)
            if info is None:
                info = self.hosts[d.src] = HostInfo(d.src)
            info.mac = info.mac or d.src_mac
        if d.payload:
            self.deep_packet(flow, from_client, d.payload, d.src)

    def deep_packet(self, flow: Flow, from_client: bool, payload: bytes, src: str) -> None:
        """Parse one payload of ``flow`` deeply (within the flow's budget) and record what it shows."""
        protocol = flow.protocol
        if protocol in ("dns", "mdns"):
            asked, answered = deep.dns_names(payload)
            if from_client and protocol == "dns" and src in self.hosts:
                self.hosts[src].asked.update(asked)
            for name, address in answered:
                self.answers.setdefault(address, set()).add(name.removesuffix("."))
                if protocol == "mdns" and address in self.hosts and name.endswith(".local"):
                    self.hosts[address].hostnames.add(name.removesuffix(".local"))
            return
        if protocol == "dhcp":
            found = deep.dhcp_hostname(payload)
            if found is not None:
                self.dhcp_names[found[0]] = found[1]
            return
        if flow.deep_left <= 0:
            return
        flow.deep_left -= 1
        hello = deep.tls_hello(payload)
        if hello is not None:
            side, version, sni = hello
            flow.sni = flow.sni or sni
            if side == "server" or not flow.tls_version:
                flow.tls_version = version
            flow.protocol = TLS_OVER.get(protocol, protocol if protocol in ENCRYPTED else "tls")
            return
        if from_client:
            request = deep.http_request(payload)
            if request is not None:
                flow.http_host, flow.user_agent = request[0] or flow.http_host, request[1] or flow.user_agent
                flow.protocol = "http" if protocol in ("other", "http") else protocol
                if request[2]:
                    flow.credentials.add("HTTP Basic authorization")
                return
            connect = deep.mqtt_connect(payload)
            if connect is not None:
                flow.protocol = "mqtt"
                if connect[1]:
                    flow.credentials.add("MQTT CONNECT with user name and password")
                elif connect[0]:
                    flow.credentials.add("MQTT CONNECT with user name")
                return
            if protocol == "ftp" and deep.ftp_login(payload):
                flow.credentials.add("FTP PASS command")
            elif protocol == "telnet" and flow.password_asked:
                flow.credentials.add("telnet login after a password prompt")
        elif protocol == "telnet" and deep.telnet_prompt(payload):
            flow.password_asked = True

    def sorted_flows(self) -> list[Flow]:
        return sorted(self.flows.values(), key=lambda f: (f.first_ns, f.client, f.client_port, f.server, f.server_port, f.transport))


def src_is_client(proto: int, sport: int, dport: int, flags: int) -> bool:
    if proto == TCP and flags & 0x12 == 0x02:
        return True
    if proto == TCP and flags & 0x12 == 0x12:
        return False
    if (proto, sport) in PORT_PROTOCOLS and (proto, dport) not in PORT_PROTOCOLS:
        return False
    return not (sport < 1024 <= dport)


_LOCAL_CACHE: dict[str, bool] = {}


def _is_local(address: str) -> bool:
    local = _LOCAL_CACHE.get(address)
    if local is None:
        parsed = ipaddress.ip_address(address)
        local = (parsed.is_private or parsed.is_link_local) and not (parsed.is_multicast or parsed.is_unspecified or parsed.is_reserved)
        local = local and address != "255.255.255.255"
        if len(_LOCAL_CACHE) < 100_000:
            _LOCAL_CACHE[address] = local
    return local


def is_local(address: str) -> bool:
    """Whether ``address`` is a home-network address (private, link-local or loopback; not multicast)."""
    return _is_local(address)
