"""Benchmark `domosec scan` against nmap on the same hosts and ports, in the same run: open ports and services.

Part 1, open ports (`--part ports`). Builds a sealed lab (network namespaces on one bridge, as the tests do): a /26 with LIVE hosts
that each listen on a different handful of the default smart-home ports, the rest of the block
empty. From a scanner namespace it runs, alternately and RUNS times each:

- `domosec scan --no-probes --no-discovery` (open ports only, what nmap -sT measures), and
- `nmap -sT -n -p PORTS` (host discovery as nmap does it by default, no DNS),

then prints the median wall time of each, their ratio, and whether both found the same open
ports. It also times one full `domosec scan` (probes and discovery on) for reference. Needs root,
iproute2 and nmap (`make system-deps`).

    .venv/bin/python bench/scan.py [--runs 5] [--live 12]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domosec.evidence.scan.targets import DEFAULT_TCP_PORTS, format_ports  # noqa: E402
from domosec.model.load import load_model  # noqa: E402
from tests.evidence.scan import servers as lab_servers  # noqa: E402
from tests.evidence.scan.netlab import LabHost, NetLab  # noqa: E402

USUAL = {"ssh": 22, "telnet": 23, "http": 80, "https": 443, "modbus": 502, "mqtt": 1883}
ODD = {"ssh": 2222, "telnet": 2424, "http": 8181, "https": 9443, "modbus": 5020, "mqtt": 18831}

LISTEN = """\
import socket, sys, threading
def serve(port):
    s = socket.create_server((sys.argv[1], port), backlog=64)
    while True:
        c, _ = s.accept()
        c.close()
for p in sys.argv[2:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
print("up", flush=True)
threading.Event().wait()
"""


def timed(host: LabHost, args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    result = subprocess.run(host.command(args), capture_output=True, text=True, env=env, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return elapsed, result


def nmap_open(xml_text: str) -> set[tuple[str, int]]:
    found = set()
    for host in ET.fromstring(xml_text).iter("host"):
        address = host.find("address")
        if address is None:
            continue
        for port in host.iter("port"):
            state = port.find("state")
            if state is not None and state.get("state") == "open":
                found.add((address.get("addr", ""), int(port.get("portid", "0"))))
    return found


def domosec_open(path: Path) -> set[tuple[str, int]]:
    model = load_model(path).model
    return {
        (e.ip, ep.port) for e in [*model.gateways, *model.devices] for ep in e.endpoints if ep.port is not None and ep.transport == "tcp"
    }


def bench_ports(args: argparse.Namespace) -> None:
    ports = format_ports(DEFAULT_TCP_PORTS)
    with NetLab() as lab, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scanner = lab.add_host("scan", 62)
        target = f"{lab.network.network_address}/26"
        expected: set[tuple[str, int]] = set()
        for i in range(args.live):
            host = lab.add_host(f"h{i}", 1 + i * 4)
            mine = [p for j, p in enumerate(DEFAULT_TCP_PORTS) if (i + j) % 4 == 0]
            host.start([sys.executable, "-c", LISTEN, host.address, *map(str, mine)], log=folder / f"h{i}.log")
            for p in mine:
                host.wait_listening(p)
                expected.add((host.address, p))
        lab.assert_sealed()
        ours, theirs = [], []
        out = folder / "observed.yaml"
        scan_args = [
            sys.executable,
            "-m",
            "domosec",
            "scan",
            "-t",
            target,
            "--no-default-ports",
            "--ports",
            ports,
            "--no-probes",
            "--no-discovery",
            "-o",
            str(out),
        ]
        nmap_args = ["nmap", "-sT", "-n", "-p", ports, "--open", "-oX", "-", target]
        for _ in range(args.runs):
            seconds, _result = timed(scanner, scan_args)
            ours.append(seconds)
            got_ours = domosec_open(out)
            seconds, result = timed(scanner, nmap_args)
            theirs.append(seconds)
            got_theirs = nmap_open(result.stdout)
        full_seconds, _ = timed(scanner, [sys.executable, "-m", "domosec", "scan", "-t", target, "-o", str(folder / "full.yaml")])
    print(f"lab: {target}, {args.live} live hosts, {len(expected)} open ports, {len(DEFAULT_TCP_PORTS)} ports per host ({ports})")
    print(f"runs: {args.runs} each, alternating; medians of whole-process wall time")
    print(f"domosec scan --no-probes --no-discovery: {statistics.median(ours):.3f} s  (min {min(ours):.3f}, max {max(ours):.3f})")
    print(f"nmap -sT -n (baseline):                  {statistics.median(theirs):.3f} s  (min {min(theirs):.3f}, max {max(theirs):.3f})")
    print(f"ratio domosec / nmap: {statistics.median(ours) / statistics.median(theirs):.2f}")
    print(
        f"open ports found: domosec {len(got_ours)}, nmap {len(got_theirs)}, expected {len(expected)}; same set: {got_ours == got_theirs == expected}"
    )
    print(f"full domosec scan (probes, TLS, discovery) of the same block, once: {full_seconds:.3f} s")


def _start_servers(host: LabHost, folder: Path, ports: dict[str, int], wanted: set[str]) -> None:
    if "mqtt" in wanted:
        lab_servers.start_mosquitto(host, folder / "mqtt", port=ports["mqtt"], anonymous=True)
    if wanted & {"http", "https"}:
        cert = lab_servers.make_certificate(folder / "pki", host.name, address=host.address, self_signed=True)
        lab_servers.start_nginx(
            host,
            folder / "web",
            http_port=ports["http"] if "http" in wanted else None,
            https_port=ports["https"] if "https" in wanted else None,
            tls=cert,
            legacy_tls=True,
        )
    if "telnet" in wanted:
        lab_servers.start_telnetd(host, folder / "telnet", port=ports["telnet"])
    if "ssh" in wanted:
        lab_servers.start_sshd(host, folder / "ssh", port=ports["ssh"])
    if "modbus" in wanted:
        lab_servers.start_modbus_server(host, folder / "modbus", port=ports["modbus"])


def nmap_named(xml_path: Path) -> dict[tuple[str, int], str]:
    """(address, port) → protocol for every service nmap named from an answer (not from its port table)."""
    from domosec.evidence.scan.nmap_xml import read_nmap_xml

    named = {}
    for host in read_nmap_xml(xml_path).sorted_hosts():
        for service in host.sorted_services():
            if service.protocol != "other" and "from an answer" in (service.notes[0] if service.notes else ""):
                named[(host.address, service.port)] = service.protocol
    return named


def bench_services(args: argparse.Namespace) -> None:
    wanted = set(args.servers.split(",")) if args.servers else set(USUAL)
    with NetLab() as lab, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scanner, usual, odd = lab.add_host("scan", 2), lab.add_host("usual", 40), lab.add_host("odd", 41)
        lab.assert_sealed()
        expected: dict[tuple[str, int], str] = {}
        for host, ports in ((usual, USUAL), (odd, ODD)):
            _start_servers(host, folder / host.name, ports, wanted)
            expected.update({(host.address, ports[name]): name for name in sorted(wanted)})
        port_list = ",".join(str(p) for p in sorted({p for _, p in expected}))
        targets = [usual.address, odd.address]
        out, xml = folder / "observed.yaml", folder / "nmap.xml"
        scan = ["scan", "-t", ",".join(targets), "--no-default-ports", "--ports", port_list, "--no-discovery", "-o", str(out)]
        ours_s, _ = timed(scanner, [sys.executable, "-m", "domosec", *scan])
        model = load_model(out).model
        ours = {(e.ip, ep.port): ep.protocol for e in model.devices for ep in e.endpoints if ep.protocol != "other"}
        theirs_s, _ = timed(scanner, ["nmap", "-sV", "-n", "-Pn", "-p", port_list, "-oX", str(xml), *targets])
        theirs = nmap_named(xml)
    print(f"services lab: {len(expected)} services on 2 hosts (usual and unusual ports): {', '.join(sorted(wanted))}")
    print("| host | port | server | domosec scan | nmap -sV |")
    print("|---|---|---|---|---|")
    for (address, port), name in sorted(expected.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        where = "usual" if address == targets[0] else "unusual"
        print(f"| {where} | {port} | {name} | {ours.get((address, port), '—')} | {theirs.get((address, port), '—')} |")
    print(f"named: domosec {len(ours)}/{len(expected)}, nmap -sV {len(theirs)}/{len(expected)}")
    print(f"time: domosec scan {ours_s:.1f} s, nmap -sV {theirs_s:.1f} s, ratio domosec / nmap {ours_s / theirs_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("ports", "services", "both"), default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--live", type=int, default=12, help="hosts with open ports in the /26")
    parser.add_argument("--servers", default="", help=f"services lab: a subset of {','.join(USUAL)}")
    args = parser.parse_args()
    # Stopped from outside (timeout, kill): leave through the lab's __exit__, which stops its servers and deletes its namespaces.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.part in ("ports", "both"):
        bench_ports(args)
    if args.part in ("services", "both"):
        bench_services(args)


if __name__ == "__main__":
    main()
