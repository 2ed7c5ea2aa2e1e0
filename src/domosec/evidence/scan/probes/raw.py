"""One short exchange on a fresh connection: send a few bytes (or nothing), read what comes back.

The identification probes use it: each is bounded in time (``timeout`` for connecting and
reading together) and in bytes (at most ``limit`` read), and takes one pacer slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from domosec.evidence.scan.pacing import Pacer

READ_LIMIT = 4096


async def exchange(
    pacer: Pacer,
    host: str,
    port: int,
    payload: bytes,
    *,
    timeout: float,
    tls: ssl.SSLContext | None = None,
    limit: int = READ_LIMIT,
    until: bytes = b"",
) -> bytes | None:
    """Send ``payload`` and read until ``until`` is seen, ``limit`` bytes arrive, the peer closes or time is up.

    ``None`` when no connection could be made; ``b""`` when the peer said nothing.
    """
    received = bytearray()
    async with pacer.slot(host):
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=None if tls is None else "")
        except (TimeoutError, OSError, ssl.SSLError, ValueError):
            return None
        try:
            async with asyncio.timeout(timeout):
                if payload:
                    writer.write(payload)
                    await writer.drain()
                while len(received) < limit:
                    chunk = await reader.read(limit - len(received))
                    if not chunk:
                        break
                    received += chunk
                    if until and until in received:
                        break
        except (TimeoutError, OSError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
    return bytes(received)
