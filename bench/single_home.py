"""The same ~15-element home for `domosec assess` and for OWASP pytm, to time both as whole processes.

Writes, into ``--dir``, ``home.yaml`` (``bench/assess.py``'s generated home with 8 devices: two people, three
networks, a router, a cloud service and eight devices, each with a flow to the cloud) and ``home_tm.py``, the
same elements as a pytm model (people as actors, the networks as trust boundaries, the router and the devices as
processes, the cloud as a server, one data flow per flow and one from each person to the cloud). Then time the
pair in one run, alternately (``farm-bench`` prints the ratio pair by pair)::

    .venv/bin/python bench/single_home.py --dir /tmp/home
    farm-bench -n 9 -- .venv/bin/domosec assess /tmp/home/home.yaml --format json -o /tmp/home/out.json \\
        --as-of 2026-11-23 --vs '.venv/bin/python /tmp/home/home_tm.py --json /tmp/home/pytm.json'

pytm (``pip install pytm``, in the ``bench`` extra) resolves its threat library against every element and
flow and writes the threats it finds as JSON, the counterpart of domosec's findings. With ``--runs N`` the script
times the pair itself, alternately (``make bench-pytm``): median wall and CPU seconds of each and their ratio,
after compiling the bytecode of the ``domosec`` it runs (as an install does; see ``assess.compile_domosec``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from assess import TYPES, compile_domosec, generate, time_runs

DEVICES = 8


def pytm_script(devices: int) -> str:
    lines = [
        "from pytm import TM, Actor, Boundary, Dataflow, Process, Server",
        "",
        "tm = TM('Benchmark home')",
        "tm.description = 'A home with a router, Wi-Fi, Zigbee, one cloud service and a few devices.'",
        "tm.isOrdered = True",
        "internet = Boundary('Internet')",
        "wifi = Boundary('wifi')",
        "zigbee = Boundary('zigbee')",
        "lan = Boundary('wan')",
        "owner = Actor('owner')",
        "owner.inBoundary = wifi",
        "kid = Actor('kid')",
        "kid.inBoundary = wifi",
        "router = Process('router')",
        "router.inBoundary = lan",
        "router.hasAccessControl = False",
        "cloud = Server('cloud')",
        "cloud.inBoundary = internet",
        "cloud.implementsAuthenticationScheme = False",
        "for person in (owner, kid):",
        "    login = Dataflow(person, cloud, f'{person.name} signs in')",
        "    login.protocol = 'HTTPS'",
        "    login.isEncrypted = True",
    ]
    for i in range(devices):
        encrypted = "False" if i % 6 == 0 else "True"
        lines += [
            f"dev{i} = Process('dev-{i} ({TYPES[i % len(TYPES)]})')",
            f"dev{i}.inBoundary = {'wifi' if i % 3 else 'zigbee'}",
            f"dev{i}.hasAccessControl = {'False' if i % 7 == 0 else 'True'}",
            f"f{i} = Dataflow(dev{i}, cloud, 'f-{i}')",
            f"f{i}.protocol = '{'HTTP' if encrypted == 'False' else 'HTTPS'}'",
            f"f{i}.isEncrypted = {encrypted}",
        ]
    lines += ["", "if __name__ == '__main__':", "    tm.process()", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--devices", type=int, default=DEVICES)
    parser.add_argument("--runs", type=int, default=0, help="time both this many times, alternately")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "home.yaml").write_text(generate(args.devices), encoding="utf-8")
    (args.dir / "home_tm.py").write_text(pytm_script(args.devices), encoding="utf-8")
    print(f"wrote {args.dir / 'home.yaml'} and {args.dir / 'home_tm.py'}")
    if args.runs < 1:
        return
    python = sys.executable
    print(f"bytecode compiled: {compile_domosec(python)}")
    domosec = [python, "-m", "domosec", "assess", str(args.dir / "home.yaml"), "--format", "json", "-o", str(args.dir / "out.json")]
    pytm = [python, str(args.dir / "home_tm.py"), "--json", str(args.dir / "pytm.json")]
    times: dict[str, tuple[list[float], list[float]]] = {"domosec": ([], []), "pytm": ([], [])}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for _ in range(args.runs):
        for name, cmd in (("domosec", [*domosec, "--as-of", "2026-11-23"]), ("pytm", pytm)):
            walls, cpus = time_runs(cmd, 1)
            times[name][0].extend(walls)
            times[name][1].extend(cpus)
    wall = {name: statistics.median(v[0]) for name, v in times.items()}
    cpu = {name: statistics.median(v[1]) for name, v in times.items()}
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name in times:
        print(f"{name:<8} median wall {wall[name]:.3f} s, CPU {cpu[name]:.3f} s ({args.runs} runs)")
    print(f"domosec / pytm: wall {wall['domosec'] / wall['pytm']:.2f}, CPU {cpu['domosec'] / cpu['pytm']:.2f} (target <= 1.0)")


if __name__ == "__main__":
    main()
