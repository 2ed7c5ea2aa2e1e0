"""Benchmark `domosec traffic` against `tshark -T fields` on one generated capture, in the same run: packets/s and peak memory.

The capture is written here (deterministic, seeded): FLOWS flows from 250 home addresses, each a
TCP handshake then data; a third are TLS to port 443 (a ClientHello with SNI first), a fifth HTTP
(Host, User-Agent), a tenth MQTT (CONNECT with user name and password), the rest DNS over UDP.
Both tools read the same file once: domosec writes its flow table (`--format json`), tshark the
same fields (addresses, ports, lengths, DNS names, SNI, TLS version, HTTP Host and User-Agent,
MQTT user name). Peak memory is each child's maximum resident set size (wait4).

    .venv/bin/python bench/traffic.py                      # 300,000 packets, 20,000 flows (about a minute)
    .venv/bin/python bench/traffic.py --packets 5000000 --flows 50000   # a 1 GB generated capture (long)
    sudo .venv/bin/python bench/traffic.py --whole-day     # 1 GB built from real lab traffic (bench/traffic_day.py; root)
    sudo .venv/bin/python bench/traffic.py --whole-day --size-mb 200 --no-tshark
    sudo .venv/bin/python bench/traffic.py --whole-day --no-tshark --yaml   # also the merged model's path (peak memory)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TSHARK_FIELDS = [
    "frame.time_epoch", "eth.src", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
    "udp.dstport", "frame.len", "dns.qry.name", "tls.handshake.extensions_server_name", "tls.handshake.version", "http.host",
    "http.user_agent", "mqtt.username",
]  # fmt: skip


def _checksum_free_ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst) + payload


def _tcp(sport: int, dport: int, flags: int, payload: bytes) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, flags, 65535, 0, 0) + payload


def _client_hello(name: str) -> bytes:
    sni = name.encode()
    ext = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def _dns_query(name: str, ident: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\x00\x01\x00\x01"


def _mqtt_connect() -> bytes:
    body = b"\x00\x04MQTT\x04\xc2\x00\x3c" + b"\x00\x03dev" + b"\x00\x04user" + b"\x00\x08password"
    return b"\x10" + bytes([len(body)]) + body


def generate(path: Path, packets: int, flows: int, seed: int = 7) -> int:
    """Write the capture; returns its size in bytes."""
    rng = random.Random(seed)
    per_flow = max(2, packets // flows)
    eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
    written = 0
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        ts = 1_700_000_000
        for flow in range(flows):
            src = bytes([10, 0, flow % 250 // 250, 2 + flow % 250])
            dst = bytes([100, 64 + flow % 60, (flow // 60) % 250, 1 + flow % 200])
            sport = 10000 + flow % 50000
            kind = flow % 10
            name = f"svc{flow % 997}.vendor{flow % 31}.example.com"
            frames = []
            if kind >= 9:
                udp = struct.pack("!HHHH", sport, 53, 8 + len(q := _dns_query(name, flow & 0xFFFF)), 0) + q
                frames = [eth + _checksum_free_ipv4(src, dst, 17, udp)] * per_flow
            else:
                dport, first = (
                    (443, _client_hello(name)) if kind < 6 else (80, f"GET /x HTTP/1.1\r\nHost: {name}\r\nUser-Agent: Dev/1\r\n\r\n".encode())
                ) if kind < 8 else (1883, _mqtt_connect())  # fmt: skip
                frames.append(eth + _checksum_free_ipv4(src, dst, 6, _tcp(sport, dport, 0x02, b"")))
                frames.append(eth + _checksum_free_ipv4(src, dst, 6, _tcp(sport, dport, 0x18, first)))
                data = bytes(rng.randrange(256) for _ in range(160))
                for n in range(per_flow - 2):
                    a, b = (src, dst) if n % 2 else (dst, src)
                    p, q = (sport, dport) if n % 2 else (dport, sport)
                    frames.append(eth + _checksum_free_ipv4(a, b, 6, _tcp(p, q, 0x18, data)))
            for frame in frames:
                ts += 1
                out.write(struct.pack("<IIII", ts // 1000, ts % 1000 * 1000, len(frame), len(frame)))
                out.write(frame)
                written += 1
    return path.stat().st_size


def measure(command: list[str], stdout: Path) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds, peak resident set size (bytes) and exit status of one child process."""
    with stdout.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packets", type=int, default=300_000)
    parser.add_argument("--flows", type=int, default=20_000)
    parser.add_argument("--no-tshark", action="store_true")
    parser.add_argument("--only-tshark", action="store_true", help="measure tshark alone (the run is long: one tool at a time)")
    parser.add_argument("--whole-day", action="store_true", help="a capture built from real lab traffic (root: network namespaces)")
    parser.add_argument("--size-mb", type=int, default=1000, help="the whole-day capture's size (default 1000 MB)")
    parser.add_argument("--yaml", action="store_true", help="also measure the merged model's path (-o observed.yaml)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="domosec-bench-traffic-") as folder:
        capture = Path(folder) / "bench.pcap"
        if args.whole_day:
            from traffic_day import record_session, repeat_to_size

            started = time.perf_counter()
            session, prefix, cloud = record_session(Path(folder))
            count, copies = repeat_to_size(session, prefix, cloud, capture, args.size_mb * 1_000_000)
            size = capture.stat().st_size
            print(f"capture: {count:,} packets, {size / 1e6:,.0f} MB: {copies:,} copies of a {session.stat().st_size / 1e3:,.0f} kB "
                  f"lab session spread over 24 h (built in {time.perf_counter() - started:.0f} s)")  # fmt: skip
        else:
            size = generate(capture, args.packets, args.flows)
            count = (args.packets // args.flows if args.packets >= 2 * args.flows else 2) * args.flows
            print(f"capture: {count:,} packets, {args.flows:,} flows, {size / 1e6:,.0f} MB")
        rows = []
        flows_json = Path(folder) / "flows.json"
        if not args.only_tshark:
            ours = [sys.executable, "-m", "domosec", "traffic", str(capture), "--format", "json", "-o", str(flows_json)]
            rows.append(("domosec traffic --format json", *measure(ours, Path(folder) / "ours.out")))
            if rows[-1][-1] == 0:
                doc = json.loads(flows_json.read_text(encoding="utf-8"))
                print(f"domosec: {len(doc['flows']):,} flows, {len(doc['hosts']):,} hosts, warnings: {doc['capture']['warnings']}")
                del doc
            if args.yaml:
                merged = [sys.executable, "-m", "domosec", "traffic", str(capture), "-o", str(Path(folder) / "observed.yaml")]
                rows.append(("domosec traffic (merged YAML)", *measure(merged, Path(folder) / "yaml.out")))
        tshark = shutil.which("tshark")
        if tshark and not args.no_tshark:
            command = [tshark, "-r", str(capture), "-n", "-T", "fields", *(x for f in TSHARK_FIELDS for x in ("-e", f))]
            rows.append(("tshark -T fields", *measure(command, Path(folder) / "tshark.out")))
        # The machine is shared: packets per CPU second is the fair rate; wall time is shown beside it.
        print(f"{'tool':<32} {'wall s':>7} {'CPU s':>7} {'packets/CPU s':>14} {'peak MB':>8} exit")
        for tool, wall, cpu, peak_bytes, code in rows:
            print(f"{tool:<32} {wall:7.2f} {cpu:7.2f} {count / cpu:14,.0f} {peak_bytes / 1e6:8.0f} {code}")
        if len(rows) >= 2 and rows[-1][0].startswith("tshark") and not args.only_tshark:
            print(f"domosec / tshark packets per CPU second: {rows[-1][2] / rows[0][2]:.2f}x")


if __name__ == "__main__":
    main()
