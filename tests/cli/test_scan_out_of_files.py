"""A scan that runs out of file descriptors never reports ports as silent: it waits for some, or stops with an error."""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT


def _low_file_limit(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def test_a_scan_short_of_file_descriptors_still_finds_the_open_port(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        port = listener.getsockname()[1]
        out = tmp_path / "scan.yaml"
        ports = f"{max(1, port - 1500)}-{min(65535, port + 1500)}"
        args = ["-m", "domosec", "scan", "-t", "127.0.0.1", "--ports", ports, "--no-probes", "--no-discovery"]
        args += ["--rate", "100000", "--per-host", "256", "-o", str(out)]
        result = subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: _low_file_limit(40),  # 256 connections in flight, 40 descriptors
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert f"port: {port}" in out.read_text(encoding="utf-8"), result.stderr


SCRIPT = textwrap.dedent(
    """
    import asyncio, os, resource, socket
    from domosec.errors import InputError
    from domosec.evidence.scan.pacing import Pacer
    from domosec.evidence.scan.portscan import try_port
    from domosec.evidence.scan.targets import Limits

    async def main() -> None:
        pacer = Pacer(Limits())
        held = []
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))  # every descriptor taken, and kept
        except OSError:
            pass
        try:
            result = await try_port(pacer, "127.0.0.1", PORT, timeout=1.0, read_greeting=False)
        except InputError as exc:
            print(exc)
        else:
            print("result", result.state)

    asyncio.run(main())
    """
)


def test_a_scan_that_gets_no_descriptor_at_all_stops_with_an_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT.replace("PORT", str(port))],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            preexec_fn=lambda: _low_file_limit(64),
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<scan>: error[scan-out-of-files]: the system refused to open more connections"), result.stdout
