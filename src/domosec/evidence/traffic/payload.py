"""What clear payloads give away: personal-data markers (counted, never kept), payload entropy, presence events.

Every payload of a flow that is not encrypted is looked at, up to :data:`INSPECT_PAYLOADS` payloads
(MQTT PUBLISH packets not counted) and :data:`INSPECT_BYTES` bytes of each; one with more than a
quarter of bytes that are not printable ASCII is not text and is not searched. What is kept is a count per kind of marker
(``e-mail address: 2``): the matched text is dropped with the regular expression's match, so no
address, coordinate or serial number reaches the flow table, the findings or the model.

Markers (each a pattern a person can check):

- ``e-mail address``: ``local@domain.tld`` with a letters-only top-level label;
- ``coordinates``: a latitude key (``lat``, ``latitude``) and a longitude key (``lon``, ``lng``,
  ``longitude``) in one payload, each with a decimal value of at least 3 decimals (about 100 m)
  inside its range, not both zero;
- ``MAC address``: six two-digit hex groups joined by ``:`` or ``-`` (not all zero, not broadcast);
- ``serial number``: a ``serial``/``serialNumber``/``serial_no`` key or XML element with a value of 6–40
  letters and digits;
- ``IMEI``: an ``imei`` key with 15 digits that pass the Luhn check;
- ``Wi-Fi name``: an ``ssid`` or ``wifi_name`` key with a quoted value (public Wi-Fi maps locate a
  home by its network name);
- ``presence event``: an MQTT PUBLISH whose topic or payload names motion, occupancy, presence, a door
  or a contact sensor, or a JSON key ``"motion"``, ``"occupancy"``, ``"presence"`` or ``"contact"``.

**Entropy** (flows of unknown protocols): the first :data:`ENTROPY_SAMPLE` payload bytes of the flow
(both directions, in order) are kept until the flow's end, then their Shannon entropy in bits per
byte is computed with the Miller–Madow bias correction. At least :data:`ENTROPY_MIN_BYTES` bytes are
needed; :data:`ENTROPY_THRESHOLD` (7.0 bits/byte) separates encrypted or compressed data (random
bytes measure 7.6–7.7 over 256 bytes, 7.95–7.99 over 1,024) from text and plain binary formats
(HTTP requests about 5, JSON readings 3.5, records padded with zeros 1.5–6.5).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domosec.evidence.traffic.flows import Flow
    from domosec.evidence.traffic.presence import Activity

INSPECT_PAYLOADS = 16
INSPECT_BYTES = 16 * 1024
ENTROPY_SAMPLE = 1024
ENTROPY_MIN_BYTES = 256
ENTROPY_THRESHOLD = 7.0
MAX_SAMPLED = 64 * 1024 * 1024  # sample bytes kept over all flows (64,000 flows of unknown protocols, fully sampled)
CARRY_BYTES = (
    128  # the end of a payload kept, per flow, to find a marker that continues in the next one (an e-mail address, a key and value)
)
MAX_CARRIED = 8 * 1024 * 1024  # payload ends kept over all flows at once (65,536 flows)

EMAIL = re.compile(
    rb"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
LATITUDE = re.compile(rb"""(?i)(?<![a-z])(?:lat|latitude)["']?\s*[:=]\s*["']?(-?\d{1,2}\.\d{3,})""")
LONGITUDE = re.compile(rb"""(?i)(?<![a-z])(?:lon|lng|long|longitude)["']?\s*[:=]\s*["']?(-?\d{1,3}\.\d{3,})""")
MAC = re.compile(rb"(?<![0-9A-Fa-f:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:-])")
SERIAL = re.compile(rb"""(?i)serial[ _-]?(?:number|no|num)?["']?\s*(?:[:=>])\s*["']?([A-Za-z0-9][A-Za-z0-9-]{5,39})(?![A-Za-z0-9-])""")
IMEI = re.compile(rb"""(?i)imei["']?\s*[:=]\s*["']?(\d{15})(?!\d)""")
SSID = re.compile(rb"""(?i)["']?(?:ssid|wifi[_-]?name)["']?\s*[:=]\s*"[^"\x00-\x1f]{1,32}\"""")
EVENT_WORDS = re.compile(rb"(?i)motion|occupan|presence|door|contact")
EVENT_KEYS = re.compile(rb'(?i)"(?:motion|occupancy|presence|contact)"\s*:')

SIGNALS = re.compile(rb"(?i)@|lat|lon|lng|serial|imei|ssid|wifi|motion|occupan|presence|contact|[0-9a-f]{2}[:-][0-9a-f]{2}[:-]")
"""What some marker needs (cheaper than searching for every marker): a pair of payloads without it holds none."""

TEXT_BYTES = bytes(range(32, 127)) + b"\t\r\n"
"""Printable ASCII: a payload with more than a quarter of other bytes is not text and is not searched for markers."""

CATEGORY = {
    "e-mail address": "contact_details",
    "coordinates": "location",
    "Wi-Fi name": "location",
    "MAC address": "identity",
    "serial number": "identity",
    "IMEI": "identity",
    "presence event": "presence",
}
"""The model's data category each marker stands for."""


def inspect(flow: Flow, payload: bytes, ts_ns: int, src: str, activity: Activity) -> None:
    """Look at one payload of ``flow`` (within its budget): count markers, keep an entropy sample, note presence events.

    An MQTT PUBLISH does not use up the budget (a sensor's events come over one long session); a payload that is
    mostly not text (more than a quarter of other bytes) is not searched for markers. The last :data:`CARRY_BYTES`
    of a text payload are kept (per direction, :data:`MAX_CARRIED` over all flows) until the same side's next
    payload, so a marker cut by a TCP segment boundary is found (:func:`across`), and counted once.
    """
    if flow.encrypted or flow.protocol in ("dns", "mdns", "dhcp", "ssdp"):
        flow.inspect_left = 0
        flow.sample = b""
        activity.carried -= len(flow.carry_up) + len(flow.carry_down)
        flow.carry_up = flow.carry_down = b""
        return
    mqtt = flow.protocol == "mqtt"
    publish = mqtt and payload[:1] and payload[0] >> 4 == 3
    if not publish:
        flow.inspect_left -= 1
    if flow.protocol == "other" and len(flow.sample) < ENTROPY_SAMPLE:
        if activity.sampled < MAX_SAMPLED:
            take = payload[: ENTROPY_SAMPLE - len(flow.sample)]
            flow.sample += take
            activity.sampled += len(take)
        elif not flow.sample:
            activity.unsampled += 1
    head = payload[:INSPECT_BYTES]
    up = src == flow.client
    carry = flow.carry_up if up else flow.carry_down
    if carry:  # released whatever follows
        activity.carried -= len(carry)
        if up:
            flow.carry_up = b""
        else:
            flow.carry_down = b""
    if len(head.translate(None, TEXT_BYTES)) * 4 > len(head):
        return
    found = markers(head, mqtt=mqtt)
    if carry:
        for kind, count in across(carry, head).items():
            found[kind] = found.get(kind, 0) + count
    if flow.inspect_left > 0 and len(payload) <= INSPECT_BYTES and activity.carried < MAX_CARRIED and not (mqtt and _mqtt_whole(payload)):
        end = head[-CARRY_BYTES:]
        activity.carried += len(end)
        if up:
            flow.carry_up = end
        else:
            flow.carry_down = end
    for kind, count in found.items():
        flow.markers[kind] = flow.markers.get(kind, 0) + count
    if "presence event" in found:
        activity.event(src, ts_ns, found["presence event"])


def across(tail: bytes, head: bytes) -> dict[str, int]:
    """Markers that start in ``tail`` (the end of the flow's previous payload in this direction) and end in ``head``
    (the next one): those found in the two joined, less those found in each alone."""
    start = head[:CARRY_BYTES]
    if not SIGNALS.search(tail + start):  # most pairs: none of the words or characters a marker needs
        return {}
    joined = markers(tail + start)
    if not joined:
        return {}
    before, after = markers(tail), markers(start)
    spanning = {kind: count - before.get(kind, 0) - after.get(kind, 0) for kind, count in joined.items()}
    return {kind: count for kind, count in spanning.items() if count > 0}


def markers(payload: bytes, *, mqtt: bool = False) -> dict[str, int]:
    """Kinds of personal data in ``payload``, each with how often it appears; never the values.

    ``mqtt``: the payload is an MQTT packet, whose PUBLISH topic may name a presence event.
    """
    found: Counter[str] = Counter()
    if b"@" in payload:
        found["e-mail address"] = sum(1 for _ in EMAIL.finditer(payload))
    lats = sum(1 for m in LATITUDE.finditer(payload) if abs(float(m.group(1))) <= 90 and float(m.group(1)) != 0)
    if lats:
        lons = sum(1 for m in LONGITUDE.finditer(payload) if abs(float(m.group(1))) <= 180 and float(m.group(1)) != 0)
        found["coordinates"] = min(lats, lons)
    found["MAC address"] = sum(1 for m in MAC.finditer(payload) if m.group(0).lower() not in (b"00:00:00:00:00:00", b"ff:ff:ff:ff:ff:ff"))
    found["serial number"] = sum(1 for m in SERIAL.finditer(payload) if any(48 <= c <= 57 for c in m.group(1)))
    found["IMEI"] = sum(1 for m in IMEI.finditer(payload) if _luhn(m.group(1)))
    found["Wi-Fi name"] = sum(1 for _ in SSID.finditer(payload))
    found["presence event"] = _presence_events(payload, mqtt)
    return {kind: count for kind, count in found.items() if count}


def _presence_events(payload: bytes, mqtt: bool) -> int:
    if mqtt and payload[:1] and payload[0] >> 4 == 3 and len(payload) > 4:  # an MQTT PUBLISH: topic and message
        size, pos = 0, 1
        for shift in range(0, 28, 7):
            if pos >= len(payload):
                return 0
            size |= (payload[pos] & 0x7F) << shift
            pos += 1
            if not payload[pos - 1] & 0x80:
                break
        if pos + 2 <= len(payload) and EVENT_WORDS.search(payload[pos : pos + 2 + size]):
            return 1
        return 0
    return len(EVENT_KEYS.findall(payload))


def _mqtt_whole(payload: bytes) -> bool:
    """Whether ``payload`` is whole MQTT packets (a PUBLISH ends in it): nothing in it continues in the next payload."""
    pos = 0
    for _ in range(64):
        size, shift, start = 0, 0, pos + 1
        while start < len(payload) and shift < 28:
            size |= (payload[start] & 0x7F) << shift
            start += 1
            if not payload[start - 1] & 0x80:
                break
            shift += 7
        else:
            return False
        pos = start + size
        if pos >= len(payload):
            return pos == len(payload)
    return False


def _luhn(digits: bytes) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = c - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def entropy(sample: bytes) -> float | None:
    """Bits per byte of ``sample`` (Miller–Madow corrected), or None below :data:`ENTROPY_MIN_BYTES`."""
    n = len(sample)
    if n < ENTROPY_MIN_BYTES:
        return None
    counts = Counter(sample).values()
    h = -sum(c / n * math.log2(c / n) for c in counts)
    return min(8.0, h + (len(counts) - 1) / (2 * n * math.log(2)))


def looks_encrypted(value: float | None) -> bool | None:
    """Whether a flow of an unknown protocol looks encrypted (or compressed) by its entropy; None when unmeasured."""
    return None if value is None else value >= ENTROPY_THRESHOLD
