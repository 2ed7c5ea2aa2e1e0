"""``domosec serve`` as a user starts it: a real process on a loopback port, a fresh SQLite file, stopped with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import run_cli
from tests.ports import free_port


def test_serve_creates_the_database_and_answers(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "workspace.sqlite"
    server = subprocess.Popen(
        [sys.executable, "-m", "domosec", "serve", "--db", f"sqlite:///{db}", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60  # start-up bound, not a speed assertion
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        assert response.status_code == 200 and "Sign in" in response.text
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 303
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert db.exists()
    verified = run_cli("audit", "verify", "--db", f"sqlite:///{db}")
    assert verified.returncode == 0 and "0 entries" in verified.stdout


def test_serve_refuses_a_bad_database_url() -> None:
    result = run_cli("serve", "--db", "mysql+nonexistentdriver://x/y", "--port", str(free_port()))
    assert result.returncode == 2 and "error[" in result.stderr and "Traceback" not in result.stderr
