"""HTTP(S): is the web interface served to anyone, or does it ask for a login first?

``GET /`` (following up to three redirects on the same host and port):

- ``401`` with ``WWW-Authenticate`` → password (HTTP Basic or Digest);
- ``200`` with a password field in the page → password (a login form);
- ``200`` without one → none: the page is served without authentication;
- anything else → unknown.

With default credentials on, a Basic/Digest challenge is answered with at most five pairs
from :mod:`~domosec.evidence.scan.probes.credentials`.
"""

from __future__ import annotations

import base64
import re
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.probes.credentials import logins_to_try

MAX_REDIRECTS = 3
MAX_BODY = 65536
PASSWORD_FIELD = re.compile(rb"<input[^>]+type\s*=\s*[\"']?password", re.IGNORECASE)
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass
class HttpAnswer:
    status: int
    server: str
    challenge: str
    body: bytes


async def fetch(
    session: aiohttp.ClientSession,
    pacer: Pacer,
    host: str,
    url: str,
    *,
    tls: ssl.SSLContext | None,
    timeout: float,
    login: tuple[str, str] | None = None,
) -> HttpAnswer | None:
    """One GET, redirects followed on the same authority; ``None`` if the port does not speak HTTP."""
    authority = urlsplit(url).netloc
    headers = {"Authorization": "Basic " + base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode("ascii")} if login is not None else {}
    for _ in range(MAX_REDIRECTS + 1):
        async with pacer.slot(host):
            try:
                async with session.get(
                    url,
                    allow_redirects=False,
                    ssl=tls if tls is not None else False,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                ) as resp:
                    body = await resp.content.read(MAX_BODY)
                    location = resp.headers.get("Location", "")
                    answer = HttpAnswer(resp.status, resp.headers.get("Server", ""), resp.headers.get("WWW-Authenticate", ""), body)
            except (aiohttp.ClientError, TimeoutError, ValueError, OSError):
                return None
        if answer.status in (301, 302, 303, 307, 308) and location:
            target = urljoin(url, location)
            if urlsplit(target).netloc != authority:
                return answer
            url = target
            continue
        return answer
    return answer


async def probe_http(
    session: aiohttp.ClientSession,
    pacer: Pacer,
    host: str,
    service: Service,
    *,
    tls: ssl.SSLContext | None,
    timeout: float,
    try_defaults: bool,
) -> bool:
    """Fill ``service`` from an HTTP probe; return False when the port does not answer HTTP."""
    scheme = "https" if tls is not None else "http"
    url = f"{scheme}://{_authority(host, service.port)}/"
    answer = await fetch(session, pacer, host, url, tls=tls, timeout=timeout)
    if answer is None:
        return False
    service.protocol = scheme
    title = TITLE.search(answer.body)
    service.banner = printable(" ".join(x for x in (answer.server, printable(title.group(1)) if title else "") if x))
    if answer.status == 401 and answer.challenge:
        service.authentication = "password"
        scheme_name = answer.challenge.split()[0] if answer.challenge.split() else "HTTP"
        service.notes.append(f"asks for an HTTP {scheme_name} login")
        if try_defaults and scheme_name.lower() == "basic":
            await _try_defaults(session, pacer, host, url, service, tls=tls, timeout=timeout)
    elif answer.status == 200 and PASSWORD_FIELD.search(answer.body):
        service.authentication = "password"
        service.notes.append("shows a login form")
    elif answer.status == 200:
        service.authentication = "none"
        service.notes.append("serves its pages without authentication")
    else:
        service.notes.append(f"answered HTTP {answer.status}")
    return True


async def _try_defaults(
    session: aiohttp.ClientSession, pacer: Pacer, host: str, url: str, service: Service, *, tls: ssl.SSLContext | None, timeout: float
) -> None:
    for user, password in logins_to_try():
        answer = await fetch(session, pacer, host, url, tls=tls, timeout=timeout, login=(user, password))
        if answer is not None and answer.status < 400:
            service.default_login = user
            service.notes.append(f"accepts the default login of user '{user}'")
            return


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
