"""The fast path: a batch of pcap records decoded in bulk with NumPy, one flow-table update per flow instead of per packet.

Ethernet (untagged) and raw-IP records holding an unfragmented IPv4 TCP or UDP packet are decoded
here: every fixed header field is gathered for the whole batch at once, packets are grouped by flow
(``np.unique`` on the 5-tuple, either direction), and each flow's counts, bytes and times are
summed in bulk. Only the packets whose payload may carry a name, a version or a login (a TLS
handshake record, an HTTP request line, an MQTT CONNECT, or anything on the DNS, mDNS, DHCP,
FTP and telnet ports) go to the deep parsers. Every other packet (VLAN tags, IPv6, fragments,
other link types, anything short) takes the per-packet path of :class:`.flows.FlowTable`.
"""

from __future__ import annotations

import socket
import struct

import numpy as np

from domosec.evidence.traffic.capture import Batch, Packet
from domosec.evidence.traffic.decode import ETHERNET, RAW, RAW_BSD, RAW_IPV4, TCP, UDP
from domosec.evidence.traffic.flows import (
    LOGIN_PACKETS,
    LOGIN_PROTOCOLS,
    PORT_PROTOCOLS,
    Flow,
    FlowTable,
    HostInfo,
    is_local,
    src_is_client,
)

DEEP_PORTS = np.array([53, 5353, 67, 68, 21, 23], dtype=np.int64)
REQUEST_STARTS = np.frombuffer(b"GPHDOCNM", dtype=np.uint8)
PAD = 64


def add_batch(table: FlowTable, batch: Batch) -> None:
    """Add every packet of ``batch`` to ``table``: in bulk where the headers allow, one by one otherwise."""
    if batch.linktype == ETHERNET:
        l2 = 14
    elif batch.linktype in (RAW, RAW_BSD, RAW_IPV4):
        l2 = 0
    else:
        for start, caplen, length, ts in zip(batch.starts, batch.caplens, batch.lengths, batch.ts_ns, strict=True):
            table.add(Packet(ts, batch.linktype, batch.data[start : start + caplen], length))
        return
    buf = np.frombuffer(batch.data + b"\x00" * PAD, dtype=np.uint8)
    starts = np.asarray(batch.starts, dtype=np.int64)
    caplens = np.asarray(batch.caplens, dtype=np.int64)
    ends = starts + caplens
    limit = len(buf) - PAD - 1  # the last byte of the batch; the padding keeps reads of short packets in bounds

    def at(index: np.ndarray) -> np.ndarray:
        values: np.ndarray = buf[np.minimum(index, limit + PAD)].astype(np.int64)
        return values

    l3 = starts + l2
    ok = caplens >= l2 + 20
    if l2:
        ok &= (at(starts + 12) == 0x08) & (at(starts + 13) == 0x00)
    vihl = at(l3)
    ok &= vihl >> 4 == 4
    ok &= ((at(l3 + 6) & 0x3F) == 0) & (at(l3 + 7) == 0)  # neither more fragments nor an offset
    proto = at(l3 + 9)
    ok &= (proto == TCP) | (proto == UDP)
    l4 = l3 + (vihl & 0x0F) * 4
    ok &= ends >= l4 + np.where(proto == TCP, 20, 8)
    total = (at(l3 + 2) << 8) | at(l3 + 3)
    ip_end = np.minimum(ends, l3 + total)
    tcp = proto == TCP
    header = np.where(tcp, (at(l4 + 12) >> 4) * 4, 8)
    pstart = l4 + header
    ok &= (ip_end >= pstart) & (header >= 8)
    slow = np.flatnonzero(~ok)
    for i in slow.tolist():
        start = batch.starts[i]
        table.add(Packet(batch.ts_ns[i], batch.linktype, batch.data[start : start + batch.caplens[i]], batch.lengths[i]))
    rows = np.flatnonzero(ok)
    if not len(rows):
        return
    l3, l4, proto, pstart, ip_end, starts = l3[rows], l4[rows], proto[rows], pstart[rows], ip_end[rows], starts[rows]
    src = (at(l3 + 12) << 24) | (at(l3 + 13) << 16) | (at(l3 + 14) << 8) | at(l3 + 15)
    dst = (at(l3 + 16) << 24) | (at(l3 + 17) << 16) | (at(l3 + 18) << 8) | at(l3 + 19)
    sport = (at(l4) << 8) | at(l4 + 1)
    dport = (at(l4 + 2) << 8) | at(l4 + 3)
    flags = np.where(proto == TCP, at(l4 + 13), 0)
    lengths = np.asarray(batch.lengths, dtype=np.int64)[rows]
    stamps = np.asarray(batch.ts_ns, dtype=np.int64)[rows]
    a = (src << 16) | sport
    b = (dst << 16) | dport
    keys = np.empty(len(rows), dtype=[("proto", "<i8"), ("lo", "<i8"), ("hi", "<i8")])
    keys["proto"], keys["lo"], keys["hi"] = proto, np.minimum(a, b), np.maximum(a, b)
    _uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    packets = np.bincount(inverse)
    sizes = np.bincount(inverse, weights=lengths).astype(np.int64)
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(packets)[:-1]))
    firsts = np.minimum.reduceat(stamps[order], bounds)
    lasts = np.maximum.reduceat(stamps[order], bounds)
    macs_src = macs_dst = None
    if l2:
        macs_dst, macs_src = starts, starts + 6
    flows: list[Flow | None] = []
    data = batch.data
    for group, i in enumerate(first.tolist()):
        flow = _flow_for(table, data, int(proto[i]), int(src[i]), int(sport[i]), int(dst[i]), int(dport[i]), int(flags[i]),
                         int(macs_src[i]) if macs_src is not None else -1, int(macs_dst[i]) if macs_dst is not None else -1, int(stamps[i]))  # fmt: skip
        flows.append(flow)
        if flow is None:
            table.overflow_packets += int(packets[group])
            continue
        flow.first_ns = int(firsts[group]) if flow.packets == 0 else min(flow.first_ns, int(firsts[group]))
        flow.packets += int(packets[group])
        flow.bytes += int(sizes[group])
        flow.last_ns = max(flow.last_ns, int(lasts[group]))
    _register_hosts(table, data, src, macs_src)
    has_payload = ip_end > pstart
    b0 = at(pstart)
    candidates = has_payload & (
        ((b0 == 0x16) & (at(pstart + 1) == 3) & np.isin(at(pstart + 5), (1, 2)))
        | ((b0 == 0x10) & (proto == TCP))
        | np.isin(b0, REQUEST_STARTS)
        | np.isin(sport, DEEP_PORTS)
        | np.isin(dport, DEEP_PORTS)
    )
    for i in np.flatnonzero(candidates).tolist():
        flow = flows[int(inverse[i])]
        if flow is None:
            continue
        address = socket.inet_ntoa(struct.pack("!I", int(src[i])))
        from_client = address == flow.client and int(sport[i]) == flow.client_port
        table.deep_packet(flow, from_client, data[int(pstart[i]) : int(ip_end[i])], address)


def _flow_for(table: FlowTable, data: bytes, proto: int, src: int, sport: int, dst: int, dport: int, flags: int,
              mac_src: int, mac_dst: int, ts: int) -> Flow | None:  # fmt: skip
    s = socket.inet_ntoa(struct.pack("!I", src))
    d = socket.inet_ntoa(struct.pack("!I", dst))
    flow = table.flows.get((proto, s, sport, d, dport)) or table.flows.get((proto, d, dport, s, sport))
    if flow is not None:
        return flow
    if len(table.flows) >= table.max_flows:
        return None
    smac = data[mac_src : mac_src + 6].hex(":") if mac_src >= 0 else ""
    dmac = data[mac_dst : mac_dst + 6].hex(":") if mac_dst >= 0 else ""
    if src_is_client(proto, sport, dport, flags):
        flow = table.flows[(proto, s, sport, d, dport)] = Flow(proto, s, sport, d, dport, smac, dmac, first_ns=ts)
    else:
        flow = table.flows[(proto, d, dport, s, sport)] = Flow(proto, d, dport, s, sport, dmac, smac, first_ns=ts)
    flow.protocol = PORT_PROTOCOLS.get((proto, flow.server_port), "other")
    if flow.protocol in LOGIN_PROTOCOLS:
        flow.deep_left = LOGIN_PACKETS
    return flow


def _register_hosts(table: FlowTable, data: bytes, src: np.ndarray, macs_src: np.ndarray | None) -> None:
    addresses, index = np.unique(src, return_index=True)
    for value, i in zip(addresses.tolist(), index.tolist(), strict=True):
        address = socket.inet_ntoa(struct.pack("!I", value))
        if not is_local(address):
            continue
        info = table.hosts.get(address)
        if info is None:
            info = table.hosts[address] = HostInfo(address)
        if not info.mac and macs_src is not None:
            start = int(macs_src[i])
            info.mac = data[start : start + 6].hex(":")
