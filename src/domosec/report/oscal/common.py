"""What the OSCAL documents share: identifiers, stable UUIDs, timestamps, properties and metadata.

OSCAL wants UUIDs and ``last-modified`` timestamps; domosec's outputs are deterministic. So every
UUID is a version-5 UUID of a stable key (a finding ID, a home and control ID…), and every timestamp
is midnight UTC of the assessment's ``as_of`` date. Clause-7 items become control IDs such as
``iso27403-7.2.15`` (an OSCAL token cannot start with a digit).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

OSCAL_VERSION = "1.2.3"
NS = "urn:domosec:oscal"
"""Namespace of domosec's own property names and facet system."""
ROOT = uuid.uuid5(uuid.NAMESPACE_URL, "urn:domosec:oscal")
CONTROL_PREFIX = "iso27403-"
STANDARD = "ISO/IEC 27403:2024"
_TOKEN = re.compile(r"^[^\W\d][\w.\-]*$")


def stable_uuid(*key: str) -> str:
    """A version-5 UUID of ``key``: the same key gives the same UUID on every run and machine."""
    return str(uuid.uuid5(ROOT, "/".join(key)))


def timestamp(day: str) -> str:
    """Midnight UTC of an ISO date, the only clock an assessment has."""
    return f"{day}T00:00:00Z"


def control_id(clause: str) -> str:
    return CONTROL_PREFIX + clause


def statement_id(clause: str) -> str:
    return control_id(clause) + "_smt"


def line(text: str) -> str:
    """One non-empty line without surrounding blanks (OSCAL markup-line and string)."""
    return " ".join(text.split()) or "—"


def multiline(text: str) -> str:
    return text.strip() or "—"


def is_token(name: str) -> bool:
    return bool(_TOKEN.match(name))


def prop(name: str, value: object, *, ns: str | None = NS, cls: str | None = None) -> dict[str, str] | None:
    """A property, or None when the value is empty (OSCAL refuses empty strings)."""
    text = line(str(value)) if value not in (None, "") else ""
    if not text or text == "—":
        return None
    out = {"name": name, "value": text}
    if ns:
        out["ns"] = ns
    if cls:
        out["class"] = cls
    return out


def props(*items: dict[str, str] | None) -> list[dict[str, str]]:
    return [p for p in items if p is not None]


def with_list(obj: dict[str, Any], key: str, items: list[Any]) -> dict[str, Any]:
    """Set ``key`` only when ``items`` is not empty: OSCAL arrays need at least one member."""
    if items:
        obj[key] = items
    return obj


def metadata(title: str, day: str, version: str, extra: list[dict[str, str]], *, remarks: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"title": line(title), "last-modified": timestamp(day), "version": line(version), "oscal-version": OSCAL_VERSION}
    with_list(meta, "props", extra)
    if remarks:
        meta["remarks"] = remarks
    return meta


def assessment_props(tool_version: str, catalogue_version: str, day: str) -> list[dict[str, str]]:
    """The properties every document written from an assessment carries: who wrote it, from what, judged when."""
    return props(
        prop("tool", "domosec"),
        prop("tool-version", tool_version),
        prop("catalogue-version", catalogue_version),
        prop("as-of", day),
        prop("standard", STANDARD),
    )
