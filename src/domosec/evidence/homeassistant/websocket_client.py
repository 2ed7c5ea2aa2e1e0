"""A client of Home Assistant's WebSocket API (``/api/websocket``), on aiohttp.

The token is sent once, in the ``auth`` message, and kept nowhere else: it is not in the URL, in
a header, in a log line or in any error message. Every wait is bounded by a timeout, every
message by a size limit, and TLS certificates are verified unless the caller turns that off.
Failures become :class:`~domosec.evidence.homeassistant.files.HomeAssistantInputError` with a
stable code (see docs/errors.md): a wrong URL, a refused connection, a TLS failure, a refused
token, a timeout, an answer that is not Home Assistant's.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from domosec.evidence.homeassistant.files import HomeAssistantInputError, problem

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for the connection and for each answer."""

DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024
"""Largest single message accepted (the entity registry of a very large home is a few megabytes)."""


class CommandRefused(Exception):
    """Home Assistant answered a command with an error (``unknown_command``, ``unauthorized``, …)."""

    def __init__(self, command: str, code: str, message: str) -> None:
        super().__init__(f"{command}: {code}: {message}")
        self.command = command
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Endpoint:
    """Where Home Assistant is: the base URL as shown to the user, and the WebSocket URL."""

    shown: str
    websocket: str
    secure: bool
    port: int


def parse_url(url: str) -> Endpoint:
    """Check ``url`` (``http(s)://host[:port][/path]``) and derive the WebSocket URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise problem("--url", "ha-bad-url", f"not a URL: {exc}") from None
    hint = "give the address you open Home Assistant at, e.g. http://homeassistant.local:8123"
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise problem("--url", "ha-bad-url", "expected an http:// or https:// URL with a host name", hint=hint)
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise problem("--url", "ha-bad-url", "the URL must not hold a user name, password, query or fragment", hint=hint)
    secure = parts.scheme in ("https", "wss")
    path = parts.path.rstrip("/")
    if path.endswith("/api/websocket"):
        path = path[: -len("/api/websocket")]
    netloc = parts.netloc
    base = urlunsplit(("https" if secure else "http", netloc, path, "", ""))
    socket_url = urlunsplit(("wss" if secure else "ws", netloc, path + "/api/websocket", "", ""))
    return Endpoint(base, socket_url, secure, port if port is not None else (443 if secure else 80))


@dataclass
class Connection:
    """An authenticated WebSocket session; :meth:`call` sends one command and returns its result."""

    endpoint: Endpoint
    ws: aiohttp.ClientWebSocketResponse
    timeout: float
    ha_version: str
    max_message: int = DEFAULT_MAX_MESSAGE
    commands: list[str] = field(default_factory=list)
    _next_id: int = 1

    async def call(self, command: str, **payload: Any) -> Any:
        """The ``result`` of ``command``; raises :class:`CommandRefused` when Home Assistant refuses it."""
        msg_id = self._next_id
        self._next_id += 1
        self.commands.append(command)
        await self.ws.send_str(json.dumps({"id": msg_id, "type": command, **payload}))
        deadline = time.monotonic() + self.timeout  # other messages in between do not extend the wait
        while True:
            reply = await self._receive(f"the answer to {command}", deadline)
            if reply.get("type") != "result" or reply.get("id") != msg_id:
                continue  # an event or a pong: not ours
            if reply.get("success") is True:
                return reply.get("result")
            error = reply.get("error")
            if not isinstance(error, dict):
                error = {}
            raise CommandRefused(command, str(error.get("code") or "error"), str(error.get("message") or ""))

    async def _receive(self, waiting_for: str, deadline: float | None = None) -> dict[str, Any]:
        left = self.timeout if deadline is None else deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            message = await self.ws.receive(timeout=left)
        except TimeoutError:
            raise _timeout(self.endpoint, waiting_for, self.timeout) from None
        if message.type == aiohttp.WSMsgType.TEXT:
            try:
                data = json.loads(message.data)
            except json.JSONDecodeError:
                raise _not_home_assistant(self.endpoint, f"{waiting_for} is not JSON") from None
            if not isinstance(data, dict):
                raise _not_home_assistant(self.endpoint, f"{waiting_for} is not a JSON object")
            return data
        too_big = aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        if message.type == aiohttp.WSMsgType.ERROR and isinstance(message.data, aiohttp.WebSocketError) and message.data.code == too_big:
            raise problem(
                self.endpoint.shown,
                "ha-message-too-large",
                f"{waiting_for} is larger than the limit of {self.max_message:,} bytes; nothing was imported",
                hint="raise the limit with --max-bytes if the home is genuinely that large",
            )
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            raise problem(
                self.endpoint.shown, "ha-connection-closed", f"Home Assistant closed the connection while domosec waited for {waiting_for}"
            )
        raise _not_home_assistant(self.endpoint, f"{waiting_for} is a {message.type.name.lower()} message, not text")


def _timeout(endpoint: Endpoint, waiting_for: str, seconds: float) -> HomeAssistantInputError:
    return problem(
        endpoint.shown,
        "ha-timeout",
        f"no answer within {seconds:g} s while waiting for {waiting_for}; nothing was imported",
        hint="check the URL and that Home Assistant is running; a slow instance needs a larger --timeout",
    )


def _not_home_assistant(endpoint: Endpoint, what: str) -> HomeAssistantInputError:
    return problem(endpoint.shown, "ha-not-home-assistant", f"{what}: this does not look like Home Assistant's WebSocket API")


def tls_context(insecure: bool = False, ca_file: Path | None = None) -> ssl.SSLContext | bool:
    """How to check the server's certificate: against the system's trusted certificates (or only those of ``ca_file``),
    with its host name; or not at all with ``insecure``."""
    if insecure:
        return False
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except FileNotFoundError:
        raise problem(str(ca_file), "ha-ca-file", "no such file") from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise problem(str(ca_file), "ha-ca-file", f"not a readable PEM file of certificates ({_reason(exc)})") from None


async def connect(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    token: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    tls: ssl.SSLContext | bool = True,
    max_message: int = DEFAULT_MAX_MESSAGE,
) -> Connection:
    """Open the WebSocket and authenticate with ``token``; every failure is an :class:`HomeAssistantInputError`."""
    shown = endpoint.shown
    try:
        async with asyncio.timeout(timeout):
            ws = await session.ws_connect(
                endpoint.websocket, ssl=tls if endpoint.secure else False, max_msg_size=max_message, autoping=True
            )
    except TimeoutError:
        raise _timeout(endpoint, "the connection to open", timeout) from None
    except aiohttp.ClientConnectorCertificateError as exc:
        raise problem(
            shown,
            "ha-tls-unverified",
            f"the TLS certificate was not accepted ({_reason(exc.certificate_error)})",
            hint="name the certificate authority with --ca-file (or the self-signed certificate itself), or pass --insecure on a network you trust",
        ) from None
    except aiohttp.ClientConnectorSSLError as exc:
        raise problem(shown, "ha-tls-failed", f"the TLS handshake failed ({_reason(exc.os_error)})") from None
    except aiohttp.ClientConnectorError as exc:
        raise problem(
            shown,
            "ha-connection-failed",
            f"cannot connect ({_reason(exc.os_error)})",
            hint="check the host and port of --url, and that Home Assistant is running",
        ) from None
    except aiohttp.WSServerHandshakeError as exc:
        hint = "give the address you open Home Assistant at; domosec adds /api/websocket itself"
        raise problem(shown, "ha-not-home-assistant", f"no WebSocket API at {endpoint.websocket} (HTTP {exc.status})", hint=hint) from None
    except (aiohttp.ClientError, OSError) as exc:
        raise problem(shown, "ha-connection-failed", f"cannot connect ({_reason(exc)})") from None
    connection = Connection(endpoint, ws, timeout, "", max_message)
    hello = await connection._receive("Home Assistant's greeting")
    if hello.get("type") != "auth_required":
        raise _not_home_assistant(endpoint, f"the greeting is {str(hello.get('type'))[:40]!r}, expected 'auth_required'")
    connection.ha_version = str(hello.get("ha_version") or "")
    await ws.send_str(json.dumps({"type": "auth", "access_token": token}))
    answer = await connection._receive("the answer to the access token")
    if answer.get("type") == "auth_invalid":
        raise problem(
            shown,
            "ha-token-refused",
            "Home Assistant refused the access token (expired, revoked, or of another instance)",
            hint="create a long-lived access token on your Home Assistant profile page, under Security",
        )
    if answer.get("type") != "auth_ok":
        raise _not_home_assistant(endpoint, f"the answer to the access token is {str(answer.get('type'))[:40]!r}")
    return connection


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc) or type(exc).__name__
    return text[:200]
