"""Modbus TCP: does the port answer a Read Device Identification request (function 43 / MEI 14)?

Solar inverters, heat pumps and energy meters speak Modbus TCP, which has no authentication:
whoever reaches the port may read and write registers. The probe sends one read-only request
for the basic identification objects (vendor, product code, revision) to unit 1; a well-formed
answer with the same transaction ID, or a Modbus exception, names the protocol. Nothing is
written. The request is 12 bytes and the answer a short list of objects, framed here: the
project's Modbus library (pymodbus) is a test dependency only.
"""

from __future__ import annotations

import struct

from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.probes.raw import exchange

TRANSACTION = 0x6473  # "ds"
UNIT = 1
REQUEST = struct.pack(">HHHBBBBB", TRANSACTION, 0, 5, UNIT, 0x2B, 0x0E, 0x01, 0x00)
OBJECT_NAMES = {0: "vendor", 1: "product", 2: "revision"}


def parse_identification(answer: bytes) -> tuple[bool, dict[str, str]]:
    """Whether ``answer`` is a Modbus TCP reply to :data:`REQUEST`, and the identification objects it holds."""
    if len(answer) < 9:
        return False, {}
    transaction, protocol, length, _unit, function = struct.unpack(">HHHBB", answer[:8])
    if transaction != TRANSACTION or protocol != 0 or not 2 <= length <= 256:
        return False, {}
    if function == 0xAB:  # exception: a Modbus server that does not implement identification
        return True, {}
    if function != 0x2B or len(answer) < 14 or answer[8] != 0x0E:
        return False, {}
    count, at = answer[13], 14
    objects: dict[str, str] = {}
    for _ in range(count):
        if at + 2 > len(answer):
            break
        ident, size = answer[at], answer[at + 1]
        value = answer[at + 2 : at + 2 + size]
        at += 2 + size
        if ident in OBJECT_NAMES:
            objects[OBJECT_NAMES[ident]] = printable(value, 60)
    return True, objects


async def probe_modbus(pacer: Pacer, host: str, service: Service, *, timeout: float) -> bool:
    """Fill ``service`` when the port speaks Modbus TCP; False otherwise."""
    answer = await exchange(pacer, host, service.port, REQUEST, timeout=timeout, limit=260)
    if not answer:
        return False
    is_modbus, objects = parse_identification(answer)
    if not is_modbus:
        return False
    service.protocol = "modbus"
    service.authentication = "none"
    service.banner = " ".join(objects[k] for k in ("vendor", "product", "revision") if objects.get(k))
    service.notes.append("Modbus TCP answers without authentication (registers readable and writable by anyone who reaches it)")
    return True
