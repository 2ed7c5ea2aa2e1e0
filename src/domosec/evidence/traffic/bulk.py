"""The fast path: a batch of records decoded in bulk with NumPy, one flow-table update per flow instead of per packet.

Every record whose headers sit at fixed offsets is decoded here: Ethernet (with up to two VLAN tags),
Linux cooked (v1, v2), BSD loopback and raw-IP link layers, carrying an unfragmented IPv4 or IPv6
(no extension header) TCP or UDP packet, whatever the mix of link types in the batch (pcapng with
several interfaces). Every fixed header field is gathered for the whole batch at once, packets are
grouped by flow (a 64-bit hash of the 5-tuple, either direction, checked for collisions), and each
flow's counts, bytes and times are summed in bulk. Only the packets that may carry a name, a version or a login go to the
deep parsers in Python (:func:`.flows.is_candidate`, the first payload of each direction of a TCP
connection, and the segments of a message being reassembled). Every other record (fragments, IPv6
extension headers, other link types, anything short) takes the per-packet path of
:class:`.flows.FlowTable`; a test checks both paths give the same flow table.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import numpy as np

from domosec.evidence.traffic.capture import Batch
from domosec.evidence.traffic.decode import (
    ETHERNET,
    LINUX_SLL,
    LINUX_SLL2,
    LOOP,
    NULL,
    RAW,
    RAW_BSD,
    RAW_IPV4,
    RAW_IPV6,
    TCP,
    UDP,
    VLAN_TYPES,
    Decoded,
)
from domosec.evidence.traffic.flows import DEEP_PORTS, REQUEST_STARTS, Flow, FlowTable, HostInfo, is_local, syn
from domosec.evidence.traffic.payload import inspect
from domosec.evidence.traffic.presence import BIN_NS

PAD = 64
_VLANS = np.array(sorted(VLAN_TYPES), dtype=np.int64)
_NIBBLE_LINKS = np.array([NULL, LOOP, RAW, RAW_BSD, RAW_IPV4, RAW_IPV6], dtype=np.int64)
_REQUEST_STARTS = np.frombuffer(REQUEST_STARTS, dtype=np.uint8).astype(np.int64)
_DEEP_PORTS = np.array(DEEP_PORTS, dtype=np.int64)
_BYTES16 = np.arange(16, dtype=np.int64)
_KEY = np.dtype([("proto", "<i8"), ("ver", "<i8"), ("ahi", "<u8"), ("alo", "<u8"), ("aport", "<i8"),
                 ("bhi", "<u8"), ("blo", "<u8"), ("bport", "<i8")])  # fmt: skip
_ADDR = np.dtype([("ver", "<i8"), ("hi", "<u8"), ("lo", "<u8")])


class _View:
    """The batch's bytes as a NumPy array, read at many offsets at once (offsets past the end read padding)."""

    def __init__(self, data: bytes) -> None:
        self.buf = np.frombuffer(data + b"\x00" * PAD, dtype=np.uint8)
        self.limit = len(self.buf) - 1

    def u8(self, index: np.ndarray) -> np.ndarray:
        values: np.ndarray = self.buf[np.minimum(index, self.limit)].astype(np.int64)
        return values

    def u16(self, index: np.ndarray) -> np.ndarray:
        values: np.ndarray = (self.u8(index) << 8) | self.u8(index + 1)
        return values

    def u32(self, index: np.ndarray) -> np.ndarray:
        values: np.ndarray = (self.u16(index) << 16) | self.u16(index + 2)
        return values

    def addr16(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw = np.ascontiguousarray(self.buf[np.minimum(index[:, None] + _BYTES16, self.limit)])
        halves = raw.view(">u8").reshape(-1, 2).astype(np.uint64)
        return halves[:, 0], halves[:, 1]


def add_batch(table: FlowTable, batch: Batch) -> None:
    """Add every packet of ``batch`` to ``table``: in bulk where the headers allow, one by one otherwise."""
    n = len(batch.starts)
    links = np.full(n, batch.linktype, dtype=np.int64) if batch.linktypes is None else np.asarray(batch.linktypes, dtype=np.int64)
    view = _View(batch.data)
    starts = np.asarray(batch.starts, dtype=np.int64)
    ends = starts + np.asarray(batch.caplens, dtype=np.int64)
    eth, sll, sll2 = links == ETHERNET, links == LINUX_SLL, links == LINUX_SLL2
    by_nibble = np.isin(links, _NIBBLE_LINKS)
    l3 = starts + np.select([eth, sll, sll2, (links == NULL) | (links == LOOP)], [14, 16, 20, 4], 0)
    ethertype = np.select([eth, sll, sll2], [view.u16(starts + 12), view.u16(starts + 14), view.u16(starts)], 0)
    for _ in range(2):  # 802.1Q / 802.1ad tags
        tagged = eth & np.isin(ethertype, _VLANS)
        ethertype = np.where(tagged, view.u16(l3 + 2), ethertype)
        l3 = l3 + 4 * tagged
    nibble = view.u8(l3) >> 4
    v4 = (nibble == 4) & (by_nibble | (ethertype == 0x0800))
    v6 = (nibble == 6) & (by_nibble | (ethertype == 0x86DD))
    ihl = (view.u8(l3) & 0x0F) * 4
    proto = np.where(v4, view.u8(l3 + 9), view.u8(l3 + 6))
    l4 = np.where(v4, l3 + ihl, l3 + 40)
    ip_end = np.minimum(ends, np.where(v4, l3 + view.u16(l3 + 2), l3 + 40 + view.u16(l3 + 4)))
    tcp = proto == TCP
    header = np.where(tcp, (view.u8(l4 + 12) >> 4) * 4, 8)
    pstart = l4 + header
    ok = (v4 & (ihl >= 20) & (view.u16(l3 + 2) >= ihl) & ((view.u16(l3 + 6) & 0x3FFF) == 0)) | v6
    ok &= (ends >= l3 + 40) | (v4 & (ends >= l3 + 20))
    ok &= (tcp | (proto == UDP)) & (header >= np.where(tcp, 20, 8)) & (ip_end >= pstart) & (ends >= l4 + np.where(tcp, 20, 8))
    for i in np.flatnonzero(~ok).tolist():
        table.add(batch.packet(i))
    rows = np.flatnonzero(ok)
    if len(rows):
        _add_rows(
            table, batch, view, rows, links[rows], starts[rows], l3[rows], l4[rows], proto[rows], pstart[rows], ip_end[rows], v4[rows]
        )


def _add_rows(table: FlowTable, batch: Batch, view: _View, rows: np.ndarray, links: np.ndarray, starts: np.ndarray, l3: np.ndarray,
              l4: np.ndarray, proto: np.ndarray, pstart: np.ndarray, ip_end: np.ndarray, v4: np.ndarray) -> None:  # fmt: skip
    m = len(rows)
    src_hi, src_lo = np.zeros(m, dtype=np.uint64), view.u32(l3 + 12).astype(np.uint64)
    dst_hi, dst_lo = np.zeros(m, dtype=np.uint64), view.u32(l3 + 16).astype(np.uint64)
    six = np.flatnonzero(~v4)
    if len(six):
        src_hi[six], src_lo[six] = view.addr16(l3[six] + 8)
        dst_hi[six], dst_lo[six] = view.addr16(l3[six] + 24)
    ver = np.where(v4, 4, 6)
    sport, dport = view.u16(l4), view.u16(l4 + 2)
    tcp = proto == TCP
    flags = np.where(tcp, view.u8(l4 + 13), 0)
    seq = np.where(tcp, view.u32(l4 + 4), 0)
    lengths = np.asarray(batch.lengths, dtype=np.int64)[rows]
    stamps = np.asarray(batch.ts_ns, dtype=np.int64)[rows]
    src_first = (src_hi < dst_hi) | ((src_hi == dst_hi) & ((src_lo < dst_lo) | ((src_lo == dst_lo) & (sport <= dport))))
    keys = np.empty(m, dtype=_KEY)
    keys["proto"], keys["ver"] = proto, ver
    keys["ahi"], keys["alo"], keys["aport"] = np.where(src_first, src_hi, dst_hi), np.where(src_first, src_lo, dst_lo), np.where(src_first, sport, dport)  # fmt: skip
    keys["bhi"], keys["blo"], keys["bport"] = np.where(src_first, dst_hi, src_hi), np.where(src_first, dst_lo, src_lo), np.where(src_first, dport, sport)  # fmt: skip
    first, inverse = _groups(keys)
    counts = np.bincount(inverse)
    sizes = np.bincount(inverse, weights=lengths).astype(np.int64)
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(counts)[:-1]))
    firsts = np.minimum.reduceat(stamps[order], bounds)
    lasts = np.maximum.reduceat(stamps[order], bounds)
    eth, sll, sll2 = links == ETHERNET, links == LINUX_SLL, links == LINUX_SLL2
    smac = np.select(
        [eth, sll & (view.u16(starts + 4) == 6), sll2 & (view.u8(starts + 11) == 6)], [starts + 6, starts + 6, starts + 12], -1
    )
    dmac = np.where(eth, starts, -1)
    data = batch.data

    def mac(at: int) -> str:
        return data[at : at + 6].hex(":") if at >= 0 else ""

    flows: list[Flow | None] = [None] * len(first)
    client_is_src = np.zeros(len(first), dtype=bool)
    started = np.zeros(len(first), dtype=np.int64)
    inspect_left = np.zeros(len(first), dtype=np.int64)
    assembling: list[tuple[int, int]] = []
    for group in np.argsort(first).tolist():  # in file order, so a full table (--max-flows) keeps the flows seen first
        i = int(first[group])
        s, d = _address(int(ver[i]), int(src_hi[i]), int(src_lo[i])), _address(int(ver[i]), int(dst_hi[i]), int(dst_lo[i]))
        probe = Decoded(mac(int(smac[i])), mac(int(dmac[i])), s, d, int(proto[i]), int(sport[i]), int(dport[i]), b"", int(flags[i]), False)
        flow, from_client = table.flow_for(probe, int(stamps[i]))
        flows[group] = flow
        if flow is None:
            table.overflow_packets += int(counts[group])
            continue
        client_is_src[group] = from_client
        started[group] = flow.started
        inspect_left[group] = flow.inspect_left
        assembling.extend((group, bit) for bit in (1, 2) if flow.assembling & bit)
        flow.first_ns = int(firsts[group]) if flow.packets == 0 else min(flow.first_ns, int(firsts[group]))
        flow.packets += int(counts[group])
        flow.bytes += int(sizes[group])
        flow.last_ns = max(flow.last_ns, int(lasts[group]))
    kept = np.flatnonzero(np.array([flow is not None for flow in flows], dtype=bool)[inverse])  # packets of flows over the limit
    _hosts_and_activity(table, ver[kept], src_hi[kept], src_lo[kept], smac[kept], stamps[kept], lengths[kept], data)
    lead = first[inverse]
    same_src = (src_hi == src_hi[lead]) & (src_lo == src_lo[lead]) & (sport == sport[lead])
    from_client = same_src == client_is_src[inverse]
    missing = [g for g, flow in enumerate(flows) if flow is not None and (not flow.client_mac or not flow.server_mac)]
    if missing and (smac >= 0).any():  # as the per-packet path: the first packet with the address fills it in
        for side, positions in (("client_mac", np.where(from_client, smac, dmac)), ("server_mac", np.where(from_client, dmac, smac))):
            valid = np.flatnonzero(positions >= 0)
            groups, index = np.unique(inverse[valid], return_index=True)
            found = dict(zip(groups.tolist(), positions[valid[index]].tolist(), strict=True))
            for g in missing:
                flow = flows[g]
                if flow is not None and not getattr(flow, side) and g in found:
                    setattr(flow, side, mac(found[g]))
    rows_of = _Rows(flows, inverse, from_client, tcp, seq, pstart, ip_end, stamps, data)
    size = ip_end - pstart
    b0 = view.u8(pstart)
    candidates = (size > 0) & (
        ((b0 == 0x16) & (size >= 6) & (view.u8(pstart + 1) == 3) & np.isin(view.u8(pstart + 5), (1, 2)))
        | ((b0 == 0x10) & tcp)
        | np.isin(b0, _REQUEST_STARTS)
        | np.isin(sport, _DEEP_PORTS)
        | np.isin(dport, _DEEP_PORTS)
    )
    _deep(table, rows_of, candidates, tcp & ((flags & 0x02) != 0), size, started, inspect_left, assembling)


@dataclass
class _Rows:
    """The decoded rows of a batch, for handing single payloads to the flow table."""

    flows: list[Flow | None]
    inverse: np.ndarray
    from_client: np.ndarray
    tcp: np.ndarray
    seq: np.ndarray
    pstart: np.ndarray
    ip_end: np.ndarray
    stamps: np.ndarray
    data: bytes

    def payload(self, i: int) -> bytes:
        return self.data[int(self.pstart[i]) : int(self.ip_end[i])]


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal keys: the first row of each group, and each row's group (groups in the order of a 64-bit hash).

    Sorting 64-bit hashes is several times faster than sorting the structured keys; a hash collision
    (two different keys in one group) is checked for, and then the keys themselves are sorted.
    """
    digest = np.zeros(len(keys), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in keys.dtype.names or ():
            digest = (digest ^ keys[name].astype(np.uint64)) * _MIX
            digest ^= digest >> np.uint64(29)
    _u, first, inverse = np.unique(digest, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.array_equal(keys[first[inverse]], keys):
        _u, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    return first, inverse


def _ranks(groups: np.ndarray) -> np.ndarray:
    """Each element's rank among the elements of its group, in order (0 for the first)."""
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - np.searchsorted(ordered, ordered, side="left")
    return ranks


def _deep(table: FlowTable, rows: _Rows, candidates: np.ndarray, syns: np.ndarray, size: np.ndarray, started: np.ndarray,
          inspect_left: np.ndarray, assembling: list[tuple[int, int]]) -> None:  # fmt: skip
    """Hand the payloads that may matter to the deep parsers and to payload inspection, as the per-packet path would.

    Outside reassembly a payload that is neither a candidate nor the first of its direction changes
    nothing, so only those (and the SYNs, which tell where a direction's bytes start) are handed over,
    in file order. Once a flow holds a message being reassembled, every later payload and SYN of that
    flow is handed over in file order (a "burst"), exactly as the per-packet path sees them.
    """
    inverse = rows.inverse
    bit = np.where(rows.from_client, 1, 2)
    with_payload = rows.tcp & (size > 0)
    fresh = np.flatnonzero(with_payload & ((started[inverse] & bit) == 0))
    _u, first_fresh = np.unique(inverse[fresh] * 2 + bit[fresh] - 1, return_index=True)
    deep = np.zeros(len(size), dtype=bool)
    deep[np.flatnonzero(candidates)] = True
    deep[fresh[first_fresh]] = True
    payloads = np.flatnonzero(size > 0)
    look = np.zeros(len(size), dtype=bool)
    look[payloads[_ranks(inverse[payloads]) < inspect_left[inverse[payloads]]]] = True
    done = np.zeros(len(size), dtype=bool)
    by_group: tuple[np.ndarray, np.ndarray] | None = None

    def one(i: int, flow: Flow, every: bool) -> bool:
        """Hand row ``i`` over (``every``: whatever it holds); whether it opened a reassembly."""
        before = flow.assembling
        if syns[i]:
            syn(flow, bool(rows.from_client[i]), int(rows.seq[i]))
        if size[i] <= 0:
            return False
        if rows.tcp[i] and (every or deep[i]):
            table.tcp_payload(flow, bool(rows.from_client[i]), int(rows.seq[i]), rows.payload(i), _source(flow, rows, i), int(rows.stamps[i]))  # fmt: skip
        elif deep[i]:
            table.deep_packet(flow, bool(rows.from_client[i]), rows.payload(i), _source(flow, rows, i))
        if look[i] and flow.inspect_left > 0:
            inspect(flow, rows.payload(i), int(rows.stamps[i]), _source(flow, rows, i), table.activity)
        return bool(flow.assembling & ~before)

    def burst(group: int, after: int) -> None:
        nonlocal by_group
        if by_group is None:
            either = np.flatnonzero((size > 0) | syns)
            order = either[np.argsort(inverse[either], kind="stable")]
            by_group = (order, np.searchsorted(inverse[order], np.arange(len(rows.flows) + 1), side="left"))
        order, bounds = by_group
        flow = rows.flows[group]
        assert flow is not None
        for r in order[bounds[group] : bounds[group + 1]].tolist():
            if r > after:
                one(r, flow, True)
                done[r] = True

    for group in sorted({g for g, _bit in assembling}):
        burst(group, -1)
    for i in np.flatnonzero((deep | look | syns) & ~done).tolist():
        if done[i]:
            continue
        flow = rows.flows[int(inverse[i])]
        if flow is not None and one(i, flow, False):
            burst(int(inverse[i]), i)


def _source(flow: Flow, rows: _Rows, i: int) -> str:
    return flow.client if rows.from_client[i] else flow.server


def _address(ver: int, hi: int, lo: int) -> str:
    """An address as text, from its version and the high and low 64 bits (an IPv4 address is the low 32)."""
    if ver == 4:
        return socket.inet_ntoa(lo.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, hi.to_bytes(8, "big") + lo.to_bytes(8, "big"))


def _hosts_and_activity(table: FlowTable, ver: np.ndarray, hi: np.ndarray, lo: np.ndarray, smac: np.ndarray, stamps: np.ndarray,
                        lengths: np.ndarray, data: bytes) -> None:  # fmt: skip
    """Register the local addresses that sent packets (with their MAC address), and the bytes each sent per time bin."""
    keys = np.empty(len(ver), dtype=_ADDR)
    keys["ver"], keys["hi"], keys["lo"] = ver, hi, lo
    index, which = _groups(keys)
    with_mac = np.flatnonzero(smac >= 0)
    _u2, mac_index = np.unique(which[with_mac], return_index=True)
    mac_at = dict(zip(which[with_mac[mac_index]].tolist(), smac[with_mac[mac_index]].tolist(), strict=True))
    names = [_address(v, h, low) for v, h, low in zip(ver[index].tolist(), hi[index].tolist(), lo[index].tolist(), strict=True)]
    for n, address in enumerate(names):
        if not is_local(address):
            continue
        info = table.hosts.get(address)
        if info is None:
            info = table.hosts[address] = HostInfo(address)
        at = mac_at.get(n)
        if not info.mac and at is not None:
            info.mac = data[at : at + 6].hex(":")
    slots = stamps // BIN_NS
    cells = np.empty(len(ver), dtype=[("host", "<i8"), ("slot", "<i8")])
    cells["host"], cells["slot"] = which, slots
    cell_first, cell_of = _groups(cells)
    sums = np.bincount(cell_of, weights=lengths).astype(np.int64)
    for host, slot, amount in zip(which[cell_first].tolist(), slots[cell_first].tolist(), sums.tolist(), strict=True):
        table.activity.add(names[host], slot * BIN_NS, amount)
