"""Readable, stable element IDs for imported facts.

An element's ID is the slug of its name (``Nursery camera`` → ``nursery-camera``). When two
elements would share an ID, every one of them gets a suffix from a hash of its Home Assistant ID,
so the IDs do not depend on the order of the registries and an overlay keeps matching them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$")


def slug(text: str, fallback: str = "item") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    value = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:60].strip("-")
    return value or fallback


def valid_id(text: str) -> bool:
    return bool(_ID.match(text))


class IdAllocator:
    """Collects wished-for IDs, then gives each element a unique one."""

    def __init__(self, reserved: set[str]) -> None:
        self.reserved = set(reserved)
        self.wishes: dict[str, str] = {}

    def wish(self, key: str, wanted: str) -> None:
        self.wishes[key] = wanted

    def assign(self) -> dict[str, str]:
        counts = Counter(self.wishes.values())
        out: dict[str, str] = {}
        for key, wanted in sorted(self.wishes.items()):
            if counts[wanted] > 1 or wanted in self.reserved:
                out[key] = f"{wanted[:120]}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:6]}"
            else:
                out[key] = wanted
        return out
