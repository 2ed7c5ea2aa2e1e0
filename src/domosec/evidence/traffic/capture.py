"""Streaming reader of pcap and pcapng files: record headers read from a bounded buffer, packets handed on one by one.

The file is read in chunks of :data:`CHUNK` bytes; a record never holds more than
:data:`MAX_RECORD` bytes, so memory stays bounded whatever the file says. A truncated or corrupt
file ends the reading with a warning (what was read so far is kept), never an exception.

pcapng: several sections and interfaces (each with its own link type and time resolution),
Enhanced and Simple Packet Blocks; other blocks are skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

CHUNK = 4 * 1024 * 1024
MAX_RECORD = 256 * 1024
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),  # microseconds, little-endian; value: nanoseconds per tick
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


@dataclass(frozen=True)
class Packet:
    """One captured packet: time in nanoseconds since the epoch, link type, captured bytes and original length."""

    ts_ns: int
    linktype: int
    data: bytes
    length: int


@dataclass(frozen=True)
class Batch:
    """Many packets of one link type in one buffer: where each starts, its captured and original length, its time (ns)."""

    linktype: int
    data: bytes
    starts: list[int]
    caplens: list[int]
    lengths: list[int]
    ts_ns: list[int]


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
    buf = _Buffer(stream)
    if not buf.need(4):
        stats.warnings.append("the file is empty or shorter than a capture header")
        return
    magic = buf.data[:4]
    if magic in PCAP_MAGICS:
        stats.format = "pcap"
        yield from _read_pcap(buf, stats, progress)
    elif magic == PCAPNG_SHB:
        stats.format = "pcapng"
        yield from _read_pcapng(buf, stats, progress)
    else:
        stats.warnings.append(f"not a pcap or pcapng file (starts with {magic.hex()})")


def _report(buf: _Buffer, stats: ReadStats, progress: Callable[[int], None] | None) -> None:
    stats.bytes_read = buf.offset
    if progress is not None and stats.packets % 65536 == 0:
        progress(stats.bytes_read)


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


def _read_pcap(buf: _Buffer, stats: ReadStats, progress: Callable[[int], None] | None) -> Iterator[Packet]:
    header = _pcap_header(buf, stats)
    if header is None:
        return
    endian, tick_ns, linktype = header
    record = struct.Struct(endian + "IIII")
    unpack = record.unpack_from
    while True:
        if not buf.need(16):
            if len(buf.data) - buf.pos:
                stats.warnings.append(f"truncated record header at byte {buf.offset}: the capture ends early")
            break
        sec, frac, caplen, length = unpack(buf.data, buf.pos)
        if caplen > MAX_RECORD:
            stats.warnings.append(f"corrupt record at byte {buf.offset} (captured length {caplen}): reading stopped there")
            break
        if not buf.need(16 + caplen):
            stats.warnings.append(f"truncated packet at byte {buf.offset}: the capture ends early")
            break
        start = buf.pos + 16
        data = buf.data[start : start + caplen]
        buf.pos = start + caplen
        stats.packets += 1
        _report(buf, stats, progress)
        yield Packet(sec * 1_000_000_000 + frac * tick_ns, linktype, data, length)
    stats.bytes_read = buf.offset


def _read_pcapng(buf: _Buffer, stats: ReadStats, progress: Callable[[int], None] | None) -> Iterator[Packet]:
    endian = "<"
    interfaces: list[tuple[int, int, int]] = []  # (linktype, ticks per second, offset in seconds)
    while True:
        if not buf.need(12):
            if len(buf.data) - buf.pos:
                stats.warnings.append(f"truncated block header at byte {buf.offset}: the capture ends early")
            break
        kind_raw = buf.data[buf.pos : buf.pos + 4]
        if kind_raw == PCAPNG_SHB:
            bom = buf.data[buf.pos + 8 : buf.pos + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                stats.warnings.append(f"corrupt section header at byte {buf.offset}: reading stopped there")
                break
            interfaces = []
        kind, total = struct.unpack_from(endian + "II", buf.data, buf.pos)
        if total < 12 or total % 4 or total > MAX_RECORD + 64:
            stats.warnings.append(f"corrupt block at byte {buf.offset} (length {total}): reading stopped there")
            break
        if not buf.need(total):
            stats.warnings.append(f"truncated block at byte {buf.offset}: the capture ends early")
            break
        body = buf.data[buf.pos + 8 : buf.pos + total - 4]
        buf.pos += total
        if kind == 1 and len(body) >= 8:
            linktype = struct.unpack_from(endian + "H", body, 0)[0]
            interfaces.append((linktype, *_interface_time(body[8:], endian)))
            stats.interfaces += 1
        elif kind == 6 and len(body) >= 20:
            iface, high, low, caplen, length = struct.unpack_from(endian + "IIIII", body, 0)
            if iface >= len(interfaces) or 20 + caplen > len(body):
                stats.warnings.append(f"packet block at byte {buf.offset - total} names an unknown interface or is corrupt: skipped")
                continue
            linktype, per_second, offset = interfaces[iface]
            ticks = (high << 32) | low
            ts_ns = (ticks * 1_000_000_000) // per_second + offset * 1_000_000_000
            stats.packets += 1
            _report(buf, stats, progress)
            yield Packet(ts_ns, linktype, body[20 : 20 + caplen], length)
        elif kind == 3 and len(body) >= 4 and interfaces:
            length = struct.unpack_from(endian + "I", body, 0)[0]
            stats.packets += 1
            _report(buf, stats, progress)
            yield Packet(0, interfaces[0][0], body[4 : 4 + min(length, len(body) - 4)], length)
    stats.bytes_read = buf.offset


def _interface_time(options: bytes, endian: str) -> tuple[int, int]:
    """Ticks per second (``if_tsresol``, default microseconds) and the offset in seconds (``if_tsoffset``)."""
    per_second, offset, pos = 1_000_000, 0, 0
    while pos + 4 <= len(options):
        code, size = struct.unpack_from(endian + "HH", options, pos)
        value = options[pos + 4 : pos + 4 + size]
        if code == 0:
            break
        if code == 9 and size >= 1:
            resolution = value[0]
            per_second = 2 ** (resolution & 0x7F) if resolution & 0x80 else 10 ** min(resolution, 18)
        elif code == 14 and size == 8:
            offset = struct.unpack_from(endian + "q", value)[0]
        pos += 4 + size + (-size % 4)
    return max(per_second, 1), offset


def read_records(stream: BinaryIO, stats: ReadStats, progress: Callable[[int], None] | None = None) -> Iterator[Packet | Batch]:
    """Like :func:`read_packets`, but a classic pcap file comes as batches of records (one per buffer), for bulk decoding."""
    buf = _Buffer(stream)
    if not buf.need(4):
        stats.warnings.append("the file is empty or shorter than a capture header")
        return
    if buf.data[:4] in PCAP_MAGICS:
        stats.format = "pcap"
        yield from _pcap_batches(buf, stats, progress)
    else:
        stream.seek(0)
        yield from read_packets(stream, stats, progress)


def _pcap_batches(buf: _Buffer, stats: ReadStats, progress: Callable[[int], None] | None) -> Iterator[Batch]:
    header = _pcap_header(buf, stats)
    if header is None:
        return
    endian, tick_ns, linktype = header
    unpack = struct.Struct(endian + "IIII").unpack_from
    while True:
        data, pos, size = buf.data, buf.pos, len(buf.data)
        starts: list[int] = []
        caplens: list[int] = []
        lengths: list[int] = []
        stamps: list[int] = []
        corrupt = False
        while pos + 16 <= size:
            sec, frac, caplen, length = unpack(data, pos)
            if caplen > MAX_RECORD:
                corrupt = True
                break
            end = pos + 16 + caplen
            if end > size:
                break
            starts.append(pos + 16)
            caplens.append(caplen)
            lengths.append(length)
            stamps.append(sec * 1_000_000_000 + frac * tick_ns)
            pos = end
        buf.pos = pos
        if starts:
            stats.packets += len(starts)
            stats.bytes_read = buf.offset
            if progress is not None:
                progress(stats.bytes_read)
            yield Batch(linktype, data, starts, caplens, lengths, stamps)
        if corrupt:
            stats.warnings.append(f"corrupt record at byte {buf.offset}: reading stopped there")
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
