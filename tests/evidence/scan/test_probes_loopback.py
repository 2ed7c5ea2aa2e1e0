"""Probes against real servers on the loopback address, on free ports: no namespace needed.

These are the fallback where namespaces are unavailable, and they check what the lab test cannot
see from the outside: how many logins a probe tries, and what sslyze reports for each TLS setup.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import insecure_tls_context
from domosec.evidence.scan.probes.http import probe_http
from domosec.evidence.scan.probes.mqtt import probe_mqtt
from domosec.evidence.scan.probes.rtsp import probe_rtsp
from domosec.evidence.scan.targets import Limits
from domosec.evidence.scan.tlscheck import TlsTarget, check_tls
from tests.evidence.scan import servers
from tests.evidence.scan.netlab import LoopbackHost
from tests.ports import free_port

pytestmark = pytest.mark.usefixtures("server_binaries")


@pytest.fixture(scope="module")
def server_binaries() -> None:
    missing = [m for m in servers.missing_binaries() if m.startswith(("mosquitto", "nginx"))]
    if missing:
        import os

        (pytest.fail if os.environ.get("CI") else pytest.skip)("missing: " + ", ".join(missing) + " (run `make system-deps`)")


@pytest.fixture
def loopback() -> Iterator[LoopbackHost]:
    with LoopbackHost() as host:
        yield host


def _mqtt(port: int, *, tls: bool = False, try_defaults: bool = False) -> Service:
    service = Service(port)

    async def go() -> None:
        pacer = Pacer(Limits())
        await probe_mqtt(pacer, "127.0.0.1", service, tls=insecure_tls_context() if tls else None, timeout=3.0, try_defaults=try_defaults)

    asyncio.run(go())
    return service


def _http(port: int, *, tls: bool = False, try_defaults: bool = False) -> Service:
    service = Service(port)

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            ok = await probe_http(
                session,
                Pacer(Limits()),
                "127.0.0.1",
                service,
                tls=insecure_tls_context() if tls else None,
                timeout=3.0,
                try_defaults=try_defaults,
            )
            assert ok

    asyncio.run(go())
    return service


def test_mqtt_probe_tells_anonymous_brokers_from_password_brokers(loopback: LoopbackHost, tmp_path: Path) -> None:
    open_port, closed_port = free_port(), free_port()
    servers.start_mosquitto(loopback, tmp_path / "open", port=open_port, anonymous=True)
    servers.start_mosquitto(loopback, tmp_path / "closed", port=closed_port, anonymous=False, users={"hub": "long-unguessable-secret-42"})
    assert (_mqtt(open_port).authentication, _mqtt(open_port).protocol) == ("none", "mqtt")
    closed = _mqtt(closed_port)
    assert closed.authentication == "password" and closed.default_login == ""


def test_mqtt_default_logins_stop_at_the_first_that_works_and_never_exceed_five(loopback: LoopbackHost, tmp_path: Path) -> None:
    weak, strong = free_port(), free_port()
    servers.start_mosquitto(loopback, tmp_path / "weak", port=weak, anonymous=False, users={"admin": "password"})
    servers.start_mosquitto(loopback, tmp_path / "strong", port=strong, anonymous=False, users={"admin": "long-unguessable-secret-42"})
    assert _mqtt(weak, try_defaults=True).default_login == "admin"
    assert _mqtt(strong, try_defaults=True).default_login == ""
    attempts = servers.count_log_matches(tmp_path / "strong" / "broker.log", "Sending CONNACK", 1 + 5)
    assert attempts == 1 + 5, "one anonymous attempt, then at most five default logins"
    weak_attempts = servers.count_log_matches(tmp_path / "weak" / "broker.log", "Sending CONNACK", 1 + 3)
    assert weak_attempts == 1 + 3, "admin/password is the third pair: the probe stops there"


def test_mqtt_probe_over_tls(loopback: LoopbackHost, tmp_path: Path) -> None:
    port = free_port()
    cert = servers.make_certificate(tmp_path / "pki", "broker", address="127.0.0.1", self_signed=True)
    servers.start_mosquitto(loopback, tmp_path / "tls", port=port, anonymous=True, tls=cert)
    service = _mqtt(port, tls=True)
    assert (service.protocol, service.authentication) == ("mqtts", "none")


def test_http_probe_and_default_logins_on_basic_auth(loopback: LoopbackHost, tmp_path: Path) -> None:
    open_port, weak_port, strong_port = free_port(), free_port(), free_port()
    servers.start_nginx(loopback, tmp_path / "open", http_port=open_port, title="Plug settings")
    servers.start_nginx(loopback, tmp_path / "weak", http_port=weak_port, basic_auth=("admin", "admin"))
    servers.start_nginx(loopback, tmp_path / "strong", http_port=strong_port, basic_auth=("owner", "long-unguessable-secret-42"))
    opened = _http(open_port)
    assert (
        (opened.protocol, opened.authentication) == ("http", "none")
        and opened.banner.startswith("nginx/")
        and "Plug settings" in opened.banner
    )
    weak = _http(weak_port, try_defaults=True)
    assert (weak.authentication, weak.default_login) == ("password", "admin")
    without = _http(weak_port)
    assert without.default_login == "", "no default login is tried unless asked"
    strong = _http(strong_port, try_defaults=True)
    assert (strong.authentication, strong.default_login) == ("password", "")
    log = tmp_path / "strong" / "access.log"
    assert servers.count_log_matches(log, '" 401 ', 1 + 5) == 1 + 5, "one plain request, then at most five default logins"
    assert servers.count_log_matches(log, r".", 0, settle=0) == 1 + 5, "every request was refused"


def test_tls_check_reports_versions_weak_suites_and_certificates(loopback: LoopbackHost, tmp_path: Path) -> None:
    legacy, modern = free_port(), free_port()
    pki = tmp_path / "pki"
    ca = servers.make_ca(pki)
    self_signed = servers.make_certificate(pki, "cam", address="127.0.0.1", self_signed=True)
    issued = servers.make_certificate(pki, "nas", address="127.0.0.1", self_signed=False, ca=ca)
    servers.start_nginx(loopback, tmp_path / "legacy", https_port=legacy, tls=self_signed, legacy_tls=True)
    servers.start_nginx(loopback, tmp_path / "modern", https_port=modern, tls=issued)
    reports = check_tls([TlsTarget("127.0.0.1", legacy), TlsTarget("127.0.0.1", modern, ("nas",))], per_host=4, timeout=5)
    old, new = reports[("127.0.0.1", legacy)], reports[("127.0.0.1", modern)]
    assert old.versions == ["tls1.0", "tls1.1", "tls1.2"] and old.lowest == "tls1.0"
    assert old.weak_ciphers and all(re.search(r"anon|NULL|RC4|DES|EXPORT|MD5", s) for s in old.weak_ciphers)
    assert old.certificate == "self_signed"
    assert new.versions == ["tls1.2", "tls1.3"] and new.weak_ciphers == [] and new.certificate == "valid"


def _rtsp_server(answer: Callable[[str], str]) -> Callable[[], Awaitable[asyncio.Server]]:
    """A scripted responder: no RTSP server small enough for `make test` is packaged in Debian (docs/scan.md)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        path = head.split(" ", 2)[1].split("/", 3)[-1]
        writer.write(answer(path).encode("latin-1"))
        await writer.drain()
        writer.close()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handle, "127.0.0.1", 0)

    return start


OPEN_STREAM = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: CamOS/2.1\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n"
NOT_FOUND = "RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n"


@pytest.mark.parametrize(
    ("answer", "speaks", "authentication", "note"),
    [
        (lambda path: OPEN_STREAM if path == "live" else NOT_FOUND, True, "none", "describes stream '/live' without authentication"),
        (
            lambda path: 'RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm="cam"\r\n\r\n',
            True,
            "password",
            "asks for a login",
        ),
        (lambda path: NOT_FOUND, True, None, "no stream found on common paths"),
        (lambda path: "HTTP/1.1 400 Bad Request\r\n\r\n", False, None, ""),
    ],
)
def test_rtsp_probe_reads_describe_answers(answer: Callable[[str], str], speaks: bool, authentication: str | None, note: str) -> None:
    service = Service(0)

    async def go() -> bool:
        server = await _rtsp_server(answer)()
        service.port = server.sockets[0].getsockname()[1]
        async with server:
            return await probe_rtsp(Pacer(Limits()), "127.0.0.1", service, timeout=2.0)

    assert asyncio.run(go()) is speaks
    assert service.authentication == authentication
    assert note in " ".join(service.notes)
