"""Reading capture files: pcap and pcapng (several interfaces), VLAN tags, IPv6, fragments, damaged and foreign files.

The packets are built byte by byte with dpkt (the frames real stacks send), so each case is exact;
the lab test (test_traffic_lab.py) reads a real tcpdump capture.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import dpkt
import pytest

from domosec.evidence.traffic.capture import ReadStats, read_packets
from tests.evidence.scan.conftest import ROOT
from tests.evidence.traffic.frames import PASSWORD, _v4, ethernet, http_with_basic, ipv4_tcp, pcap, pcapng_two_interfaces


def run_traffic(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "domosec", "traffic", *map(str, args)], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )


def test_pcapng_with_two_interfaces_vlan_ipv6_and_fragments(tmp_path: Path) -> None:
    tagged = ethernet(ipv4_tcp("192.168.1.20", "192.168.1.30", 40000, 80, http_with_basic()), vlan=20)
    udp6 = dpkt.udp.UDP(sport=50000, dport=123, data=b"\x23" + b"\x00" * 47)
    v6 = dpkt.ip6.IP6(src=b"\xfd" + b"\x00" * 14 + b"\x20", dst=b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x01", nxt=17, hlim=64, data=udp6)
    v6.plen = len(bytes(udp6))
    fragment = dpkt.ip.IP(src=_v4("192.168.1.20"), dst=_v4("8.8.8.8"), p=17, data=b"\x00" * 16)
    fragment.mf = 1  # the first fragment: more follow
    later = dpkt.ip.IP(src=_v4("192.168.1.20"), dst=_v4("8.8.8.8"), p=17, data=b"\x00" * 16)
    later.offset = 24  # a later fragment: no transport header
    raw_tls = bytes(ipv4_tcp("10.0.0.5", "198.51.100.7", 41000, 443, b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"))
    path = tmp_path / "two.pcapng"
    path.write_bytes(pcapng_two_interfaces([tagged, ethernet(v6, ipv6=True), ethernet(fragment), ethernet(later)], [raw_tls]))
    result = run_traffic(path, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["capture"]["format"] == "pcapng" and doc["capture"]["interfaces"] == 2 and doc["capture"]["packets"] == 5
    assert doc["capture"]["ip_fragments"] == 2
    flows = {(f["client"], f["server"], f["server_port"]): f for f in doc["flows"]}
    http = flows[("192.168.1.20", "192.168.1.30", 80)]
    assert http["credentials_seen"] == ["HTTP Basic authorization"] and http["client_mac"] == "02:00:00:00:00:11"
    assert flows[("fd00::20", "2001:db8::1", 123)]["protocol"] == "ntp"
    assert ("10.0.0.5", "198.51.100.7", 443) in flows  # the raw-IP interface
    assert any(f["kind"] == "cleartext-credentials" for f in doc["findings"])


def test_truncated_capture_keeps_what_was_read(tmp_path: Path) -> None:
    frames = [ethernet(ipv4_tcp("192.168.1.20", "192.168.1.30", 40000 + n, 1883, b"")) for n in range(5)]
    data = pcap(frames)
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: len(data) - 20])
    result = run_traffic(path, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "warning: truncated packet" in result.stderr
    assert json.loads(result.stdout)["capture"]["packets"] == 4


def test_corrupt_record_length_stops_with_a_warning() -> None:
    frame = ethernet(ipv4_tcp("192.168.1.2", "192.168.1.3", 5000, 80, b"x"))
    data = bytearray(pcap([frame] * 3))
    second = 24 + 16 + len(frame)
    struct.pack_into("<I", data, second + 8, 0x7FFFFFFF)
    stats = ReadStats()
    packets = list(read_packets(io.BytesIO(bytes(data)), stats))
    assert len(packets) == 1 and "corrupt record" in stats.warnings[0]


def test_unknown_link_type_and_foreign_file(tmp_path: Path) -> None:
    odd = tmp_path / "odd.pcap"
    odd.write_bytes(pcap([b"\x00" * 40], linktype=147))
    result = run_traffic(odd, "--format", "json")
    assert result.returncode == 0 and "unknown link types [147]" in result.stderr
    text = tmp_path / "notes.pcap"
    text.write_text("hello, not a capture\n", encoding="utf-8")
    result = run_traffic(text)
    assert result.returncode == 2 and "error[not-a-capture]" in result.stderr and "Traceback" not in result.stderr


def test_devices_file_names_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.pcap"
    path.write_bytes(pcap([ethernet(ipv4_tcp("192.168.1.20", "192.168.1.30", 40000, 1883, b"", flags=dpkt.tcp.TH_SYN))]))
    model = tmp_path / "home.yaml"
    model.write_text("domosec: 1\nsystem: {id: h, name: H}\ndevices:\n  - {id: thermo, name: Hall thermostat, type: climate}\n")
    macs = tmp_path / "macs.csv"
    macs.write_text("mac,name\n02-00-00-00-00-11,Hall thermostat\n", encoding="utf-8")
    result = run_traffic(path, "--model", model, "--devices", macs)
    assert result.returncode == 0, result.stderr
    assert "thermo (by name)" in result.stderr and "02:00:00:00:00:11" in result.stdout
    macs.write_text("mac,name\nnot-a-mac,Hall\n", encoding="utf-8")
    result = run_traffic(path, "--devices", macs)
    assert result.returncode == 2 and f"{macs}:2:1: error[bad-mac]" in result.stderr


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("device-metrics-us.amazon.com", "amazon.com"),
        ("x.y.city.kawasaki.jp", "city.kawasaki.jp"),  # an exception to the wildcard *.kawasaki.jp
        ("foo.bar.kawasaki.jp", "foo.bar.kawasaki.jp"),
        ("localhost", "localhost"),
    ],
)
def test_registered_domain(name: str, domain: str) -> None:
    from domosec.evidence.traffic.destinations import registered_domain

    assert registered_domain(name) == domain


def test_tracker_lists_in_hosts_and_adblock_syntax(tmp_path: Path) -> None:
    from domosec.evidence.traffic.destinations import load_tracker_lists

    hosts = tmp_path / "hosts.txt"
    hosts.write_text("# comment\n0.0.0.0 metrics.tv-vendor.example\n127.0.0.1 localhost\n", encoding="utf-8")
    adblock = tmp_path / "easyprivacy.txt"
    adblock.write_text("[Adblock Plus 2.0]\n! comment\n||track.example.net^\n||ads.example.org/path^\n@@||ok.example^\n", encoding="utf-8")
    lists = load_tracker_lists([hosts, adblock])
    assert lists.match("metrics.tv-vendor.example") == "hosts.txt"
    assert lists.match("eu.track.example.net") == "easyprivacy.txt"
    assert lists.match("ads.example.org") == "" and lists.match("localhost") == ""


def test_bulk_path_agrees_with_the_per_packet_path(tmp_path: Path) -> None:
    from domosec.evidence.traffic.analyse import analyse, flow_rows, hosts_rows
    from domosec.evidence.traffic.flows import FlowTable
    from domosec.evidence.traffic.run import read_capture

    mqtt = b"\x10\x1a\x00\x04MQTT\x04\xc2\x00\x3c\x00\x03dev\x00\x04user\x00\x04pass"
    dns = dpkt.dns.DNS(id=7, qd=[dpkt.dns.DNS.Q(name="metrics.example.net")])
    frames = []
    for n in range(60):
        client = f"192.168.1.{20 + n % 5}"
        frames.append(ethernet(ipv4_tcp(client, "203.0.113.9", 40000 + n, 1883, b"", flags=dpkt.tcp.TH_SYN)))
        frames.append(ethernet(ipv4_tcp(client, "203.0.113.9", 40000 + n, 1883, mqtt)))
        frames.append(ethernet(ipv4_tcp("203.0.113.9", client, 1883, 40000 + n, b"\x20\x02\x00\x00")))
        frames.append(ethernet(ipv4_tcp(client, "192.168.1.30", 41000 + n, 80, http_with_basic()), vlan=5 if n % 3 == 0 else None))
        udp = dpkt.udp.UDP(sport=53000 + n, dport=53, data=bytes(dns))
        udp.ulen = len(bytes(udp))
        frames.append(ethernet(dpkt.ip.IP(src=_v4(client), dst=_v4("9.9.9.9"), p=17, data=udp)))
    path = tmp_path / "mixed.pcap"
    path.write_bytes(pcap(frames))
    bulk = read_capture(path)
    stats = ReadStats()
    table = FlowTable()
    with path.open("rb") as stream:
        table.add_all(read_packets(stream, stats))
    table.finish()
    slow = analyse(table, stats)
    assert flow_rows(bulk) == flow_rows(slow) and len(flow_rows(bulk)) == 180
    assert hosts_rows(bulk) == hosts_rows(slow) and bulk.findings == slow.findings
    assert sum(1 for f in flow_rows(bulk) if f["credentials_seen"]) == 120


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_damaged_captures_never_raise(kind: str, tmp_path: Path) -> None:
    import random

    from domosec.evidence.traffic.run import read_capture

    frames = [
        ethernet(ipv4_tcp("192.168.1.20", "192.168.1.30", 40000 + n, 80, http_with_basic()), vlan=n if n % 2 else None) for n in range(8)
    ]
    good = pcap(frames) if kind == "pcap" else pcapng_two_interfaces(frames, frames[:2])
    rng = random.Random(18)
    path = tmp_path / f"damaged.{kind}"
    for _ in range(150):
        data = bytearray(good)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(4 if kind == "pcap" else 28, len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data[: rng.randint(24, len(data))]))
        analysis = read_capture(path)  # a partial result and warnings, never an exception
        assert analysis.stats.format == kind  # the header was left intact: read as far as the damage allows


def test_ftp_password_is_seen_not_kept(tmp_path: Path) -> None:
    from domosec.evidence.traffic.analyse import flow_rows
    from domosec.evidence.traffic.run import read_capture

    syn = dpkt.tcp.TH_SYN
    frames = [ethernet(ipv4_tcp("192.168.1.20", "192.168.1.5", 40100, 21, b"", flags=syn))]
    frames += [ethernet(ipv4_tcp("192.168.1.5", "192.168.1.20", 21, 40100, b"220 NAS FTP ready\r\n"))]
    frames += [ethernet(ipv4_tcp("192.168.1.20", "192.168.1.5", 40100, 21, b"OPTS UTF8 ON\r\n"))] * 8  # before the login
    frames += [ethernet(ipv4_tcp("192.168.1.20", "192.168.1.5", 40100, 21, b"USER backup\r\n"))]
    frames += [ethernet(ipv4_tcp("192.168.1.20", "192.168.1.5", 40100, 21, f"PASS {PASSWORD}\r\n".encode()))]
    path = tmp_path / "ftp.pcap"
    path.write_bytes(pcap(frames))
    rows = flow_rows(read_capture(path))
    assert rows[0]["protocol"] == "ftp" and rows[0]["credentials_seen"] == ["FTP PASS command"]
    assert PASSWORD not in repr(rows)


def test_json_written_row_by_row_is_one_document_to_a_file_or_standard_output(tmp_path: Path) -> None:
    frames = [ethernet(ipv4_tcp("192.168.1.20", "192.168.1.30", 40000 + n, 80, http_with_basic())) for n in range(30)]
    capture = tmp_path / "c.pcap"
    capture.write_bytes(pcap(frames))
    out = tmp_path / "out" / "flows.json"
    written, shown = run_traffic(capture, "--format", "json", "-o", out), run_traffic(capture, "--format", "json")
    assert written.returncode == shown.returncode == 0, written.stderr + shown.stderr
    text = out.read_text(encoding="utf-8")
    assert text == shown.stdout and PASSWORD not in text
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # sorted keys, indented, deterministic
    assert [f["client_port"] for f in doc["flows"]] == list(range(40000, 40030)) and len(doc["findings"]) == 1
    assert doc["hosts"][0]["ssdp_servers"] == [] and doc["hosts"][0]["ssdp_types"] == []
    assert sorted(p.name for p in out.parent.iterdir()) == ["flows.json"]  # the temporary file beside it was renamed
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(pcap([]))
    result = run_traffic(empty, "--format", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["flows"] == [] and '"flows": [],' in result.stdout
