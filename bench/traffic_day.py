"""A whole day of home traffic for `bench/traffic.py --whole-day`: real lab traffic, recorded once, repeated to size.

:func:`record_session` runs a short session in a sealed namespace lab (root; tests/evidence/scan/netlab.py)
and records it with tcpdump on the lab's switch: a sensor and a camera each publish 250 readings to
Mosquitto over one connection with a password (one reading a packet), fetch three 4 KB pages over TLS 1.3 and one over
HTTP with Basic authorization, and ask a resolver for ten names; the cloud server answers. The hosts send real MTU-sized frames
(``gso_max_segs 1``: what a mirrored switch port sees, not offload blobs).

:func:`repeat_to_size` turns that recording into a capture of the size asked for: copy *k* of the
session moves the home's addresses to 10.b.c.x (b, c from *k*; the cloud stays where it is) and
starts later, so the copies spread over 24 hours and every copy's connections are flows of their
own. Checksums are not recomputed (neither tool checks them).
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MQTT_MESSAGES, TLS_FETCHES, DNS_QUERIES = 250, 3, 10  # per device and session
sys.path.insert(0, str(ROOT))

from tests.evidence.scan import servers  # noqa: E402
from tests.evidence.scan.netlab import NetLab  # noqa: E402

SERVER = r"""
import socket, ssl, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
PAGE = b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n" + b"x" * 4096

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
        conn.sendall(PAGE)
    except Exception:
        pass
    finally:
        conn.close()

def serve(port, tls):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn, tls), daemon=True).start()

def dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 53))
    while True:
        query, peer = s.recvfrom(2048)
        end = query.index(b"\0", 12) + 5
        s.sendto(query[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + query[12:end] + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(sys.argv[3]), peer)

for port, tls in ((80, False), (443, True)):
    threading.Thread(target=serve, args=(port, tls), daemon=True).start()
threading.Thread(target=dns, daemon=True).start()
threading.Event().wait()
"""
ASK = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for n in range(int(sys.argv[2])):
    name = b"".join(bytes([len(p)]) + p.encode() for p in f"svc{n}.vendor-cloud.example".split(".")) + b"\0"
    s.sendto(bytes([n % 256, 7]) + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x01\x00\x01", (sys.argv[1], 53))
    s.recv(2048)
"""

PUBLISH = r"""
import socket, struct, sys, time
def text(v):
    return struct.pack("!H", len(v)) + v
def packet(kind, body):
    size, out = len(body), b""
    while True:
        digit, size = size % 128, size // 128
        out += bytes([digit | (0x80 if size else 0)])
        if not size:
            return bytes([kind]) + out + body
s = socket.create_connection((sys.argv[1], 1883), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(packet(0x10, text(b"MQTT") + b"\x04\xc2\x00\x3c" + text(b"bench-sensor") + text(b"sensor") + text(b"bench-Pa55")))
s.recv(4)
for n in range(int(sys.argv[2])):
    reading = b'{"temperature": %d.%d, "battery": %d}' % (20 + n % 7, n % 10, 90 - n % 5)
    s.sendall(packet(0x30, text(b"home/hall/climate") + reading))  # one reading a packet, as a sensor sends them
    time.sleep(0.003)
s.sendall(b"\xe0\x00")
s.close()
"""


def record_session(folder: Path) -> tuple[Path, str, str]:
    """Record one lab session; returns the pcap, the lab's /24 prefix (``10.b.c.``) and the cloud's address."""
    pcap, log = folder / "session.pcap", folder / "tcpdump.log"
    with NetLab() as lab:
        sensor, camera, cloud = lab.add_host("sensor", 20), lab.add_host("camera", 30), lab.add_host("cloud", 40)
        for host in (sensor, camera, cloud):
            host.run(["ip", "link", "set", "dev", "eth0", "gso_max_segs", "1"])
        lab.assert_sealed()
        cert = servers.make_certificate(folder / "tls", "cloud.vendor-cloud.example", address=cloud.address, self_signed=True)
        script = folder / "server.py"
        script.write_text(SERVER, encoding="utf-8")
        cloud.start([sys.executable, str(script), str(cert.cert), str(cert.key), cloud.address], log=folder / "server.log")
        cloud.wait_listening(443, log=folder / "server.log")
        servers.start_mosquitto(cloud, folder / "mqtt", port=1883, anonymous=False, users={"sensor": "bench-Pa55"})
        with log.open("wb") as out:
            tcpdump = subprocess.Popen(["ip", "netns", "exec", lab.switch, "tcpdump", "-i", "br0", "-n", "-U", "-w", str(pcap)],
                                       stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            while "listening on" not in log.read_text(errors="replace"):
                time.sleep(0.05)
            for host in (sensor, camera):
                host.run([sys.executable, "-c", PUBLISH, cloud.address, str(MQTT_MESSAGES)], timeout=60)
                for n in range(TLS_FETCHES):
                    name = f"api{n}.vendor-cloud.example"
                    host.run(["curl", "-sk", "-o", "/dev/null", "--resolve", f"{name}:443:{cloud.address}", f"https://{name}/"])
                host.run(["curl", "-s", "-o", "/dev/null", "-u", "admin:bench-Pa55", f"http://{cloud.address}/"])
                host.run([sys.executable, "-c", ASK, cloud.address, str(DNS_QUERIES)])
            time.sleep(1.0)
        finally:
            os.killpg(tcpdump.pid, signal.SIGINT)
            tcpdump.wait(timeout=10)
        prefix = cloud.address.rsplit(".", 1)[0] + "."
        return pcap, prefix, cloud.address


def repeat_to_size(session: Path, prefix: str, cloud: str, out: Path, size: int) -> tuple[int, int]:
    """Write ``out`` of about ``size`` bytes from copies of ``session``; returns (packets, copies)."""
    data = session.read_bytes()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    seconds: list[int] = []
    addresses: list[int] = []
    lab = bytes(int(x) for x in prefix.rstrip(".").split("."))
    keep = bytes(int(x) for x in cloud.split("."))
    pos = 24
    first_second = struct.unpack_from(endian + "I", data, 24)[0]
    while pos + 16 <= len(data):
        caplen = struct.unpack_from(endian + "I", data, pos + 8)[0]
        frame = pos + 16
        seconds.append(pos)
        if caplen >= 34 and data[frame + 12 : frame + 14] == b"\x08\x00":
            for at in (frame + 26, frame + 30):
                if data[at : at + 3] == lab and data[at : at + 4] != keep:
                    addresses.append(at)
        pos = frame + caplen
    body = np.frombuffer(data[24:pos], dtype=np.uint8)
    secs = np.asarray(seconds, dtype=np.int64) - 24
    addr = np.asarray(addresses, dtype=np.int64) - 24
    original = np.array([struct.unpack_from(endian + "I", data, 24 + int(s))[0] for s in secs], dtype=np.int64) - first_second
    copies = max(1, -(-size // len(body)))
    spacing = max(1, 86_400 // copies)
    packets = 0
    with out.open("wb") as handle:
        handle.write(data[:24])
        for k in range(copies):
            block = body.copy()
            stamp = (1_700_000_000 + k * spacing + original).astype("<u4" if endian == "<" else ">u4").view(np.uint8).reshape(-1, 4)
            for byte in range(4):
                block[secs + byte] = stamp[:, byte]
            block[addr + 1] = 100 + (k // 250) % 150  # 10.b.c.x: up to 37,500 distinct homes' worth of addresses
            block[addr + 2] = k % 250
            handle.write(block.tobytes())
            packets += len(secs)
    return packets, copies
