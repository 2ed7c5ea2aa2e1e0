"""Deep parsing of the few payloads that carry names, versions or logins: DNS, DHCP, SSDP, TLS hellos, HTTP, MQTT, FTP, telnet.

Each function takes one payload and returns what it found, or nothing; none raises on malformed
input. Credentials are never returned: only the fact that one was sent, and how.
"""

from __future__ import annotations

import socket
import struct

import dpkt  # type: ignore[import-untyped]

TLS_VERSIONS = {0x0300: "ssl3", 0x0301: "tls1.0", 0x0302: "tls1.1", 0x0303: "tls1.2", 0x0304: "tls1.3"}
HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"NOTIFY ", b"M-SEARCH ")


def dns_names(payload: bytes) -> tuple[list[str], list[tuple[str, str]]]:
    """Names asked, and (name, address) pairs answered, in one DNS or mDNS message.

    The records are walked here (dpkt reads each name, with its compression pointers), so a record type dpkt does
    not know (mDNS answers end with an NSEC record) skips that record rather than the whole message.
    """
    if len(payload) < 12:
        return [], []
    counts = struct.unpack_from("!HHHH", payload, 4)
    asked: list[str] = []
    answered: list[tuple[str, str]] = []
    pos = 12
    try:
        for _ in range(min(counts[0], 64)):
            name, pos = dpkt.dns.unpack_name(payload, pos)
            pos += 4
            asked.append(name.lower())
        for _ in range(min(counts[1] + counts[2] + counts[3], 256)):
            name, pos = dpkt.dns.unpack_name(payload, pos)
            kind, _cls, _ttl, size = struct.unpack_from("!HHIH", payload, pos)
            rdata = payload[pos + 10 : pos + 10 + size]
            pos += 10 + size
            if kind == dpkt.dns.DNS_A and len(rdata) == 4:
                answered.append((name.lower(), socket.inet_ntop(socket.AF_INET, rdata)))
            elif kind == dpkt.dns.DNS_AAAA and len(rdata) == 16:
                answered.append((name.lower(), socket.inet_ntop(socket.AF_INET6, rdata)))
    except (dpkt.UnpackError, IndexError, ValueError, struct.error):
        pass  # a damaged message: what was read before the damage is kept
    return asked, answered


def dhcp_hostname(payload: bytes) -> tuple[str, str] | None:
    """(client MAC, host name) from a DHCP message's option 12, or None."""
    if len(payload) < 240 or payload[236:240] != b"\x63\x82\x53\x63":
        return None
    mac = payload[28:34].hex(":")
    pos = 240
    while pos + 2 <= len(payload):
        code = payload[pos]
        if code == 255:
            break
        if code == 0:
            pos += 1
            continue
        size = payload[pos + 1]
        if code == 12:
            name = payload[pos + 2 : pos + 2 + size].decode("ascii", "replace").strip("\x00 ")
            return (mac, name) if name else None
        pos += 2 + size
    return None


def tls_hello(payload: bytes) -> tuple[str, str, str] | None:
    """('client'|'server', version, SNI) from a TLS record holding a ClientHello or ServerHello."""
    if len(payload) < 9 or payload[0] != 0x16 or payload[1] != 3 or payload[5] not in (1, 2):
        return None
    kind = payload[5]
    body = payload[9:]
    try:
        version = struct.unpack_from("!H", body, 0)[0]
        pos = 2 + 32
        pos += 1 + body[pos]  # session id
        if kind == 1:
            pos += 2 + struct.unpack_from("!H", body, pos)[0]  # cipher suites
            pos += 1 + body[pos]  # compression methods
        else:
            pos += 3  # chosen suite and compression
        extensions = _extensions(body, pos)
    except (IndexError, struct.error):
        return None
    sni = ""
    if 0 in extensions and kind == 1:
        data = extensions[0]
        if len(data) >= 5 and data[2] == 0:
            size = struct.unpack_from("!H", data, 3)[0]
            sni = data[5 : 5 + size].decode("ascii", "replace").lower()
    if 43 in extensions:
        data = extensions[43]
        if kind == 2 and len(data) >= 2:
            version = struct.unpack_from("!H", data, 0)[0]
        elif kind == 1 and data:
            offered = [struct.unpack_from("!H", data, i)[0] for i in range(1, min(len(data), 1 + data[0]) - 1, 2)]
            known = [v for v in offered if v in TLS_VERSIONS]
            version = max(known) if known else version
    return ("client" if kind == 1 else "server", TLS_VERSIONS.get(version, f"0x{version:04x}"), sni)


def _extensions(body: bytes, pos: int) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    if pos + 2 > len(body):
        return found
    end = min(len(body), pos + 2 + struct.unpack_from("!H", body, pos)[0])
    pos += 2
    while pos + 4 <= end:
        code, size = struct.unpack_from("!HH", body, pos)
        found[code] = body[pos + 4 : pos + 4 + size]
        pos += 4 + size
    return found


def http_request(payload: bytes) -> tuple[str, str, bool] | None:
    """(Host, User-Agent, Basic credentials sent) from the start of an HTTP request, or None."""
    if not payload.startswith(HTTP_METHODS):
        return None
    head = payload.split(b"\r\n\r\n", 1)[0][:8192]
    host = agent = ""
    basic = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"host":
            host = value.strip().decode("latin-1").lower()
        elif key == b"user-agent":
            agent = value.strip().decode("latin-1")[:200]
        elif key in (b"authorization", b"proxy-authorization") and value.strip().lower().startswith(b"basic "):
            basic = True
    return host, agent, basic


def ssdp_announcement(payload: bytes) -> tuple[str, str] | None:
    """(SERVER, device or service type) a UPnP device announces in an SSDP ``NOTIFY`` (its ``NT``) or an answer to a
    search (``HTTP/1.1 200 OK``, its ``ST``), or None; printable text only, each at most 200 characters."""
    if not payload.startswith((b"NOTIFY ", b"HTTP/1.1 200", b"HTTP/1.0 200")):
        return None
    head = payload.split(b"\r\n\r\n", 1)[0][:4096]
    server = kind = ""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"server":
            server = _printable(value)
        elif key == b"nt" or (key == b"st" and not payload.startswith(b"NOTIFY ")):
            kind = _printable(value)
    return (server, kind) if server or kind else None


def _printable(value: bytes) -> str:
    return "".join(c for c in value.strip().decode("latin-1") if c.isprintable())[:200]


def mqtt_connect(payload: bytes) -> tuple[bool, bool] | None:
    """(user name sent, password sent) from an MQTT CONNECT packet, or None."""
    if len(payload) < 12 or payload[0] != 0x10:
        return None
    pos, multiplier = 1, 1
    for _ in range(4):  # remaining length, variable-length encoded
        if pos >= len(payload):
            return None
        digit = payload[pos]
        pos += 1
        if not digit & 0x80:
            break
        multiplier *= 128
    try:
        name_size = struct.unpack_from("!H", payload, pos)[0]
        name = payload[pos + 2 : pos + 2 + name_size]
        flags = payload[pos + 2 + name_size + 1]
    except (IndexError, struct.error):
        return None
    if name not in (b"MQTT", b"MQIsdp"):
        return None
    return bool(flags & 0x80), bool(flags & 0x40)


def ftp_login(payload: bytes) -> bool:
    """Whether a client line sends an FTP password."""
    return payload[:5].upper() == b"PASS "


def telnet_prompt(payload: bytes) -> bool:
    """Whether a server's text asks for a password (the client's next line is then a login)."""
    return b"assword" in payload[-64:]


NONE, MORE, WHOLE, TOO_LONG = "none", "more", "whole", "too-long"
MAX_MESSAGE = 16 * 1024
_TLS_TYPES = (1, 2)  # ClientHello, ServerHello


def message(data: bytes, *, start: bool = True) -> tuple[str, bytes]:
    """Whether ``data`` (the start of a payload or of a reassembled stream) holds a whole message the parsers read.

    Returns ``(NONE, b"")`` when it starts no TLS hello, HTTP request or MQTT CONNECT; ``(MORE, b"")``
    when it starts one that continues in later segments; ``(TOO_LONG, b"")`` when that message is
    longer than :data:`MAX_MESSAGE`; ``(WHOLE, message)`` otherwise, the message in the form the
    parsers read (a TLS handshake message split over several records comes as one record). Only at the
    ``start`` of a direction's bytes are a few letters of an HTTP method taken for a request's beginning.
    """
    if not data:
        return NONE, b""
    if data[0] == 0x16:
        return _tls_message(data)
    if data[0] == 0x10:
        return _mqtt_message(data)
    if data.startswith(HTTP_METHODS):
        end = data.find(b"\r\n\r\n", 0, 8192)
        if end >= 0:
            return WHOLE, data[: end + 4]
        return (WHOLE, data[:8192]) if len(data) >= 8192 else (MORE, b"")
    if start and len(data) < 9 and any(method.startswith(data) for method in HTTP_METHODS):
        return MORE, b""
    return NONE, b""


def _tls_message(data: bytes) -> tuple[str, bytes]:
    gathered = b""
    pos = 0
    while pos + 5 <= len(data):
        if data[pos] != 0x16 or data[pos + 1] != 3:
            return NONE, b""
        size = struct.unpack_from("!H", data, pos + 3)[0]
        gathered += data[pos + 5 : pos + 5 + size]
        if gathered and gathered[0] not in _TLS_TYPES:
            return NONE, b""
        if len(gathered) >= 4:
            need = 4 + int.from_bytes(gathered[1:4], "big")
            if need > MAX_MESSAGE:
                return TOO_LONG, b""
            if len(gathered) >= need:
                return WHOLE, data[:5] + gathered[:need]
        if size == 0:
            return NONE, b""
        pos += 5 + size
    if len(data) > pos + 1 and data[pos + 1] != 3:
        return NONE, b""
    return MORE, b""


def _mqtt_message(data: bytes) -> tuple[str, bytes]:
    pos, remaining, multiplier = 1, 0, 1
    for _ in range(4):
        if pos >= len(data):
            return MORE, b""
        digit = data[pos]
        pos += 1
        remaining += (digit & 0x7F) * multiplier
        multiplier *= 128
        if not digit & 0x80:
            break
    else:
        return NONE, b""
    need = pos + min(remaining, 12)  # the protocol name, level and flags: all mqtt_connect reads
    return (WHOLE, data[:need]) if len(data) >= need else (MORE, b"")
