"""Reassembly edge cases, packet by packet: segments out of order, retransmitted, overlapping; fragments; every limit.

The lab test (test_reading_lab.py) shows real stacks' split messages are read; these frames, built
byte by byte, cover what a lab cannot produce on demand. Each capture is read by the bulk path and
the per-packet path, which must agree.
"""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import dpkt
import pytest

from domosec.evidence.traffic import fragments, streams
from domosec.evidence.traffic.analyse import Analysis, analyse, flow_rows
from domosec.evidence.traffic.capture import ReadStats, read_packets
from domosec.evidence.traffic.flows import FlowTable
from domosec.evidence.traffic.run import read_capture
from tests.evidence.traffic.frames import PASSWORD, _v4, ethernet, http_with_basic

CLIENT, SERVER = "192.168.1.20", "203.0.113.9"
SYN, ACK = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH


def client_hello(name: str, padding: int = 0) -> bytes:
    sni = name.encode()
    ext = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    ext += struct.pack("!HH", 21, padding) + b"\x00" * padding  # the padding extension (RFC 7685)
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    return b"\x16\x03\x01" + struct.pack("!H", len(body) + 4) + b"\x01" + struct.pack("!I", len(body))[1:] + body


def segment(seq: int, payload: bytes, *, flags: int = ACK, sport: int = 40000, dport: int = 443, back: bool = False) -> tuple[int, bytes]:
    src, dst = (SERVER, CLIENT) if back else (CLIENT, SERVER)
    sport, dport = (dport, sport) if back else (sport, dport)
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, flags=flags, data=payload)
    return 0, ethernet(dpkt.ip.IP(src=_v4(src), dst=_v4(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp))


def write(path: Path, frames: list[tuple[int, bytes]]) -> Path:
    """A pcap file; each frame comes with a delay in seconds after the one before."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    ts = 1_700_000_000.0
    for delay, frame in frames:
        ts += delay + 0.001
        out.append(struct.pack("<IIII", int(ts), int(ts % 1 * 1e6), len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


def both(path: Path) -> Analysis:
    """The bulk path's analysis, after checking the per-packet path agrees."""
    bulk = read_capture(path)
    stats, table = ReadStats(), FlowTable()
    with path.open("rb") as stream:
        table.add_all(read_packets(stream, stats))
    table.finish()
    slow = analyse(table, stats)
    assert flow_rows(bulk) == flow_rows(slow) and bulk.findings == slow.findings
    assert bulk.table.streams.given_up == table.streams.given_up and bulk.table.reassembler.dropped == table.reassembler.dropped
    return bulk


def pieces(data: bytes, size: int, start: int) -> list[tuple[int, bytes]]:
    return [(start + i, data[i : i + size]) for i in range(0, len(data), size)]


def test_hello_out_of_order_and_retransmitted_is_read(tmp_path: Path) -> None:
    hello = client_hello("cam.vendor.example")
    parts = [segment(seq, chunk) for seq, chunk in pieces(hello, 40, 1001)]
    forged = segment(1001, b"\x16\x03\x01" + b"\xff" * 37)  # a "retransmission" with other bytes: the first copy wins
    frames = [segment(1000, b"", flags=SYN), parts[2], parts[0], forged, *parts[3:], parts[1], parts[1]]
    analysis = both(write(tmp_path / "hello.pcap", frames))
    row = flow_rows(analysis)[0]
    assert (row["sni"], row["tls_version"], row["protocol"]) == ("cam.vendor.example", "tls1.2", "https")
    assert analysis.table.streams.read == 1 and analysis.stats.warnings == []


def test_first_segment_missing_until_later_without_syn_tail(tmp_path: Path) -> None:
    request = http_with_basic()
    cut = request.index(b"Authorization") + 5
    frames = [segment(5000, b"", flags=SYN, dport=80), segment(5001 + cut, request[cut:], dport=80), segment(5001, request[:cut], dport=80)]
    row = flow_rows(both(write(tmp_path / "http.pcap", frames)))[0]
    assert row["credentials_seen"] == ["HTTP Basic authorization"] and row["http_host"] == "cam.local"
    assert PASSWORD not in repr(row)


def test_mqtt_connect_in_one_byte_pieces(tmp_path: Path) -> None:
    connect = b"\x10\x1a\x00\x04MQTT\x04\xc2\x00\x3c\x00\x03dev\x00\x04user\x00\x04pass"
    frames = [segment(7, b"", flags=SYN, dport=1883)] + [segment(seq, b, dport=1883) for seq, b in pieces(connect, 1, 8)]
    row = flow_rows(both(write(tmp_path / "mqtt.pcap", frames)))[0]
    assert row["protocol"] == "mqtt" and row["credentials_seen"] == ["MQTT CONNECT with user name and password"]


def test_server_hello_split_with_the_handshake_over_two_records(tmp_path: Path) -> None:
    hello = client_hello("x.example")
    body = b"\x03\x03" + b"\x22" * 32 + b"\x00\x13\x01\x00\x00\x06\x00\x2b\x00\x02\x03\x04"  # supported_versions: TLS 1.3
    server = b"\x02" + struct.pack("!I", len(body))[1:] + body
    records = b"\x16\x03\x03\x00\x10" + server[:16] + b"\x16\x03\x03" + struct.pack("!H", len(server) - 16) + server[16:]
    frames = [segment(1, b"", flags=SYN), segment(2, hello), *(segment(seq, b, back=True) for seq, b in pieces(records, 11, 900))]
    row = flow_rows(both(write(tmp_path / "server.pcap", frames)))[0]
    assert row["tls_version"] == "tls1.3" and row["sni"] == "x.example"


@pytest.mark.parametrize(
    ("case", "reason", "words"),
    [
        ("size", "size", "longer than 16 KB"),
        ("segments", "segments", "still incomplete after 64 segments"),
        ("timeout", "timeout", "incomplete after 30 s"),
        ("memory", "memory", "over the 32 MB held for all connections"),
    ],
)
def test_stream_limits_are_counted_and_warned(case: str, reason: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hello = client_hello("big.example", padding=20_000 if case == "size" else 0)
    frames = [segment(1, b"", flags=SYN)]
    if case == "segments":
        frames += [segment(2 + i, hello[i : i + 1]) for i in range(70)]
    elif case == "timeout":
        frames += [segment(2, hello[:30]), (31, segment(32, hello[30:])[1])]
    else:
        frames += [segment(2, hello[:30]), segment(32, hello[30:60])]
    if case == "memory":
        monkeypatch.setattr(streams, "TOTAL_BYTES", 1024)
    analysis = both(write(tmp_path / f"{case}.pcap", frames))
    assert analysis.table.streams.given_up == {reason: 1}
    assert any(words in warning and "read only in part" in warning for warning in analysis.stats.warnings), analysis.stats.warnings


def udp_fragments(payload: bytes, ident: int, cuts: list[int]) -> list[dpkt.ip.IP]:
    """IPv4 fragments of one UDP datagram to port 53, cut at the given byte offsets (multiples of 8)."""
    udp = bytes(dpkt.udp.UDP(sport=5353 + 1, dport=53, ulen=8 + len(payload), data=payload))
    bounds = [0, *cuts, len(udp)]
    out = []
    for start, stop in itertools.pairwise(bounds):
        ip = dpkt.ip.IP(src=_v4(SERVER), dst=_v4(CLIENT), p=17, id=ident, data=udp[start:stop])
        ip.offset, ip.mf = start // 8, int(stop < len(udp))
        out.append(ip)
    return out


def dns_answer(count: int) -> bytes:
    head = struct.pack("!HHHHHH", 7, 0x8180, 1, count, 0, 0) + b"\x03big\x07example\x00\x00\x01\x00\x01"
    return head + b"".join(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([10, 9, 0, i]) for i in range(count))


def test_ipv4_fragments_out_of_order_with_a_duplicate(tmp_path: Path) -> None:
    parts = udp_fragments(dns_answer(60), 77, [400, 800])
    frames = [(0, ethernet(p)) for p in (parts[2], parts[0], parts[0], parts[1])]
    analysis = both(write(tmp_path / "frag.pcap", frames))
    assert analysis.table.answers["10.9.0.59"] == {"big.example"} and analysis.table.datagrams_reassembled == 1
    row = flow_rows(analysis)[0]
    assert (row["packets"], row["fragments"], row["server_port"]) == (4, 4, 53) and analysis.stats.warnings == []


def test_ipv6_fragments_are_reassembled(tmp_path: Path) -> None:
    udp = bytes(dpkt.udp.UDP(sport=53, dport=40000, ulen=8 + len(answer := dns_answer(40)), data=answer))
    src, dst = b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x09", b"\xfd" + b"\x00" * 14 + b"\x20"
    frames = []
    for start, stop in ((480, len(udp)), (0, 480)):
        header = struct.pack("!BBHI", 17, 0, start | (1 if stop < len(udp) else 0), 0xABCD)
        body = header + udp[start:stop]
        ip6 = struct.pack("!IHBB", 0x60000000, len(body), 44, 64) + src + dst + body
        frames.append((0, ethernet(ip6, ipv6=True)))  # type: ignore[arg-type]
    analysis = both(write(tmp_path / "frag6.pcap", frames))
    assert analysis.table.answers["10.9.0.39"] == {"big.example"}
    assert flow_rows(analysis)[0]["client"] == "fd00::20"  # the reassembled datagram's ports: an answer from port 53


def test_overlapping_fragments_drop_the_datagram(tmp_path: Path) -> None:
    parts = udp_fragments(dns_answer(60), 78, [400, 800])
    rogue = udp_fragments(b"\x00" * 900, 78, [392])[1]  # starts at 392: overlaps the first piece with other bytes
    rogue.offset, rogue.mf = 392 // 8, 1
    frames = [(0, ethernet(p)) for p in (parts[0], rogue, parts[1], parts[2])]
    analysis = both(write(tmp_path / "overlap.pcap", frames))
    assert "10.9.0.59" not in analysis.table.answers and analysis.table.reassembler.dropped["overlap"] == 1
    assert any("with overlapping fragments (dropped whole)" in w for w in analysis.stats.warnings)


def test_fragment_timeout_and_memory_cap(tmp_path: Path) -> None:
    parts = udp_fragments(dns_answer(60), 79, [400])
    late = both(write(tmp_path / "late.pcap", [(0, ethernet(parts[0])), (31, ethernet(parts[1]))]))
    assert late.table.reassembler.dropped == {"timeout": 1, "unfinished": 1} and "10.9.0.59" not in late.table.answers
    rows = flow_rows(late)
    assert rows[0]["server_port"] == 53 and rows[0]["packets"] == 1  # the first piece is still counted in its flow
    assert late.table.fragments_lost == 1  # the second piece came alone: no transport header, in no flow
    table = FlowTable(reassembler=fragments.Reassembler(max_held=100))  # smaller than one datagram
    stats = ReadStats()
    with write(tmp_path / "capped.pcap", [(0, ethernet(parts[0])), (0, ethernet(parts[1]))]).open("rb") as stream:
        table.add_all(read_packets(stream, stats))
    table.finish()
    assert table.reassembler.dropped == {"memory": 2} and "10.9.0.59" not in table.answers  # each piece alone is over the cap
    assert any("dropped to stay within 4 MB" in w for w in table.reading_warnings())


def test_telnet_keystrokes_are_not_held_as_messages(tmp_path: Path) -> None:
    frames = [segment(1, b"", flags=SYN, dport=23), segment(900, b"login: ", back=True, dport=23), segment(2, b"lab\r\n", dport=23)]
    frames += [segment(907, b"Password: ", back=True, dport=23)]
    frames += [segment(7 + n, PASSWORD[n].encode(), dport=23) for n in range(len(PASSWORD))]  # one keystroke a packet, "h"…
    frames[-len(PASSWORD)] = segment(7, b"P", dport=23)  # a first key that also starts an HTTP method name
    analysis = both(write(tmp_path / "telnet.pcap", frames))
    row = flow_rows(analysis)[0]
    assert row["credentials_seen"] == ["telnet login after a password prompt"] and analysis.stats.warnings == []


def test_a_datagram_in_too_many_pieces_is_dropped(tmp_path: Path) -> None:
    parts = udp_fragments(dns_answer(200), 80, list(range(8, 2600, 8)))  # 8-byte pieces: each one checked against those held
    analysis = both(write(tmp_path / "tiny.pcap", [(0, ethernet(p)) for p in parts]))
    assert analysis.table.reassembler.dropped["too-many"] == 1 and "10.9.0.199" not in analysis.table.answers
    assert any("in more than 256 fragments" in w for w in analysis.stats.warnings)


def test_a_syn_seen_after_the_data_changes_nothing_in_either_path(tmp_path: Path) -> None:
    frames = [segment(101, b"GET / HTTP/1.1\r\nHo", dport=80), segment(50, b"", flags=SYN, dport=80)]
    frames += [segment(119, b"st: cam.local\r\n\r\n", dport=80)]  # the SYN (a retransmission) comes after the first data
    assert flow_rows(both(write(tmp_path / "late-syn.pcap", frames)))[0]["http_host"] == "cam.local"


def test_random_orders_duplicates_and_overlaps_read_alike_both_ways(tmp_path: Path) -> None:
    import random

    rng = random.Random(18)
    messages = [client_hello("a.example", padding=700), http_with_basic(), b"\x10\x1a\x00\x04MQTT\x04\xc2\x00\x3c\x00\x03dev\x00\x04user"]
    for n in range(60):
        frames: list[tuple[int, bytes]] = []
        for port in range(40000, 40000 + rng.randint(1, 3)):
            message = rng.choice(messages)
            if rng.random() < 0.3:
                message = rng.randbytes(rng.randint(1, 300)) + message
            base, server_port, size = rng.randrange(2**32), rng.choice([443, 80, 1883, 8000, 23]), rng.randint(1, 200)
            if rng.random() < 0.8:
                frames.append(segment(base, b"", flags=SYN, sport=port, dport=server_port))
            parts = [((base + 1 + i) & 0xFFFFFFFF, message[i : i + size]) for i in range(0, len(message), size)]
            for _ in range(rng.randint(0, 3)):  # repeated segments, some with other bytes, some shifted
                seq, data = rng.choice(parts)
                parts.append(((seq + rng.randint(-5, 5)) & 0xFFFFFFFF, rng.randbytes(len(data)) if rng.random() < 0.5 else data))
            if rng.random() < 0.5:
                rng.shuffle(parts)
            frames += [segment(seq, data, sport=port, dport=server_port) for seq, data in parts]
        if rng.random() < 0.3:
            rng.shuffle(frames)
        both(write(tmp_path / f"random-{n}.pcap", [(40 if rng.random() < 0.05 else 0, frame) for _, frame in frames]))


def test_a_full_flow_table_keeps_the_first_flows_both_ways(tmp_path: Path) -> None:
    frames = [segment(1, b"", flags=SYN, sport=41000 + n % 5, dport=443) for n in range(10)]  # five flows, seen twice
    path = write(tmp_path / "full.pcap", frames)
    bulk = read_capture(path, max_flows=2)
    stats, table = ReadStats(), FlowTable(max_flows=2)
    with path.open("rb") as stream:
        table.add_all(read_packets(stream, stats))
    table.finish()
    assert flow_rows(bulk) == flow_rows(analyse(table, stats)) and bulk.table.overflow_packets == table.overflow_packets == 6
    assert [row["client_port"] for row in flow_rows(bulk)] == [41000, 41001]
