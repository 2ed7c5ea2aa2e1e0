"""Reading real captures: pcapng with two interfaces, IPv6, VLAN tags, IP fragments and messages split across TCP segments.

A sealed lab (tests/evidence/scan/netlab.py) with a sensor and a cloud host, both with IPv4 and IPv6
addresses. The cloud's server sets the smallest MSS Linux allows (``TCP_MAXSEG`` 88), so curl's TLS
ClientHello, the server's ServerHello and an HTTP request head with Basic authorization are cut
into several segments by the real stacks; an MQTT client writes its CONNECT a few bytes at a
time; a DNS answer of 4 KB comes back in IPv4 and IPv6 fragments. tcpdump records the switch
(nanosecond pcap, Ethernet) and the sensor's ``any`` interface (microsecond pcap, Linux cooked v2);
``mergecap`` joins them into one pcapng with two interfaces. The kernel here has no 802.1Q module,
so the VLAN case re-tags the real frames of the capture (an 802.1Q header inserted in each).

Each capture is read by the bulk path and by the per-packet path: both give the same flow table,
and the facts are all there.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domosec.evidence.traffic.analyse import Analysis, analyse, flow_rows, hosts_rows
from domosec.evidence.traffic.capture import ReadStats, read_packets
from domosec.evidence.traffic.flows import FlowTable
from domosec.evidence.traffic.run import read_capture
from tests.evidence.scan import servers
from tests.evidence.scan.conftest import require_lab
from tests.evidence.scan.netlab import NetLab

HTTP_PASSWORD = "split-Pa55-w0rd-6021"
MQTT_PASSWORD = "mqtt-split-Pa55-1187"
V4_NAME, V6_NAME = "v4.vendor-cloud.example", "v6.vendor-cloud.example"
SENSOR6, CLOUD6 = "fd00:18::20", "fd00:18::40"
SERVER = r"""
import socket, ssl, struct, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])

def listen(port, kind):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    if kind == socket.SOCK_STREAM:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 88)  # both ends send segments of at most 88 bytes
    s.bind(("::", port))
    return s

def handle(conn, tls):
    try:
        if tls:
            conn = ctx.wrap_socket(conn, server_side=True)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    except Exception:
        pass
    finally:
        conn.close()

def serve(port, tls):
    s = listen(port, socket.SOCK_STREAM)
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn, tls), daemon=True).start()

def dns():
    s = listen(53, socket.SOCK_DGRAM)
    while True:
        query, peer = s.recvfrom(2048)
        end = query.index(b"\0", 12) + 5
        third = 98 if peer[0].startswith("fd") else 99
        answers = b"".join(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([10, third, i // 256, i % 256]) for i in range(250))
        s.sendto(query[:2] + b"\x81\x80\x00\x01\x00\xfa\x00\x00\x00\x00" + query[12:end] + answers, peer)

for port, tls in ((80, False), (443, True)):
    threading.Thread(target=serve, args=(port, tls), daemon=True).start()
threading.Thread(target=dns, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""
ASK = r"""
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(10)
name = b"".join(bytes([len(p)]) + p.encode() for p in sys.argv[2].split(".")) + b"\0"
s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x01\x00\x01", (sys.argv[1], 53))
print(len(s.recv(65535)))
"""
MQTT_IN_PIECES = r"""
import socket, struct, sys, time
def text(v):
    return struct.pack("!H", len(v)) + v
body = text(b"MQTT") + b"\x04\xc2\x00\x3c" + text(b"split-sensor") + text(b"sensor") + text(sys.argv[2].encode())
packet = b"\x10" + bytes([len(body)]) + body
s = socket.create_connection((sys.argv[1], 1883), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(0, len(packet), 3):
    s.sendall(packet[i : i + 3])
    time.sleep(0.02)
print(s.recv(4).hex())
s.close()
"""
HTTP_IN_PIECES = r"""
import socket, sys, time
request = sys.argv[2].encode()
cuts = [request.index(piece.encode()) for piece in sys.argv[3:]]
s = socket.create_connection((sys.argv[1], 80), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for a, b in zip([0, *cuts], [*cuts, len(request)]):
    s.sendall(request[a:b])
    time.sleep(0.05)
print(s.recv(64).split(b"\r\n")[0].decode())
s.close()
"""
EMAIL, LATITUDE, SERIAL = "jane.doe@example.org", "48.85661", "SN4471-99812"
TELEMETRY = f"GET /v1/register?owner={EMAIL}&lat={LATITUDE}&lon=2.35222&serial={SERIAL} HTTP/1.1\r\nHost: {V4_NAME}\r\n\r\n"


@dataclasses.dataclass
class Lab:
    folder: Path
    switch_pcap: Path
    merged: Path
    sensor: str
    cloud: str
    sensor_mac: str


def _tcpdump(command: list[str], folder: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    pcap, log = folder / f"{name}.pcap", folder / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*command, "-n", "--immediate-mode", "-U", "-w", str(pcap)], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 15
    while "listening on" not in (log.read_text(errors="replace") if log.exists() else ""):
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.05)
    return proc, pcap


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_lab()
    missing = [tool for tool in ("curl", "mosquitto", "mergecap") if shutil.which(tool) is None]
    if missing:
        message = "missing: " + ", ".join(missing) + " (Debian curl, mosquitto, wireshark-common: `make system-deps`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("reading-lab")
    with NetLab() as net:
        sensor, cloud = net.add_host("sensor", 20), net.add_host("cloud", 40)
        for host, mine in ((sensor, SENSOR6), (cloud, CLOUD6)):
            host.run(["ip", "-6", "addr", "add", f"{mine}/64", "dev", "eth0", "nodad"])
            host.run(["ip", "link", "set", "dev", "eth0", "gso_max_segs", "1"])  # segments on the wire, not one offloaded blob
        net.assert_sealed()
        cert = servers.make_certificate(folder / "tls", V4_NAME, address=cloud.address, self_signed=True)
        script = folder / "server.py"
        script.write_text(SERVER, encoding="utf-8")
        cloud.start([sys.executable, str(script), str(cert.cert), str(cert.key)], log=folder / "server.log")
        cloud.wait_listening(443, log=folder / "server.log")
        cloud.wait_listening(53, "udp", log=folder / "server.log")
        servers.start_mosquitto(cloud, folder / "mqtt", port=1883, anonymous=False, users={"sensor": MQTT_PASSWORD})
        switch, switch_pcap = _tcpdump(
            ["ip", "netns", "exec", net.switch, "tcpdump", "-i", "br0", "--time-stamp-precision=nano"], folder, "switch"
        )
        local, local_pcap = _tcpdump(sensor.command(["tcpdump", "-i", "any"]), folder, "sensor")
        try:
            for name, address in ((V4_NAME, cloud.address), (V6_NAME, f"[{CLOUD6}]")):
                sensor.run(["curl", "-sk", "--resolve", f"{name}:443:{address}", f"https://{name}/"], timeout=30)
            for address in (cloud.address, f"[{CLOUD6}]"):
                sensor.run(["curl", "-s", "-u", f"admin:{HTTP_PASSWORD}", "-A", "SensorFW/2.1", f"http://{address}/"], timeout=30)
            for address in (cloud.address, CLOUD6):
                assert int(sensor.run([sys.executable, "-c", ASK, address, "big.vendor-cloud.example"]).stdout) > 3000
            # a device's telemetry in a query string, written so the e-mail address, the latitude and the serial number
            # are each cut between two segments on the wire
            sent = sensor.run([sys.executable, "-c", HTTP_IN_PIECES, cloud.address, TELEMETRY, "example.org", "85661", "4471"])
            assert sent.stdout.strip() == "HTTP/1.1 200 OK", sent.stdout + sent.stderr
            connack = sensor.run([sys.executable, "-c", MQTT_IN_PIECES, cloud.address, MQTT_PASSWORD]).stdout.strip()
            assert connack == "20020000", connack  # accepted: the broker read the CONNECT whole
            time.sleep(1.0)  # tcpdump writes each packet at once (-U); the last ones may still be in flight
        finally:
            _stop(switch)
            _stop(local)
        merged = folder / "merged.pcapng"
        subprocess.run(["mergecap", "-F", "pcapng", "-w", str(merged), str(switch_pcap), str(local_pcap)], check=True, timeout=60)
        yield Lab(folder, switch_pcap, merged, sensor.address, cloud.address, sensor.mac)


def per_packet(path: Path) -> Analysis:
    stats, table = ReadStats(), FlowTable()
    with path.open("rb") as stream:
        table.add_all(read_packets(stream, stats))
    table.finish()
    return analyse(table, stats)


def assert_same(path: Path) -> Analysis:
    """The bulk path and the per-packet path read the same flow table, hosts and findings from ``path``."""
    bulk, slow = read_capture(path), per_packet(path)
    assert flow_rows(bulk) == flow_rows(slow)
    assert hosts_rows(bulk) == hosts_rows(slow) and bulk.findings == slow.findings
    assert bulk.table.answers == slow.table.answers
    return bulk


def by_server(analysis: Analysis, server: str, port: int) -> list[dict[str, Any]]:
    return [row for row in flow_rows(analysis) if row["server"] == server and row["server_port"] == port]


def test_split_messages_are_read_over_ipv4_and_ipv6(lab: Lab) -> None:
    analysis = assert_same(lab.switch_pcap)
    assert analysis.stats.warnings == [] and analysis.table.streams.read >= 6  # two hellos each way, two heads, a CONNECT
    for server, name in ((lab.cloud, V4_NAME), (CLOUD6, V6_NAME)):
        tls = by_server(analysis, server, 443)
        assert [(f["sni"], f["tls_version"], f["protocol"]) for f in tls] == [(name, "tls1.3", "https")]
        http = by_server(analysis, server, 80)
        assert http[0]["credentials_seen"] == ["HTTP Basic authorization"] and http[0]["user_agent"] == "SensorFW/2.1"
    mqtt = by_server(analysis, lab.cloud, 1883)
    assert mqtt[0]["credentials_seen"] == ["MQTT CONNECT with user name and password"]
    assert mqtt[0]["client"] == lab.sensor and mqtt[0]["client_mac"] == lab.sensor_mac
    assert {h["address"] for h in hosts_rows(analysis)} >= {lab.sensor, SENSOR6, lab.cloud, CLOUD6}


def test_markers_cut_between_real_segments_are_found_once_and_never_shown(lab: Lab) -> None:
    import dpkt

    with lab.switch_pcap.open("rb") as stream:
        segments = [
            bytes(eth.data.data.data)
            for _ts, frame in dpkt.pcap.Reader(stream)
            if isinstance((eth := dpkt.ethernet.Ethernet(frame)).data, dpkt.ip.IP) and isinstance(eth.data.data, dpkt.tcp.TCP)
        ]
    assert any(s.endswith(b"owner=jane.doe@") for s in segments)  # the client's writes went out as segments of their own
    assert not any(value.encode() in s for s in segments for value in (EMAIL, LATITUDE, SERIAL))  # no segment holds one whole
    analysis = assert_same(lab.switch_pcap)
    rows = [row for row in by_server(analysis, lab.cloud, 80) if row["personal_data_seen"]]
    assert [row["personal_data_seen"] for row in rows] == [{"coordinates": 1, "e-mail address": 1, "serial number": 1}]
    shown = repr(flow_rows(analysis)) + repr(hosts_rows(analysis)) + repr(analysis.findings)
    assert not any(value in shown for value in (EMAIL, "jane.doe", LATITUDE, SERIAL, "4471"))
    assert ("personal-data-in-clear", lab.sensor) in {(f.kind, f.device) for f in analysis.findings}


def test_fragmented_answers_are_reassembled(lab: Lab) -> None:
    analysis = read_capture(lab.switch_pcap)
    table = analysis.table
    assert table.datagrams_reassembled == 2 and table.fragments >= 6 and not table.reassembler.dropped
    name = "big.vendor-cloud.example"
    assert table.answers["10.99.0.249"] == {name} and table.answers["10.98.0.249"] == {name}  # the 250th record, in the last fragment
    dns6 = by_server(analysis, CLOUD6, 53)
    assert dns6[0]["fragments"] >= 3 and dns6[0]["packets"] == dns6[0]["fragments"] + 1  # the query, and the answer's pieces


def test_pcapng_with_two_link_types_takes_the_fast_path(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    from domosec.evidence.traffic.decode import decode

    analysis = assert_same(lab.merged)
    assert analysis.stats.format == "pcapng" and analysis.stats.interfaces == 2
    slow: list[tuple[int, bool]] = []
    original = FlowTable.add

    def counting(table: FlowTable, packet: Any) -> None:
        d = decode(packet.linktype, packet.data)
        slow.append((d.proto if d else -1, bool(d and d.fragment)))
        original(table, packet)

    monkeypatch.setattr(FlowTable, "add", counting)
    read_capture(lab.merged)
    assert slow and not [kind for kind in slow if kind[0] in (6, 17) and not kind[1]]  # only fragments and ICMP, ARP… go one by one
    tls = by_server(analysis, CLOUD6, 443)
    on_switch = by_server(read_capture(lab.switch_pcap), CLOUD6, 443)[0]["packets"]
    assert tls[0]["sni"] == V6_NAME and tls[0]["packets"] > on_switch  # seen on both interfaces (the sensor's, after GRO)
    stamps = sorted(f["first_seen_ns"] for f in flow_rows(analysis))
    assert stamps[-1] - stamps[0] < 120 * 10**9  # nanosecond and microsecond interfaces on one clock


def test_vlan_tagged_frames_of_the_real_capture(lab: Lab, tmp_path: Path) -> None:
    data = lab.switch_pcap.read_bytes()
    out, pos = bytearray(data[:24]), 24
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    while pos + 16 <= len(data):
        sec, frac, caplen, length = struct.unpack_from(endian + "IIII", data, pos)
        frame = data[pos + 16 : pos + 16 + caplen]
        tagged = frame[:12] + struct.pack("!HH", 0x8100, 20) + frame[12:]
        out += struct.pack(endian + "IIII", sec, frac, caplen + 4, length + 4) + tagged
        pos += 16 + caplen
    path = tmp_path / "vlan.pcap"
    path.write_bytes(bytes(out))
    analysis = assert_same(path)
    plain = read_capture(lab.switch_pcap)
    assert [(f["client"], f["server"], f["sni"], f["credentials_seen"], f["packets"]) for f in flow_rows(analysis)] == [
        (f["client"], f["server"], f["sni"], f["credentials_seen"], f["packets"]) for f in flow_rows(plain)
    ]
