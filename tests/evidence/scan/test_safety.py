"""The scan's safety rails: refused targets, the plan before any packet, pacing limits, and Ctrl-C."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from domosec.evidence.scan.targets import parse_targets
from domosec.model.load import load_model
from tests.conftest import run_cli
from tests.evidence.scan import servers
from tests.evidence.scan.conftest import ROOT, require_lab
from tests.evidence.scan.netlab import NetLab


@pytest.mark.parametrize(
    ("targets", "code", "message"),
    [
        ("8.8.8.8", "public-target", "8.8.8.8 is a public address"),
        ("192.168.1.0/24,1.1.1.0/30", "public-target", "1.1.1.0/30 includes public address 1.1.1.1"),
        ("10.0.0.0/8", "too-many-hosts", "holds 16777216 addresses, more than 4096"),
        ("10.0.0.300", "bad-target", "'10.0.0.300' is not an IP address"),
        ("10.0.0.0/33", "bad-target", "'10.0.0.0/33' is not a CIDR block"),
    ],
)
def test_refused_targets_exit_2_with_a_clear_message_and_no_traceback(targets: str, code: str, message: str) -> None:
    result = run_cli("scan", "--target", targets, "--dry-run")
    assert result.returncode == 2
    assert f"--target: error[{code}]: " in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr and "domosec scan plan" not in result.stderr


def test_bad_ports_limits_and_models_are_reported_together_where_possible(tmp_path: Path) -> None:
    assert "--ports: error[bad-port]: '70000' is outside 1-65535" in run_cli("scan", "-t", "127.0.0.1", "--ports", "70000").stderr
    limits = run_cli("scan", "-t", "127.0.0.1", "--rate", "0", "--per-host", "0")
    assert limits.returncode == 2
    assert "--rate: error[bad-limit]: must be above 0, not 0" in limits.stderr and "--per-host: error[bad-limit]" in limits.stderr
    broken = tmp_path / "home.yaml"
    broken.write_text("domosec: 1\nsystem: {id: h, name: H}\ndevices:\n  - {id: d, type: toaster}\n", encoding="utf-8")
    result = run_cli("scan", "-t", "127.0.0.1", "--model", broken, "--dry-run")
    assert result.returncode == 2 and f"{broken}:4:" in result.stderr and "toaster" in result.stderr


def test_public_targets_need_allow_public() -> None:
    _, hosts = parse_targets(["203.0.113.7"], allow_public=True)
    assert [str(h) for h in hosts] == ["203.0.113.7"]
    result = run_cli("scan", "-t", "203.0.113.7", "--allow-public", "--dry-run")
    assert result.returncode == 0
    assert "1 public, allowed by --allow-public" in result.stderr


def test_dry_run_prints_the_plan_and_sends_nothing() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        server.settimeout(0.5)
        result = run_cli("scan", "-t", "127.0.0.1", "--no-default-ports", "--ports", str(port), "--dry-run")
        assert result.returncode == 0, result.stderr
        assert f"TCP ports (1): {port}" in result.stderr and result.stdout == ""
        with pytest.raises(TimeoutError):
            server.accept()


def test_pacing_holds_the_rate_and_the_per_host_cap_on_a_real_listener(tmp_path: Path) -> None:
    """Six listeners that never speak: the scanner waits for a greeting on each, so overlapping connections show."""
    require_lab()
    with NetLab() as lab:
        host = lab.add_host("solo", 5)
        result = host.run([sys.executable, "-c", _PACING, host.address], timeout=60, check=False, env={"PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 0, result.stderr
    peak, elapsed, found = json.loads(result.stdout)
    assert found == 6
    assert peak <= 2, f"{peak} connections to one host at once, the cap is 2"
    assert peak == 2, "the cap is reached, so the test can tell"
    assert elapsed >= 6 / 10 - 0.05, f"6 connections at 10/s cannot take {elapsed:.2f} s"


_PACING = """\
import asyncio, json, sys, time
from domosec.evidence.scan.observations import Observations
from domosec.evidence.scan.runner import run_scan
from domosec.evidence.scan.targets import Limits, ScanPlan, parse_targets

async def scenario(address):
    active = peak = 0

    async def hold(reader, writer):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await reader.read()
        active -= 1
        writer.close()

    listeners = [await asyncio.start_server(hold, address, 0) for _ in range(6)]
    ports = tuple(sorted(s.sockets[0].getsockname()[1] for s in listeners))
    limits = Limits(rate=10, per_host=2, probe_timeout=0.2)
    plan = ScanPlan((address,), parse_targets([address])[1], ports, limits=limits, discovery=False)
    observations = Observations()
    start = time.monotonic()
    await run_scan(plan, observations)
    elapsed = time.monotonic() - start
    found = len([s for s in observations.hosts[address].services.values() if s.transport == "tcp"])
    print(json.dumps([peak, elapsed, found]))

asyncio.run(scenario(sys.argv[1]))
"""


def test_ctrl_c_stops_the_scan_and_keeps_what_was_found(tmp_path: Path) -> None:
    require_lab()
    out = tmp_path / "partial.yaml"
    with NetLab() as lab:
        host = lab.add_host("solo", 5)
        listener = host.start([sys.executable, "-c", _LISTEN, host.address, "1000"], log=tmp_path / "listener.log")
        host.wait_listening(1000)
        scan = subprocess.Popen(
            host.command([sys.executable, "-m", "domosec", "scan", "-t", host.address, "--no-default-ports", "--ports", "1000-3000",
                          "--no-probes", "--no-discovery", "--rate", "100", "-o", str(out)]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )  # fmt: skip
        # Interrupt once the scan has reached the open port (the first it tries), not after a fixed
        # sleep: under load, starting Python and importing domosec alone can take seconds.
        reached = servers.count_log_matches(tmp_path / "listener.log", "^accepted$", 1, timeout=30, settle=0.3)
        assert reached, "the scan never connected to the open port"
        assert scan.poll() is None, "2001 ports at 100/s take 20 s; the scan must still run"
        scan.send_signal(signal.SIGINT)
        _stdout, stderr = scan.communicate(timeout=30)
        assert listener.poll() is None
    assert scan.returncode == 130, stderr
    assert "interrupted: writing what was found so far" in stderr and "Traceback" not in stderr
    text = out.read_text(encoding="utf-8")
    assert "The scan was interrupted" in text
    device = load_model(out).model.devices[0]
    assert (device.ip, [e.port for e in device.endpoints]) == (host.address, [1000])


_LISTEN = """\
import socket, sys, time
s = socket.create_server((sys.argv[1], int(sys.argv[2])))
while True:
    conn, _ = s.accept()
    print("accepted", flush=True)
    conn.close()
"""
