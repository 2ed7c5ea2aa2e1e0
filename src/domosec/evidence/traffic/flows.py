"""The flow table: packets grouped by 5-tuple, with what the deep parsers found in each flow, and the hosts seen.

A flow's client is the side that sent the first SYN (TCP) or, failing that, the side whose port is
not a known service port. Only payloads that may carry a name, a version or a login
(:func:`is_candidate`, and the first payload of each direction of a TCP connection) are parsed
deeply, at most :data:`DEEP_PACKETS` per flow; name services (DNS, mDNS, DHCP) are parsed whole.
IP fragments are reassembled first (:mod:`.fragments`); a TLS hello, HTTP request head or MQTT
CONNECT split across TCP segments is reassembled (:mod:`.streams`). At most ``max_flows`` flows are
kept: packets of further flows are counted and reported, so memory stays bounded.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from domosec.evidence.traffic import deep
from domosec.evidence.traffic.capture import Packet
from domosec.evidence.traffic.decode import KNOWN_LINKTYPES, TCP, UDP, Decoded, decode, transport
from domosec.evidence.traffic.fragments import Datagram, Reassembler
from domosec.evidence.traffic.payload import INSPECT_PAYLOADS, inspect
from domosec.evidence.traffic.presence import Activity
from domosec.evidence.traffic.streams import WINDOW, Streams

Payload = bytes  # a name for the type inside Flow, whose field ``bytes`` hides it
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
DEEP_PORTS = (53, 5353, 67, 68, 1900, 21, 23)
MAX_ANNOUNCED = 32  # SSDP servers and types kept per host
REQUEST_STARTS = b"GPHDOCNM"  # the first letters of the HTTP methods deep.http_request reads


def is_candidate(proto: int, sport: int, dport: int, payload: bytes) -> bool:
    """Whether a payload may carry a name, a version or a login (the bulk path selects the same packets with NumPy)."""
    b0 = payload[0]
    return (
        (b0 == 0x16 and len(payload) >= 6 and payload[1] == 3 and payload[5] in (1, 2))
        or (b0 == 0x10 and proto == TCP)
        or b0 in REQUEST_STARTS
        or sport in DEEP_PORTS
        or dport in DEEP_PORTS
    )


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
    client_next: int = -1  # the sequence number of the client's first byte (from its SYN), -1 if unseen
    server_next: int = -1
    started: int = 0  # directions whose first payload came: 1 the client's, 2 the server's
    assembling: int = 0  # directions with a message being reassembled
    inspect_left: int = INSPECT_PAYLOADS  # payloads still to look at for personal-data markers (payload.py)
    sample: Payload = b""  # the first payload bytes of an unknown protocol, for its entropy (payload.py)
    markers: dict[str, int] = field(default_factory=dict)  # kind of personal data → how often seen
    carry_up: Payload = b""  # the end of the client's last payload inspected, for a marker continued in its next (payload.py)
    carry_down: Payload = b""  # the same for the server's

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
    announced: tuple[set[str], set[str]] | None = None  # SSDP SERVER headers and NT/ST types, made for a host that announces


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
    fragments_lost: int = 0  # fragments of datagrams whose first fragment never came: counted, in no flow
    datagrams_reassembled: int = 0
    overflow_packets: int = 0
    unknown_linktypes: set[int] = field(default_factory=set)
    reassembler: Reassembler = field(default_factory=Reassembler)
    streams: Streams = field(init=False)
    activity: Activity = field(default_factory=Activity)  # bytes sent per local host and 5-minute bin (presence.py)

    def __post_init__(self) -> None:
        self.streams = Streams(self.deep_packet)

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
        if d.piece is not None:
            self.fragment(d, packet.ts_ns, packet.length)
            return
        self._packet(d, packet.ts_ns, packet.ts_ns, 1, packet.length)

    def fragment(self, d: Decoded, ts_ns: int, length: int) -> None:
        """Hold one IP fragment; a datagram it completes (or one given up) goes to its flow."""
        assert d.piece is not None
        self.fragments += 1
        for gram in self.reassembler.add(d.proto, d.src, d.dst, d.src_mac, d.dst_mac, d.piece, ts_ns, length):
            self._datagram(gram)

    def _datagram(self, gram: Datagram) -> None:
        if gram.outcome == "complete":
            self.datagrams_reassembled += 1
            d = transport(gram.pieces[0], gram.proto, gram.src, gram.dst, gram.src_mac, gram.dst_mac)
        elif 0 in gram.pieces:  # the first fragment names the flow; the contents are not read
            d = transport(gram.pieces[0], gram.proto, gram.src, gram.dst, gram.src_mac, gram.dst_mac)
            d.payload = b""
        else:
            self.fragments_lost += gram.frames
            return
        self._packet(d, gram.first_ns, gram.last_ns, gram.frames, gram.wire_bytes)

    def flow_for(self, d: Decoded, ts_ns: int) -> tuple[Flow | None, bool]:
        """The flow of a decoded packet (made when new, None past ``max_flows``) and whether it came from the client."""
        flow = self.flows.get((d.proto, d.src, d.sport, d.dst, d.dport))
        if flow is not None:
            return flow, True
        flow = self.flows.get((d.proto, d.dst, d.dport, d.src, d.sport))
        if flow is not None:
            return flow, False
        if len(self.flows) >= self.max_flows:
            return None, False
        from_client = src_is_client(d.proto, d.sport, d.dport, d.tcp_flags)
        if from_client:
            flow = Flow(d.proto, d.src, d.sport, d.dst, d.dport, d.src_mac, d.dst_mac, first_ns=ts_ns)
        else:
            flow = Flow(d.proto, d.dst, d.dport, d.src, d.sport, d.dst_mac, d.src_mac, first_ns=ts_ns)
        self.flows[(d.proto, flow.client, flow.client_port, flow.server, flow.server_port)] = flow
        flow.protocol = PORT_PROTOCOLS.get((d.proto, flow.server_port), "other")
        if flow.protocol in LOGIN_PROTOCOLS:
            flow.deep_left = LOGIN_PACKETS
        return flow, from_client

    def _packet(self, d: Decoded, first_ns: int, last_ns: int, frames: int, wire: int) -> None:
        flow, from_client = self.flow_for(d, first_ns)
        if flow is None:
            self.overflow_packets += frames
            return
        flow.packets += frames
        flow.bytes += wire
        flow.first_ns = min(flow.first_ns, first_ns)
        flow.last_ns = max(flow.last_ns, last_ns)
        if d.fragment:
            flow.fragments += frames
        if not flow.client_mac or not flow.server_mac:  # a link layer without addresses (Linux cooked, raw IP) came first
            client_mac, server_mac = (d.src_mac, d.dst_mac) if from_client else (d.dst_mac, d.src_mac)
            flow.client_mac, flow.server_mac = flow.client_mac or client_mac, flow.server_mac or server_mac
        if _is_local(d.src):
            info = self.hosts.get(d.src)
            if info is None:
                info = self.hosts[d.src] = HostInfo(d.src)
            info.mac = info.mac or d.src_mac
        self.activity.add(d.src, last_ns, wire)
        if d.proto == TCP and d.tcp_flags & 0x02:
            syn(flow, from_client, d.seq)
        if not d.payload:
            return
        if d.proto == TCP:
            self.tcp_payload(flow, from_client, d.seq, d.payload, d.src, last_ns)
        elif is_candidate(d.proto, d.sport, d.dport, d.payload):
            self.deep_packet(flow, from_client, d.payload, d.src)
        if flow.inspect_left > 0:
            inspect(flow, d.payload, last_ns, d.src, self.activity)

    def tcp_payload(self, flow: Flow, from_client: bool, seq: int, payload: bytes, src: str, ts_ns: int) -> None:
        """A TCP payload: parsed when it starts a message, held when that message continues in later segments."""
        bit = 1 if from_client else 2
        if flow.assembling & bit:
            self.streams.feed(flow, from_client, seq, payload, src, ts_ns)
            return
        first = not flow.started & bit
        flow.started |= bit
        sport, dport = (flow.client_port, flow.server_port) if from_client else (flow.server_port, flow.client_port)
        if flow.protocol in LOGIN_PROTOCOLS:  # telnet and FTP are read a line (or a keystroke) at a time
            if is_candidate(TCP, sport, dport, payload):
                self.deep_packet(flow, from_client, payload, src)
            return
        if first:
            expected = flow.client_next if from_client else flow.server_next
            if expected >= 0 and 0 < (seq - expected) & 0xFFFFFFFF < WINDOW:  # earlier bytes come later
                self.streams.open(flow, from_client, expected, seq, payload, src, ts_ns)
                return
        elif not is_candidate(TCP, sport, dport, payload):
            return
        state, message = deep.message(payload, start=first)
        if state == deep.MORE:
            self.streams.open(flow, from_client, seq, seq, payload, src, ts_ns)
        elif state == deep.WHOLE:
            self.deep_packet(flow, from_client, message, src)
        elif state == deep.TOO_LONG:  # not held: what this segment shows is read
            self.streams.count("size")
            self.deep_packet(flow, from_client, payload, src)
        elif is_candidate(TCP, sport, dport, payload):
            self.deep_packet(flow, from_client, payload, src)

    def finish(self) -> None:
        """At the end of the capture: datagrams and messages still waiting are counted (and read as far as they go)."""
        for gram in self.reassembler.flush():
            self._datagram(gram)
        self.streams.finish()

    def reading_warnings(self) -> list[str]:
        """What reassembly had to drop, in words (nothing when every fragment and split message was read)."""
        found = []
        dropped = self.reassembler.dropped
        if dropped or self.fragments_lost:
            reasons = ", ".join(f"{count} {FRAGMENT_REASONS[reason]}" for reason, count in sorted(dropped.items()))
            found.append(
                f"{sum(dropped.values())} fragmented IP datagrams were not reassembled ({reasons}): their packets were counted, "
                f"their contents not read" + (f"; {self.fragments_lost} fragments belong to no flow" if self.fragments_lost else "")
            )
        return found + self.streams.warnings()

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
        if protocol == "ssdp":
            announced = deep.ssdp_announcement(payload)
            info = self.hosts.get(src)
            if announced is not None and info is not None:
                if info.announced is None:
                    info.announced = (set(), set())
                for value, kept in zip(announced, info.announced, strict=True):
                    if value and len(kept) < MAX_ANNOUNCED:
                        kept.add(value)
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


def syn(flow: Flow, from_client: bool, seq: int) -> None:
    """Note where a direction's bytes start (a SYN's sequence number plus one), so a segment out of order is seen as such."""
    if from_client and flow.client_next < 0:
        flow.client_next = (seq + 1) & 0xFFFFFFFF
    elif not from_client and flow.server_next < 0:
        flow.server_next = (seq + 1) & 0xFFFFFFFF


FRAGMENT_REASONS = {
    "overlap": "with overlapping fragments (dropped whole)",
    "timeout": "incomplete after 30 s",
    "memory": "dropped to stay within 4 MB",
    "too-large": "larger than 65,535 bytes",
    "too-many": "in more than 256 fragments",
    "unfinished": "incomplete when the capture ended",
}


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
