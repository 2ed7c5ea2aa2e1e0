"""A ``domosec serve`` process killed with SIGKILL in the middle of writes under load loses nothing it had answered
for: every write the clients saw succeed (201) is in the SQLite (WAL) database after the kill, the database is
intact, the audit chain verifies, and the restarted server serves it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from domosec.web.app import create_app
from tests.conftest import run_cli
from tests.ports import free_port
from tests.web.conftest import FAMILY_HOME, Person, bearer, new_project

WRITERS = 4
ACKNOWLEDGED_BEFORE_KILL = 40


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "domosec", "serve", "--db", f"sqlite:///{db}", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the web worker processes are killed with it
    )
    deadline = time.monotonic() + 60  # start-up bound, not a speed assertion
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
            return server
        except httpx.TransportError:
            assert server.poll() is None, "the server died while starting"
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.2)


def test_sigkill_during_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "workspace.sqlite"
    app = create_app(f"sqlite:///{db}")
    owner = Person(app, "owner").signup()
    project = new_project(owner)
    token = bearer(owner.make_token())
    app.state.engine.dispose()

    port = free_port()
    server = _start(db, port)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=token, timeout=30) as client:
            round_ = 0
            while not stop.is_set():
                note = f"writer {n} round {round_}"
                try:
                    response = client.post(f"/api/v1/projects/{project}/models", json={"text": FAMILY_HOME, "note": note})
                except httpx.TransportError:
                    return  # the server is gone
                assert response.status_code == 201, response.text
                with lock:
                    acknowledged.append(note)
                round_ += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 240  # a bound for a loaded machine, not a speed assertion
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline and all(t.is_alive() for t in threads):
            time.sleep(0.05)
        assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL, f"only {len(acknowledged)} writes succeeded"
        os.killpg(server.pid, signal.SIGKILL)  # every process of the server, while the writers are still sending
        server.wait(timeout=30)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
        for thread in threads:
            thread.join(timeout=60)

    with sqlite3.connect(db) as con:
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in con.execute("select note from model_versions")}
        numbers = [row[0] for row in con.execute("select number from model_versions order by number")]
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged writes were lost: {sorted(missing)[:5]}"
    assert numbers == list(range(1, len(numbers) + 1)), "version numbers have gaps or repeats"
    verified = run_cli("audit", "verify", "--db", f"sqlite:///{db}")
    assert verified.returncode == 0, verified.stderr

    server = _start(db, port)
    try:
        listed = httpx.get(f"http://127.0.0.1:{port}/api/v1/projects/{project}/models", headers=token, timeout=30).json()
        assert len(listed) == len(numbers) >= len(acknowledged)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
