"""Streaming reader of pcap and pcapng files: records gathered into batches from a bounded buffer.

The file is read in chunks of :data:`CHUNK` bytes; a record never holds more than
:data:`MAX_RECORD` bytes, so memory stays bounded whatever the file says. A truncated or corrupt
file ends the reading with a warning (what was read so far is kept), never an exception.

Both formats come as :class:`Batch` es (every record of one buffer, each with its own link type
and time), decoded in bulk by :mod:`.bulk`; :func:`read_packets` hands the same records on one by
one. pcapng: several sections and interfaces (each with its own link type, time resolution and
offset), Enhanced and Simple Packet Blocks; other blocks are skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

CHUNK = 4 * 1024 * 1024
MAX_RECORD = 256 * 1024
MAX_NS = 2**63 - 1
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),  # microseconds, little-endian; value: nanoseconds per tick
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_HEADER = np.arange(16, dtype=np.int64)
_BYTE_ORDER = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}


@dataclass(frozen=True)
class Packet:
    """One captured packet: time in nanoseconds since the epoch, link type, captured bytes and original length."""

    ts_ns: int
    linktype: int
    data: bytes
    length: int


@dataclass(frozen=True)
class Batch:
    """Many records in one buffer: where each starts, its captured and original length, its time (ns) and link type.

    ``linktypes`` is None when every record has the link type ``linktype`` (a pcap file).
    """

    linktype: int
    data: bytes
    starts: np.ndarray
    caplens: np.ndarray
    lengths: np.ndarray
    ts_ns: np.ndarray
    linktypes: np.ndarray | None = None

    def packets(self) -> Iterator[Packet]:
        links = self.linktypes.tolist() if self.linktypes is not None else [self.linktype] * len(self.starts)
        rows = zip(self.starts.tolist(), self.caplens.tolist(), self.lengths.tolist(), self.ts_ns.tolist(), links, strict=True)
        for start, caplen, length, ts, link in rows:
            yield Packet(ts, link, self.data[start : start + caplen], length)

    def packet(self, i: int) -> Packet:
        start, link = int(self.starts[i]), self.linktype if self.linktypes is None else int(self.linktypes[i])
        return Packet(int(self.ts_ns[i]), link, self.data[start : start + int(self.caplens[i])], int(self.lengths[i]))


@dataclass
class ReadStats:
    """What the reader saw besides the packets: counts, the file's format and warnings."""

    format: str = ""
    packets: int = 0
    bytes_read: int = 0
    interfaces: int = 0
    warnings: list[str] = field(default_factory=list)


class _Buffer:
    """A window over the file: ``need(n)`` makes ``n`` bytes available from ``pos``, reading more in chunks."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = b""
        self.pos = 0
        self.consumed = 0  # bytes of the file before self.data

    def need(self, n: int) -> bool:
        if len(self.data) - self.pos >= n:
            return True
        rest = self.data[self.pos :]
        self.consumed += self.pos
        pieces = [rest]
        have = len(rest)
        while have < n:
            chunk = self.stream.read(max(CHUNK, n - have))
            if not chunk:
                break
            pieces.append(chunk)
            have += len(chunk)
        self.data = b"".join(pieces)
        self.pos = 0
        return have >= n

    @property
    def offset(self) -> int:
        return self.consumed + self.pos


def read_packets(stream: BinaryIO, stats: ReadStats, progress: Callable[[int], None] | None = None) -> Iterator[Packet]:
    """Every packet of a pcap or pcapng stream, in file order; problems end up in ``stats.warnings``."""
    for batch in read_records(stream, stats, progress):
        yield from batch.packets()


def read_records(stream: BinaryIO, stats: ReadStats, progress: Callable[[int], None] | None = None) -> Iterator[Batch]:
    """The records of a pcap or pcapng stream in batches (one per buffer), in file order, for bulk decoding."""
    buf = _Buffer(stream)
    if not buf.need(4):
        stats.warnings.append("the file is empty or shorter than a capture header")
        return
    magic = buf.data[:4]
    if magic in PCAP_MAGICS:
        stats.format = "pcap"
        yield from _pcap_batches(buf, stats, progress)
    elif magic == PCAPNG_SHB:
        stats.format = "pcapng"
        yield from _pcapng_batches(buf, stats, progress)
    else:
        stats.warnings.append(f"not a pcap or pcapng file (starts with {magic.hex()})")


def _pcap_header(buf: _Buffer, stats: ReadStats) -> tuple[str, int, int] | None:
    """Read the pcap file header: byte order, nanoseconds per timestamp tick and link type (None if truncated)."""
    endian, tick_ns = PCAP_MAGICS[buf.data[:4]]
    if not buf.need(24):
        stats.warnings.append("truncated pcap header")
        return None
    linktype = struct.unpack_from(endian + "I", buf.data, buf.pos + 20)[0] & 0x0FFFFFFF
    stats.interfaces = 1
    buf.pos += 24
    return endian, tick_ns, linktype


def _emit(buf: _Buffer, stats: ReadStats, progress: Callable[[int], None] | None, count: int) -> None:
    stats.packets += count
    stats.bytes_read = buf.offset
    if progress is not None:
        progress(stats.bytes_read)


def _pcap_batches(buf: _Buffer, stats: ReadStats, progress: Callable[[int], None] | None) -> Iterator[Batch]:
    header = _pcap_header(buf, stats)
    if header is None:
        return
    endian, tick_ns, linktype = header
    unpack = struct.Struct(endian + "IIII").unpack_from
    caplen_at = struct.Struct(endian + "I").unpack_from
    words = np.dtype(endian + "u4")
    while True:
        data, pos, size = buf.data, buf.pos, len(buf.data)
        heads: list[int] = []  # where each record header starts; its fields are read with NumPy below
        append = heads.append
        corrupt = False
        while pos + 16 <= size:
            caplen = caplen_at(data, pos + 8)[0]
            if caplen > MAX_RECORD:
                corrupt = True
                break
            end = pos + 16 + caplen
            if end > size:
                break
            append(pos)
            pos = end
        buf.pos = pos
        if heads:
            at = np.asarray(heads, dtype=np.int64)
            raw = np.frombuffer(data, dtype=np.uint8)[at[:, None] + _HEADER]
            fields = raw.view(words).reshape(-1, 4).astype(np.int64)  # seconds, fraction, captured length, length
            stamps = fields[:, 0] * 1_000_000_000 + fields[:, 1] * tick_ns
            _emit(buf, stats, progress, len(heads))
            yield Batch(linktype, data, at + 16, fields[:, 2], fields[:, 3], stamps)
        if corrupt:
            stats.warnings.append(f"corrupt record at byte {buf.offset} (captured length over {MAX_RECORD}): reading stopped there")
            break
        if not buf.need(16):
            if len(buf.data) - buf.pos:
                stats.warnings.append(f"truncated record header at byte {buf.offset}: the capture ends early")
            break
        caplen = unpack(buf.data, buf.pos)[2]
        if caplen <= MAX_RECORD and not buf.need(16 + caplen):
            stats.warnings.append(f"truncated packet at byte {buf.offset}: the capture ends early")
            break
    stats.bytes_read = buf.offset


@dataclass
class _Interface:
    """A pcapng interface: its link type, and how its timestamps turn into nanoseconds."""

    linktype: int
    per_second: int
    offset_ns: int

    def ns(self, ticks: int) -> int:
        value = (ticks if self.per_second == 1_000_000_000 else ticks * 1_000_000_000 // self.per_second) + self.offset_ns
        return value if 0 <= value <= MAX_NS else min(max(value, 0), MAX_NS)  # a damaged time stays a 64-bit number


def _pcapng_batches(buf: _Buffer, stats: ReadStats, progress: Callable[[int], None] | None) -> Iterator[Batch]:
    endian = "<"
    interfaces: list[_Interface] = []
    skipped, first_skipped = 0, -1  # packet blocks naming an unknown interface: one warning for them all
    while True:
        data, pos, size = buf.data, buf.pos, len(buf.data)
        starts: list[int] = []
        caplens: list[int] = []
        lengths: list[int] = []
        stamps: list[int] = []
        links: list[int] = []
        problem = ""
        while pos + 12 <= size:
            if data[pos : pos + 4] == PCAPNG_SHB:
                order = _BYTE_ORDER.get(data[pos + 8 : pos + 12])
                if order is None:
                    problem = "corrupt section header at byte {}: reading stopped there"
                    break
                endian, interfaces = order, []
            kind, total = struct.unpack_from(endian + "II", data, pos)
            if total < 12 or total % 4 or total > MAX_RECORD + 64:
                problem = f"corrupt block at byte {{}} (length {total}): reading stopped there"
                break
            if pos + total > size:
                break
            body = pos + 8
            if kind == 6 and total >= 32:
                iface, high, low, caplen, length = struct.unpack_from(endian + "IIIII", data, body)
                if iface < len(interfaces) and 20 + caplen <= total - 12:
                    interface = interfaces[iface]
                    starts.append(body + 20)
                    caplens.append(caplen)
                    lengths.append(length)
                    stamps.append(interface.ns((high << 32) | low))
                    links.append(interface.linktype)
                else:
                    skipped += 1
                    first_skipped = first_skipped if first_skipped >= 0 else buf.offset + pos - buf.pos
            elif kind == 3 and total >= 16 and interfaces:
                length = struct.unpack_from(endian + "I", data, body)[0]
                starts.append(body + 4)
                caplens.append(min(length, total - 16))
                lengths.append(length)
                stamps.append(0)
                links.append(interfaces[0].linktype)
            elif kind == 1 and total >= 20:
                linktype = struct.unpack_from(endian + "H", data, body)[0]
                interfaces.append(_Interface(linktype, *_interface_time(data[body + 8 : pos + total - 4], endian)))
                stats.interfaces += 1
            pos += total
        buf.pos = pos
        if starts:
            _emit(buf, stats, progress, len(starts))
            arrays = (np.asarray(values, dtype=np.int64) for values in (starts, caplens, lengths, stamps, links))
            yield Batch(links[0], data, *arrays)
        if problem:
            stats.warnings.append(problem.format(buf.offset))
            break
        if not buf.need(12):
            if len(buf.data) - buf.pos:
                stats.warnings.append(f"truncated block header at byte {buf.offset}: the capture ends early")
            break
        head = buf.data[buf.pos : buf.pos + 12]
        order = _BYTE_ORDER.get(head[8:12], endian) if head[:4] == PCAPNG_SHB else endian
        total = struct.unpack_from(order + "I", head, 4)[0]
        if 12 <= total <= MAX_RECORD + 64 and not buf.need(total):
            stats.warnings.append(f"truncated block at byte {buf.offset}: the capture ends early")
            break
    if skipped:
        stats.warnings.append(
            f"{skipped} packet blocks name an unknown interface or are corrupt (the first at byte {first_skipped}): skipped"
        )
    stats.bytes_read = buf.offset


def _interface_time(options: bytes, endian: str) -> tuple[int, int]:
    """Ticks per second (``if_tsresol``, default microseconds) and the offset in nanoseconds (``if_tsoffset``)."""
    per_second, offset, pos = 1_000_000, 0, 0
    while pos + 4 <= len(options):
        code, size = struct.unpack_from(endian + "HH", options, pos)
        value = options[pos + 4 : pos + 4 + size]
        if code == 0:
            break
        if code == 9 and size >= 1:
            resolution = value[0]
            per_second = 2 ** min(resolution & 0x7F, 63) if resolution & 0x80 else 10 ** min(resolution, 18)
        elif code == 14 and size == 8:
            offset = struct.unpack_from(endian + "q", value)[0]
        pos += 4 + size + (-size % 4)
    return max(per_second, 1), offset * 1_000_000_000
