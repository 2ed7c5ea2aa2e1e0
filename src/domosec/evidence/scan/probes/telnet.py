"""Telnet: what does a stranger get on connecting, a login prompt or a shell?

The probe declines every option the server proposes (``DO x`` → ``WONT x``, ``WILL x`` →
``DONT x``), which is all a telnet client has to do to be shown the prompt, and reads the text
until a login or password prompt (authentication ``password``) or a shell prompt (``none``)
appears, or the time is up. It never types anything. The few lines of option refusal are written
here because the standard library's ``telnetlib`` is deprecated and gone in Python 3.13.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import printable

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
LOGIN_PROMPT = re.compile(r"(login|username|user name|password)\s*:\s*$", re.IGNORECASE)
SHELL_PROMPT = re.compile(r"[#$>]\s*$")


def split_telnet(data: bytes) -> tuple[bytes, bytes]:
    """Separate ``data`` into the text shown to the user and the replies refusing each option."""
    text = bytearray()
    replies = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b != IAC:
            text.append(b)
            i += 1
            continue
        if i + 1 >= len(data):
            break
        cmd = data[i + 1]
        if cmd in (DO, DONT, WILL, WONT) and i + 2 < len(data):
            option = data[i + 2]
            if cmd == DO:
                replies += bytes((IAC, WONT, option))
            elif cmd == WILL:
                replies += bytes((IAC, DONT, option))
            i += 3
        elif cmd == SB:
            end = data.find(bytes((IAC, SE)), i + 2)
            i = len(data) if end < 0 else end + 2
        elif cmd == IAC:
            text.append(IAC)
            i += 2
        else:
            i += 2
    return bytes(text), bytes(replies)


def looks_like_telnet(banner: bytes) -> bool:
    """A banner that opens with telnet option negotiation."""
    return len(banner) >= 3 and banner[0] == IAC and banner[1] in (DO, DONT, WILL, WONT)


async def probe_telnet(pacer: Pacer, host: str, service: Service, *, timeout: float) -> None:
    """Fill ``service`` with what the telnet server shows before anyone types."""
    service.protocol = "telnet"
    shown = b""
    async with pacer.slot(host):
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, service.port)
        except (TimeoutError, OSError):
            service.notes.append("telnet port did not accept a connection")
            return
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                try:
                    chunk = await asyncio.wait_for(reader.read(1024), max(0.01, deadline - loop.time()))
                except TimeoutError:
                    break
                if not chunk:
                    break
                text, replies = split_telnet(chunk)
                if replies:
                    writer.write(replies)
                    await writer.drain()
                shown += text
                tail = shown.decode("utf-8", "replace").rstrip("\r\n\0")
                if LOGIN_PROMPT.search(tail) or (tail and SHELL_PROMPT.search(tail)):
                    break
        except OSError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(TimeoutError, OSError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
    tail = shown.decode("utf-8", "replace").rstrip("\r\n\0")
    service.banner = printable(shown)
    if LOGIN_PROMPT.search(tail):
        service.authentication = "password"
        service.notes.append("telnet shows a login prompt")
    elif tail and SHELL_PROMPT.search(tail):
        service.authentication = "none"
        service.notes.append("telnet opens a shell without a login")
    else:
        service.notes.append("telnet answered without a recognisable prompt")
