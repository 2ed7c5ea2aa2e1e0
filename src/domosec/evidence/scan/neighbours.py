"""MAC addresses of scanned hosts, read from the kernel's neighbour (ARP) table after the scan.

Connecting to a host on the same link makes the kernel learn its MAC address; reading
``/proc/net/arp`` costs no packet. Hosts behind a router show the router's MAC, so only hosts
on the scanner's own links get one. Elsewhere than Linux the table is not read.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

ARP_TABLE = Path("/proc/net/arp")
INCOMPLETE = "00:00:00:00:00:00"


def neighbour_state(address: str, table: Path = ARP_TABLE) -> Literal["reachable", "failed", "unknown"]:
    """Whether ``address`` answered ARP (``reachable``), was asked but has not answered (``failed``), or was never asked (``unknown``).

    The table is read at most every :data:`CACHE_SECONDS`, however many hosts ask.
    """
    now = time.monotonic()
    cached = _cache.get(table)
    if cached is None or now - cached[0] > CACHE_SECONDS:
        cached = _cache[table] = (now, _states(table))
    return cached[1].get(address, "unknown")


CACHE_SECONDS = 0.02
_cache: dict[Path, tuple[float, dict[str, Literal["reachable", "failed"]]]] = {}


def _states(table: Path) -> dict[str, Literal["reachable", "failed"]]:
    try:
        lines = table.read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return {}
    states: dict[str, Literal["reachable", "failed"]] = {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 4:
            states[fields[0]] = "failed" if fields[2] == "0x0" or fields[3] == INCOMPLETE else "reachable"
    return states


def read_neighbours(table: Path = ARP_TABLE) -> dict[str, str]:
    """Map IPv4 address to MAC address (lower case), for complete entries only."""
    try:
        lines = table.read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return {}
    found: dict[str, str] = {}
    for line in lines:
        fields = line.split()
        if len(fields) >= 4 and fields[3] != INCOMPLETE and fields[2] != "0x0":
            found[fields[0]] = fields[3].lower()
    return found
