"""Where a live Home Assistant import may connect (``--ha-allow``), and its problems, on loopback without Home Assistant.

Nothing is reached that the administrator did not allow: not by default, not by an address or a name outside the
entries, not when a name resolves elsewhere between the check and the connection. A closed port, a server that never
answers and a web server that is not Home Assistant are clear problems within the time limits. The token is never in
an answer, even when the request does not match the API document.
"""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from domosec.errors import InputError
from domosec.web import ha_allow, imports
from domosec.web.ha_allow import Gate, HostPolicy, parse_entry
from tests.conftest import run_cli
from tests.ports import free_port
from tests.web.conftest import Person, bearer, new_project

SECRET = "eyJhbGciOiJIUzI1NiJ9.secret-access-token-that-must-never-be-shown"


class Listener:
    """A loopback TCP port that accepts connections and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


@pytest.fixture
def web_server() -> Iterator[int]:
    """A plain web server (not Home Assistant) on loopback: every path is 404."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.RequestHandlerClass.directory = "/nonexistent"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def live(url: str, policy: HostPolicy, **limits: float) -> str:
    """The one problem of a live import, as the workspace shows it."""
    with pytest.raises(InputError) as raised:
        imports.run_live_import(url, SECRET, policy, **limits)
    (problem,) = raised.value.diagnostics
    text = problem.render()
    assert SECRET not in text and SECRET[-20:] not in text
    return text


def test_nothing_is_reached_by_default_nor_outside_the_entries(app: FastAPI, listener: Listener, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    owner = Person(app, "owner").signup()
    project = new_project(owner)
    token = bearer(owner.make_token())
    url = f"http://127.0.0.1:{listener.port}"
    answer = owner.client.post(f"/api/v1/projects/{project}/imports/homeassistant/live", json={"url": url, "token": SECRET}, headers=token)
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["text"].startswith(
        f"{url}: error[ha-not-allowed]: this workspace makes no connection to Home Assistant: its administrator allows no address"
    )
    form = owner.client.get(f"/projects/{project}/imports/new").text
    assert "This workspace may connect to: <strong>none</strong>" in form
    page = owner.client.post(f"/projects/{project}/imports/live", data={"csrf": owner.csrf, "url": url, "token": SECRET})
    assert page.status_code == 422 and "error[ha-not-allowed]" in page.text and f'value="{url}"' in page.text
    assert SECRET not in answer.text + page.text + caplog.text

    private = HostPolicy.parse(["private", f"localhost:{listener.port + 1}"])
    assert "error[ha-not-allowed]: 127.0.0.1 port" in live(url, private)
    assert "error[ha-not-allowed]: 127.0.0.1 port" in live(f"http://localhost:{listener.port}", private)  # a name is resolved first
    assert "error[ha-not-allowed]" in live(f"http://[::1]:{listener.port}", HostPolicy.parse([f"127.0.0.1:{listener.port}"]))
    assert listener.accepted == []


def test_a_name_that_resolves_elsewhere_at_connection_time_is_refused(listener: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the check saw 127.0.0.2, the connection would go to 127.0.0.1; the socket is refused."""

    async def first_answer(host: str, port: int, timeout: float) -> list[ha_allow.Address]:
        return [ha_allow.ipaddress.ip_address("127.0.0.2")]

    monkeypatch.setattr(ha_allow, "_resolve", first_answer)
    text = live(f"http://localhost:{listener.port}", HostPolicy.parse(["127.0.0.2"]))
    assert f"error[ha-not-allowed]: 127.0.0.1 port {listener.port} is not among the addresses" in text
    assert listener.accepted == []


def test_closed_port_silent_server_and_plain_web_server_are_clear_problems(listener: Listener, web_server: int) -> None:
    loopback = HostPolicy.parse(["loopback"])
    closed = free_port()
    assert live(f"http://127.0.0.1:{closed}", loopback) == (
        f"http://127.0.0.1:{closed}: error[ha-connection-failed]: cannot connect (connection refused) "
        "(check the host and port of the URL, and that Home Assistant is running)"
    )
    silent = live(f"http://127.0.0.1:{listener.port}", loopback, timeout=1)
    assert "error[ha-timeout]: no answer within 1 s while waiting for the connection to open" in silent
    assert "error[ha-timeout]: the import took more than 1 s" in live(f"http://127.0.0.1:{listener.port}", loopback, timeout=30, deadline=1)
    assert listener.accepted  # allowed: the connections were made
    web = live(f"http://localhost:{web_server}", HostPolicy.parse([f"localhost:{web_server}"]))
    assert f"error[ha-not-home-assistant]: no WebSocket API at ws://localhost:{web_server}/api/websocket (HTTP 404)" in web


def test_bad_urls_and_tokens_say_what_is_wrong_without_the_token() -> None:
    loopback = HostPolicy.parse(["loopback"])
    assert "url: error[ha-bad-url]: the URL must not hold a user name, password" in live("http://me:pw@127.0.0.1:1/", loopback)
    assert "url: error[ha-bad-url]: expected an http:// or https:// URL" in live("ftp://127.0.0.1/", loopback)
    for token, code in (("", "ha-no-token"), ("two words", "ha-bad-token"), ("x" * 20000, "ha-bad-token")):
        with pytest.raises(InputError) as raised:
            imports.run_live_import("http://127.0.0.1:1", token, loopback)
        assert raised.value.diagnostics[0].code == code and (not token or token not in raised.value.diagnostics[0].render())


def test_requests_that_do_not_match_the_document_do_not_echo_the_token(app: FastAPI) -> None:
    owner = Person(app, "owner").signup()
    project = new_project(owner)
    path, token = f"/api/v1/projects/{project}/imports/homeassistant/live", bearer(owner.make_token())
    for body in ({"token": SECRET}, {"token": SECRET, "url": 5}, {"token": SECRET, "url": "http://h", "more": SECRET}, [SECRET]):
        answer = owner.client.post(path, json=body, headers=token)
        assert answer.status_code == 422 and SECRET not in answer.text, answer.text
    assert owner.client.post(path, content=b"{" + SECRET.encode(), headers=token).status_code == 422
    assert owner.client.post(path, json={"url": "http://h", "token": SECRET}, headers=bearer(owner.make_token("read"))).status_code == 403


def test_allow_entries() -> None:
    assert parse_entry("192.168.1.0/24:8123").port == 8123 and str(parse_entry("192.168.1.7/24").networks[0]) == "192.168.1.0/24"
    assert parse_entry("[fd00::1]:8123").port == 8123 and parse_entry("fd00::/8").port is None
    assert parse_entry("*.ui.nabu.casa").names("abc.ui.nabu.casa", 443) and not parse_entry("*.ui.nabu.casa").names(
        "ui.nabu.casa.evil", 443
    )
    assert parse_entry("HomeAssistant.local:8123").names("homeassistant.local", 8123)
    assert not parse_entry("homeassistant.local:8123").names("homeassistant.local", 22)
    private = parse_entry("private")
    assert private.holds(ha_allow.ipaddress.ip_address("10.1.2.3"), 22)
    assert not private.holds(ha_allow.ipaddress.ip_address("169.254.169.254"), 80)
    for bad in ("192.168.1.0/33", "host:99999", "bad host", "[::1"):
        with pytest.raises(ValueError):
            parse_entry(bad)
    gate = Gate({(ha_allow.ipaddress.ip_address("127.0.0.1"), 8123)})
    with pytest.raises(OSError):
        gate((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 8124)))
    with gate((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:127.0.0.1", 8123, 0, 0))):
        pass
    assert gate.refused == ["127.0.0.1 port 8124"]


def test_serve_refuses_a_bad_entry() -> None:
    run = run_cli("serve", "--ha-allow", "192.168.1.0/33")
    assert run.returncode == 2
    assert run.stderr.startswith("--ha-allow: error[bad-ha-allow]: '192.168.1.0/33': expected an address, a network")
