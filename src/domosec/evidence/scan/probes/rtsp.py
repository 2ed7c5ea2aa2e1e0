"""RTSP: does the camera describe its stream to a stranger?

One ``DESCRIBE`` per path, without credentials: ``200`` with a session description means the
stream is open to anyone (authentication ``none``), ``401`` means it asks for a login
(``password``). The root path is asked first, then a few paths common on cameras; a server
that answers neither way leaves authentication unknown. The request is a few lines of text,
written here rather than pulling in a streaming library for one message.
"""

from __future__ import annotations

import asyncio
import ssl

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.probes.raw import exchange

COMMON_PATHS = ("", "live", "stream1", "h264", "live.sdp")


async def describe(pacer: Pacer, host: str, port: int, path: str, *, timeout: float) -> tuple[int, str] | None:
    """Send one DESCRIBE; return (status, Server header) or None when no RTSP answer came."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = (
        f"DESCRIBE rtsp://{authority}/{path} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\nUser-Agent: domosec-scan\r\n\r\n"
    ).encode("ascii")
    async with pacer.slot(host):
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
                try:
                    writer.write(request)
                    await writer.drain()
                    head = await reader.readuntil(b"\r\n\r\n")
                finally:
                    writer.close()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("RTSP/") or not parts[1].isdigit():
        return None
    server = next((line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("server:")), "")
    return int(parts[1]), server


async def rtsp_options(pacer: Pacer, host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None) -> str | None:
    """Send ``OPTIONS *``; the Server header (maybe empty) when an RTSP status line comes back, else None."""
    request = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: domosec-scan\r\n\r\n"
    answer = await exchange(pacer, host, port, request, timeout=timeout, tls=tls, limit=2048, until=b"\r\n\r\n")
    if not answer or not answer.startswith(b"RTSP/1."):
        return None
    lines = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    return next((line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("server:")), "")


async def probe_rtsp(pacer: Pacer, host: str, service: Service, *, timeout: float) -> bool:
    """Fill ``service`` from DESCRIBE requests; return False when the port does not speak RTSP."""
    for path in COMMON_PATHS:
        answer = await describe(pacer, host, service.port, path, timeout=timeout)
        if answer is None:
            return path != ""
        status, server = answer
        service.protocol = "rtsp"
        if server:
            service.banner = printable(server)
        if status == 200:
            service.authentication = "none"
            service.notes.append(f"describes stream '/{path}' without authentication")
            return True
        if status == 401:
            service.authentication = "password"
            service.notes.append("asks for a login before describing a stream")
            return True
    service.notes.append("no stream found on common paths")
    return True
