"""The fixed header fields of one packet: link layer (Ethernet with VLAN tags, Linux cooked, raw IP), IPv4/IPv6, TCP/UDP.

Only fixed offsets are read here (``struct.unpack_from`` on the record's bytes); payloads are handed
to :mod:`.deep` only for the packets that need it. A packet that is too short or of an unknown kind
is counted, not decoded.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

ETHERNET, RAW, RAW_IPV4, RAW_IPV6, LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW_BSD = 1, 101, 228, 229, 113, 276, 0, 108, 12
KNOWN_LINKTYPES = frozenset({ETHERNET, RAW, RAW_IPV4, RAW_IPV6, LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW_BSD})
VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100})
TCP, UDP = 6, 17
_IPV6_EXTENSIONS = frozenset({0, 43, 60})
_U16 = struct.Struct("!H")


@dataclass(slots=True, frozen=True)
class Fragment:
    """One IP fragment: the datagram's identification, where this piece goes (bytes), whether more follow, its bytes."""

    version: int
    ident: int
    offset: int
    more: bool
    data: bytes


@dataclass(slots=True)
class Decoded:
    """One packet's addresses and ports; ``payload`` is the transport payload (empty when there is none).

    An IP fragment has ``fragment`` set and its piece in ``piece`` (ports and payload are then read
    from the reassembled datagram, see :mod:`.fragments`).
    """

    src_mac: str
    dst_mac: str
    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    payload: bytes
    tcp_flags: int
    fragment: bool
    seq: int = 0
    piece: Fragment | None = None


def mac_text(raw: bytes) -> str:
    return raw.hex(":")


def decode(linktype: int, data: bytes) -> Decoded | None:
    """The packet's fields, or None when it is not IP (ARP, truncated, an unknown link type)."""
    src_mac = dst_mac = ""
    if linktype == ETHERNET:
        if len(data) < 14:
            return None
        dst_mac, src_mac = mac_text(data[0:6]), mac_text(data[6:12])
        ethertype = _U16.unpack_from(data, 12)[0]
        offset = 14
        while ethertype in VLAN_TYPES and len(data) >= offset + 4:
            ethertype = _U16.unpack_from(data, offset + 2)[0]
            offset += 4
    elif linktype == LINUX_SLL:
        if len(data) < 16:
            return None
        if _U16.unpack_from(data, 4)[0] == 6:
            src_mac = mac_text(data[6:12])
        ethertype, offset = _U16.unpack_from(data, 14)[0], 16
    elif linktype == LINUX_SLL2:
        if len(data) < 20:
            return None
        if data[11] == 6:
            src_mac = mac_text(data[12:18])
        ethertype, offset = _U16.unpack_from(data, 0)[0], 20
    elif linktype in (NULL, LOOP):
        if len(data) < 5:
            return None
        ethertype, offset = (0x86DD if data[4] >> 4 == 6 else 0x0800), 4
    elif linktype in (RAW, RAW_BSD, RAW_IPV4, RAW_IPV6):
        if not data:
            return None
        ethertype, offset = (0x86DD if data[0] >> 4 == 6 else 0x0800), 0
    else:
        return None
    if ethertype == 0x0800:
        return _ipv4(data, offset, src_mac, dst_mac)
    if ethertype == 0x86DD:
        return _ipv6(data, offset, src_mac, dst_mac)
    return None


def _ipv4(data: bytes, offset: int, src_mac: str, dst_mac: str) -> Decoded | None:
    if len(data) < offset + 20 or data[offset] >> 4 != 4:
        return None
    header = (data[offset] & 0x0F) * 4
    total = _U16.unpack_from(data, offset + 2)[0]
    flags_fragment = _U16.unpack_from(data, offset + 6)[0]
    proto = data[offset + 9]
    src = socket.inet_ntop(socket.AF_INET, data[offset + 12 : offset + 16])
    dst = socket.inet_ntop(socket.AF_INET, data[offset + 16 : offset + 20])
    end = min(len(data), offset + total) if total >= header else len(data)
    if flags_fragment & 0x3FFF:  # more fragments, or an offset
        ident = _U16.unpack_from(data, offset + 4)[0]
        piece = Fragment(4, ident, (flags_fragment & 0x1FFF) * 8, bool(flags_fragment & 0x2000), data[offset + header : end])
        return Decoded(src_mac, dst_mac, src, dst, proto, 0, 0, b"", 0, True, 0, piece)
    return _transport(data, offset + header, end, proto, src, dst, src_mac, dst_mac)


def _ipv6(data: bytes, offset: int, src_mac: str, dst_mac: str) -> Decoded | None:
    if len(data) < offset + 40:
        return None
    total = _U16.unpack_from(data, offset + 4)[0]
    proto = data[offset + 6]
    src = socket.inet_ntop(socket.AF_INET6, data[offset + 8 : offset + 24])
    dst = socket.inet_ntop(socket.AF_INET6, data[offset + 24 : offset + 40])
    end = min(len(data), offset + 40 + total)
    pos = offset + 40
    for _ in range(8):  # a bounded walk over extension headers
        if proto in _IPV6_EXTENSIONS and pos + 2 <= end:
            proto, pos = data[pos], pos + (data[pos + 1] + 1) * 8
        elif proto == 44 and pos + 8 <= end:  # fragment header
            where, ident = struct.unpack_from("!HI", data, pos + 2)
            piece = Fragment(6, ident, where & 0xFFF8, bool(where & 1), data[pos + 8 : end])
            return Decoded(src_mac, dst_mac, src, dst, data[pos], 0, 0, b"", 0, True, 0, piece)
        else:
            break
    return _transport(data, pos, end, proto, src, dst, src_mac, dst_mac)


def transport(segment: bytes, proto: int, src: str, dst: str, src_mac: str = "", dst_mac: str = "") -> Decoded:
    """The ports and payload of a whole transport segment (a reassembled datagram's contents)."""
    decoded = _transport(segment, 0, len(segment), proto, src, dst, src_mac, dst_mac)
    decoded.fragment = True
    return decoded


def _transport(data: bytes, pos: int, end: int, proto: int, src: str, dst: str, src_mac: str, dst_mac: str) -> Decoded:
    if proto == TCP and pos + 20 <= end:
        sport, dport, seq = struct.unpack_from("!HHI", data, pos)
        header = (data[pos + 12] >> 4) * 4
        return Decoded(src_mac, dst_mac, src, dst, proto, sport, dport, data[pos + header : end], data[pos + 13], False, seq)
    if proto == UDP and pos + 8 <= end:
        sport, dport = struct.unpack_from("!HH", data, pos)
        return Decoded(src_mac, dst_mac, src, dst, proto, sport, dport, data[pos + 8 : end], 0, False)
    return Decoded(src_mac, dst_mac, src, dst, proto, 0, 0, b"", 0, False)
