"""``domosec import homeassistant --url``: failures a user meets before Home Assistant answers, on loopback servers.

Each is an ``error[code]`` with exit status 2, no traceback, and never the token. The answers of a
real Home Assistant (a refused token, a non-administrator's token, a wrong path) are tested in
``live/test_live_websocket.py``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import ROOT
from tests.evidence.scan.servers import make_ca, make_certificate
from tests.ports import free_port

TOKEN = "eyJhbGciOiJIUzI1NiJ9.domosec-test-token-never-shown.c2lnbmF0dXJl"


def run_import(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "domosec", "import", "homeassistant", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env={**{k: v for k, v in os.environ.items() if k != "DOMOSEC_HA_TOKEN"}, **(env or {})},
        check=False,
    )


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "ha.token"
    path.write_text(TOKEN + "\n", encoding="ascii")
    return path


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port whose connections are accepted by the kernel and never answered."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@dataclass
class TlsServer:
    port: int
    ca: Path
    """The certificate of the authority that issued the server's certificate."""


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    """A loopback TLS server whose certificate a private authority issued; it completes the handshake, then says nothing."""
    ca = make_ca(tmp_path / "ca", "Home Lab CA")
    cert = make_certificate(tmp_path / "tls", "homeassistant.local", address="127.0.0.1", self_signed=False, ca=ca)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                held.append(context.wrap_socket(conn, server_side=True))
            except (ssl.SSLError, OSError):
                conn.close()  # the client refused our certificate

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield TlsServer(int(listener.getsockname()[1]), ca.cert)
    listener.close()
    for conn in held:
        conn.close()


@pytest.fixture
def stalling_websocket() -> Iterator[int]:
    """A loopback WebSocket server that greets like Home Assistant, then never answers: ``/quiet`` sends nothing more;
    ``/chatty`` accepts any token, then sends a message that is not the answer every 0.1 s, so only a deadline for the
    whole answer (not one per message) ends the wait."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        chatty = request.path.startswith("/chatty")
        try:
            await ws.send_json({"type": "auth_required", "ha_version": "2024.3.3"})
            if chatty:
                await ws.receive(timeout=10)
                await ws.send_json({"type": "auth_ok", "ha_version": "2024.3.3"})
            while not ws.closed:
                if chatty:
                    await ws.send_json({"id": 0, "type": "event", "event": {}})
                await asyncio.sleep(0.1)
        except (ConnectionError, TimeoutError):
            pass  # the client gave up, as it should
        return ws

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/quiet/api/websocket", handler)
        app.router.add_get("/chatty/api/websocket", handler)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(int(site._server.sockets[0].getsockname()[1]))  # type: ignore[union-attr]
        return runner

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield port[0]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def assert_error(result: subprocess.CompletedProcess[str], code: str) -> None:
    assert result.returncode == 2, result.stderr
    assert f"error[{code}]" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_connection_refused_on_a_wrong_port(token_file: Path) -> None:
    port = free_port()
    result = run_import("--url", f"http://127.0.0.1:{port}", "--token-file", token_file)
    assert_error(result, "ha-connection-failed")
    assert result.stderr.startswith(f"http://127.0.0.1:{port}: error[ha-connection-failed]: cannot connect (connection refused)")


def test_a_server_that_never_answers_times_out(token_file: Path, silent_server: int) -> None:
    result = run_import("--url", f"http://127.0.0.1:{silent_server}", "--token-file", token_file, "--timeout", "1")
    assert_error(result, "ha-timeout")
    assert "no answer within 1 s while waiting for the connection to open; nothing was imported" in result.stderr


@pytest.mark.parametrize(("path", "waiting_for"), [("quiet", "the answer to the access token"), ("chatty", "the answer to get_config")])
def test_a_websocket_that_greets_then_never_answers_times_out(
    token_file: Path, stalling_websocket: int, path: str, waiting_for: str
) -> None:
    result = run_import("--url", f"http://127.0.0.1:{stalling_websocket}/{path}", "--token-file", token_file, "--timeout", "1")
    assert_error(result, "ha-timeout")
    assert f"no answer within 1 s while waiting for {waiting_for}; nothing was imported" in result.stderr


def test_tls_certificates_are_verified_unless_insecure(token_file: Path, tls_server: TlsServer, tmp_path: Path) -> None:
    url = f"https://127.0.0.1:{tls_server.port}"
    verified = run_import("--url", url, "--token-file", token_file, "--timeout", "5")
    assert_error(verified, "ha-tls-unverified")
    assert "certificate verify failed" in verified.stderr or "unable to get local issuer certificate" in verified.stderr
    # Trusting the authority, or not verifying at all, the handshake succeeds and the silent server stops the import.
    trusted = run_import("--url", url, "--token-file", token_file, "--timeout", "1", "--ca-file", tls_server.ca)
    assert_error(trusted, "ha-timeout")
    insecure = run_import("--url", url, "--token-file", token_file, "--timeout", "1", "--insecure")
    assert_error(insecure, "ha-timeout")
    # A CA file that is not one is refused before connecting.
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("hello\n", encoding="ascii")
    assert_error(run_import("--url", url, "--token-file", token_file, "--ca-file", not_pem), "ha-ca-file")
    assert_error(run_import("--url", url, "--token-file", token_file, "--ca-file", tmp_path / "absent.pem"), "ha-ca-file")


def test_the_token_comes_from_a_file_or_the_environment(tmp_path: Path, silent_server: int) -> None:
    url = f"http://127.0.0.1:{silent_server}"
    assert_error(run_import("--url", url), "ha-no-token")
    from_env = run_import("--url", url, "--timeout", "1", env={"DOMOSEC_HA_TOKEN": TOKEN})
    assert_error(from_env, "ha-timeout")  # the token was taken: the import went on to connect
    two_lines = tmp_path / "two.token"
    two_lines.write_text(f"{TOKEN}\n{TOKEN}\n", encoding="ascii")
    assert_error(run_import("--url", url, "--token-file", two_lines), "ha-token-file")
    assert_error(run_import("--url", url, "--token-file", tmp_path / "absent.token"), "ha-token-file")
    # There is no option that takes the token itself (it would show in the process list and the shell's history).
    on_command_line = run_import("--url", url, "--token", TOKEN)
    assert on_command_line.returncode == 2 and "No such option: --token" in on_command_line.stderr
    assert TOKEN not in on_command_line.stdout + on_command_line.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("homeassistant.local:8123", "expected an http:// or https:// URL with a host name"),
        ("ftp://127.0.0.1/", "expected an http:// or https:// URL with a host name"),
        ("http://user:pass@127.0.0.1:8123", "must not hold a user name, password, query or fragment"),
        ("http://127.0.0.1:99999", "not a URL"),
    ],
)
def test_a_wrong_url_is_refused_before_connecting(token_file: Path, url: str, message: str) -> None:
    result = run_import("--url", url, "--token-file", token_file)
    assert_error(result, "ha-bad-url")
    assert message in result.stderr
    assert "pass" not in result.stderr.replace("password", "")


def test_a_directory_or_a_url_but_not_both(token_file: Path, tmp_path: Path) -> None:
    assert_error(run_import(), "ha-usage")
    assert_error(run_import(tmp_path, "--url", "http://127.0.0.1:8123", "--token-file", token_file), "ha-usage")
