"""pcapng details the bulk reader must get right: sections of either byte order, time resolutions and offsets, Simple Packet Blocks.

Blocks are written byte by byte after the pcapng specification (draft-ietf-opsawg-pcapng): a
Section Header Block starts a section (and sets its byte order), Interface Description Blocks give
each interface its link type, ``if_tsresol`` (option 9) and ``if_tsoffset`` (option 14).
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import dpkt

from domosec.evidence.traffic.analyse import analyse, flow_rows
from domosec.evidence.traffic.capture import ReadStats, read_packets
from domosec.evidence.traffic.flows import FlowTable
from domosec.evidence.traffic.run import read_capture
from tests.evidence.traffic.frames import _v4, ethernet, ipv4_tcp

SECOND = 1_700_000_000


def block(endian: str, kind: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    return struct.pack(endian + "II", kind, len(body) + 12) + body + struct.pack(endian + "I", len(body) + 12)


def option(endian: str, code: int, value: bytes) -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def section(endian: str) -> bytes:
    return block(endian, 0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def interface(endian: str, linktype: int, *options: bytes) -> bytes:
    return block(endian, 1, struct.pack(endian + "HHI", linktype, 0, 65535) + b"".join(options) + (b"\x00" * 4 if options else b""))


def packet(endian: str, iface: int, ticks: int, frame: bytes) -> bytes:
    return block(endian, 6, struct.pack(endian + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)) + frame)


SYN = ethernet(ipv4_tcp("192.168.1.20", "198.51.100.7", 40000, 443, b"", flags=dpkt.tcp.TH_SYN))


def capture() -> bytes:
    tcp = SYN
    raw = bytes(dpkt.ip.IP(src=_v4("10.0.0.5"), dst=_v4("198.51.100.7"), p=17, data=dpkt.udp.UDP(sport=5000, dport=123, data=b"\x23" * 48)))
    little = section("<") + interface("<", 1) + interface("<", 101, option("<", 9, b"\x8a"), option("<", 14, struct.pack("<q", 100)))
    little += packet("<", 0, SECOND * 1_000_000 + 250_000, tcp)  # microseconds (the default)
    little += packet("<", 1, SECOND * 1024 + 512, raw)  # 2^-10 s ticks, 100 s later (if_tsoffset)
    little += block("<", 3, struct.pack("<I", len(tcp)) + tcp)  # a Simple Packet Block: interface 0, no time
    little += packet("<", 5, 0, tcp) * 3  # an interface nobody described
    big = section(">") + interface(">", 1, option(">", 9, b"\x09")) + packet(">", 0, SECOND * 10**9 + 7, tcp)
    return little + big


def test_times_interfaces_and_sections() -> None:
    stats = ReadStats()
    packets = list(read_packets(io.BytesIO(capture()), stats))
    assert stats.format == "pcapng" and stats.interfaces == 3 and stats.packets == 4
    assert [(p.linktype, p.ts_ns) for p in packets] == [
        (1, SECOND * 10**9 + 250_000_000),
        (101, (SECOND + 100) * 10**9 + 500_000_000),
        (1, 0),
        (1, SECOND * 10**9 + 7),
    ]
    unknown = capture().index(packet("<", 5, 0, SYN))
    assert stats.warnings == [f"3 packet blocks name an unknown interface or are corrupt (the first at byte {unknown}): skipped"]


def test_bulk_and_per_packet_paths_agree(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pcapng"
    path.write_bytes(capture())
    stats, table = ReadStats(), FlowTable()
    with path.open("rb") as stream:
        table.add_all(read_packets(stream, stats))
    table.finish()
    rows = flow_rows(read_capture(path))
    assert rows == flow_rows(analyse(table, stats))
    assert [(r["client"], r["server_port"], r["packets"], r["first_seen_ns"]) for r in rows] == [
        ("192.168.1.20", 443, 3, 0),  # the Simple Packet Block has no time: the flow's first packet is at 0
        ("10.0.0.5", 123, 1, (SECOND + 100) * 10**9 + 500_000_000),
    ]
