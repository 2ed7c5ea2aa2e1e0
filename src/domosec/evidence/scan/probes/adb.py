"""ADB: does the port accept an Android Debug Bridge connection, and does it want a key first?

One ``CNXN`` message (the 24-byte header of the ADB protocol and ``host::``), as the ``adb``
client sends on ``adb connect``. ``CNXN`` back means the device accepted the host without a
key: a shell is one command away (authentication ``none``). ``AUTH`` means it asks for an RSA
key the owner has accepted before (``certificate``); ``STLS`` asks for TLS first. The probe
never answers an ``AUTH`` challenge and never opens a stream.
"""

from __future__ import annotations

import struct

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.probes.raw import exchange

CNXN, AUTH, STLS = 0x4E584E43, 0x48545541, 0x534C5453
VERSION, MAX_DATA = 0x01000000, 4096
IDENTITY = b"host::\x00"


def connect_message() -> bytes:
    """The client's ``CNXN`` with the data checksum older devices check (the sum of the payload's bytes)."""
    header = struct.pack("<6I", CNXN, VERSION, MAX_DATA, len(IDENTITY), sum(IDENTITY) & 0xFFFFFFFF, CNXN ^ 0xFFFFFFFF)
    return header + IDENTITY


def parse_reply(answer: bytes) -> tuple[int, bytes] | None:
    """(command, payload) of the first ADB message in ``answer``, or None if it is not one."""
    if len(answer) < 24:
        return None
    command, _arg0, _arg1, length, _check, magic = struct.unpack("<6I", answer[:24])
    if magic != command ^ 0xFFFFFFFF or command not in (CNXN, AUTH, STLS):
        return None
    return command, answer[24 : 24 + min(length, 512)]


async def probe_adb(pacer: Pacer, host: str, service: Service, *, timeout: float) -> bool:
    """Fill ``service`` when the port speaks ADB; False otherwise."""
    answer = await exchange(pacer, host, service.port, connect_message(), timeout=timeout, limit=24 + 512)
    reply = parse_reply(answer or b"")
    if reply is None:
        return False
    command, payload = reply
    service.protocol = "adb"
    if command == CNXN:
        service.authentication = "none"
        service.banner = printable(payload.split(b"\x00", 1)[0], 120)
        service.notes.append("ADB accepts a host without a key: a shell on the device is one command away")
    else:
        service.authentication = "certificate"
        service.notes.append("ADB asks for an authorised key" if command == AUTH else "ADB asks for TLS first")
    return True
