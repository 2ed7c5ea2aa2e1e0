"""Benchmark `domosec assess` as a whole process on generated models of 50, 500 and 5,000 devices.

Prints the median of N runs per size (default 5) and the import time of the CLI. Targets
(docs/performance.md): 50 devices <= 0.5 s, 5,000 devices <= 3 s, CLI import <= 0.25 s. Beside
the wall time it prints the CPU seconds of the process (user + system, all its threads) and the
load average, so that figures taken while other work shares the machine can be read.

    .venv/bin/python bench/assess.py [--runs 5] [--sizes 50,500,5000]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TYPES = ("camera", "lock", "lighting_plug", "sensor_alarm", "climate", "voice_assistant", "tv_media", "appliance", "energy", "robot_vacuum")
ZONES = ("living", "bedroom", "kitchen", "hallway", "children_room", "bathroom", "garage", "garden")


def generate(devices: int) -> str:
    """A deterministic model with ``devices`` devices, a gateway, networks, services and flows."""
    lines = [
        "domosec: 1",
        f"system: {{id: bench-{devices}, name: Benchmark home with {devices} devices}}",
        "users:",
        "  - {id: owner, role: admin, admin: true, mfa: false}",
        "  - {id: kid, role: child}",
        "zones:",
        *[f"  - {{id: {z}, kind: {z}}}" for z in ZONES],
        "networks:",
        "  - {id: wifi, kind: wifi, encryption: wpa2, segment: main, wps: true}",
        "  - {id: zigbee, kind: zigbee, encryption: network_key, join_open: true}",
        "  - {id: wan, kind: wan}",
        "gateways:",
        "  - id: router",
        "    kind: router",
        "    networks: [wifi, wan]",
        "    upnp: true",
        "    credentials: [{kind: web, factory_default: true}]",
        "    port_forwards: [{target: dev-0, external_port: 8080}]",
        "services:",
        "  - {id: cloud, kind: cloud_backend, auth: {mfa: none}, retention_days: 3650, third_party_sharing: true, sharing_purposes: [advertising]}",
        "devices:",
    ]
    flows = ["flows:"]
    for i in range(devices):
        dtype = TYPES[i % len(TYPES)]
        zone = ZONES[i % len(ZONES)]
        lines += [
            f"  - id: dev-{i}",
            f"    type: {dtype}",
            f"    zone: {zone}",
            f"    networks: [{'wifi' if i % 3 else 'zigbee'}]",
            f"    firmware: '{1 + i % 4}.{i % 10}.0'",
            f"    credentials: [{{kind: web, factory_default: {'true' if i % 7 == 0 else 'false'}}}]",
            f"    endpoints: [{{protocol: {'telnet' if i % 11 == 0 else 'https'}, port: {23 if i % 11 == 0 else 443}, exposure: lan}}]",
            f"    update: {{mechanism: {'none' if i % 13 == 0 else 'automatic'}, signed: {'false' if i % 5 == 0 else 'true'}}}",
            f"    support_end: {'2025-01-01' if i % 9 == 0 else '2030-01-01'}",
            f"    data: [{'video' if dtype == 'camera' else 'telemetry'}]",
        ]
        flows += [
            f"  - {{id: f-{i}, from: dev-{i}, to: cloud, via: [wifi], data: [{'video' if dtype == 'camera' else 'telemetry'}], encrypted: {'false' if i % 6 == 0 else 'true'}}}"
        ]
    return "\n".join(lines + flows) + "\n"


def compile_domosec(python: str) -> Path:
    """Compile the bytecode of the ``domosec`` package that ``python`` imports (with this environment's ``PYTHONPATH``).

    An installed package has its ``.pyc`` files from the install; a source tree run with
    ``PYTHONDONTWRITEBYTECODE`` set (as in these sessions) would otherwise compile ~40 changed
    modules from source on every run, ~0.05 s that no installed copy pays.
    """
    script = "import compileall, domosec, pathlib; p = pathlib.Path(domosec.__file__).parent; compileall.compile_dir(p, quiet=1); print(p)"
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


def time_runs(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (user + system of the child process) of each run."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return walls, cpus


def _row(label: str, walls: list[float], cpus: list[float]) -> str:
    return (
        f"{label:<32} {statistics.median(walls):>9.3f} {min(walls):>7.3f} {max(walls):>7.3f}"
        f" {statistics.median(cpus):>10.3f}  {len(walls)}  {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="50,500,5000")
    args = parser.parse_args()
    python = sys.executable
    print(f"bytecode compiled: {compile_domosec(python)}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'what':<32} {'median s':>9} {'min s':>7} {'max s':>7} {'cpu med s':>10}  runs  load")
    print(_row("import domosec.cli.app", *time_runs([python, "-c", "import domosec.cli.app"], args.runs)))
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            model = Path(tmp) / f"bench-{size}.yaml"
            model.write_text(generate(size), encoding="utf-8")
            cmd = [
                python,
                "-m",
                "domosec",
                "assess",
                str(model),
                "--format",
                "json",
                "-o",
                str(Path(tmp) / "out.json"),
                "--as-of",
                "2026-11-23",
            ]
            print(_row(f"assess {size:,} devices", *time_runs(cmd, args.runs)))


if __name__ == "__main__":
    main()
