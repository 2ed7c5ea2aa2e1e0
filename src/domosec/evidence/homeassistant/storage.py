"""Home Assistant's ``.storage`` files: the JSON envelope and the versions this importer knows.

Every store is ``{"version": major, "minor_version": minor, "key": ..., "data": ...}``. Home
Assistant adds fields in minor versions and changes the layout in major versions, so:

- a known major version with a newer minor version is read (new fields are ignored) and noted;
- an unknown major version stops the import with an error naming the version (its layout may have
  changed in ways that would silently lose facts);
- a file that is not valid JSON, or not the envelope, stops the import with its position.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from domosec.evidence.homeassistant.files import ConfigDir, problem
from domosec.safe_text import has_lone_surrogate

KNOWN_VERSIONS: dict[str, dict[int, int]] = {
    # key: {major: newest minor known}. Sources: helpers/*_registry.py, config_entries.py, auth/*,
    # components/{person,http,cloud}/ of the Home Assistant releases named in docs/homeassistant.md.
    "core.device_registry": {1: 12, 2: 12, 3: 4},
    "core.entity_registry": {1: 24},
    "core.config_entries": {1: 5},
    "core.area_registry": {1: 9},
    "core.floor_registry": {1: 3},
    "core.label_registry": {1: 2},
    "core.config": {1: 4},
    "auth": {1: 1},
    "auth_provider.homeassistant": {1: 1},
    "auth_module.totp": {1: 1},
    "auth_module.notify": {1: 1},
    "person": {1: 1, 2: 1},
    "http": {1: 1, 2: 2, 3: 1},
    "cloud": {1: 4},
}
"""The newest format of each store this importer reads (2024.1 … 2026.11)."""

SKIPPED_BECAUSE = {
    "core.device_registry": "devices",
    "core.entity_registry": "entities (device types, sensors and data categories)",
    "core.config_entries": "integrations and cloud services",
    "core.area_registry": "areas (zones)",
    "core.floor_registry": "floors",
    "core.label_registry": "labels",
    "core.config": "the home's name and country",
    "auth": "users",
    "auth_provider.homeassistant": "usernames",
    "auth_module.totp": "TOTP two-factor state",
    "auth_module.notify": "notify two-factor state",
    "person": "people",
    "http": "HTTP server settings",
    "cloud": "Nabu Casa cloud settings",
}


@dataclass(frozen=True)
class Store:
    """One ``.storage`` file, with its format version."""

    key: str
    version: int
    minor_version: int
    data: Any
    file: str

    @property
    def format(self) -> str:
        return f"{self.version}.{self.minor_version}"


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(text: str, envelope: Any) -> tuple[int, int] | None:
    """The line and column of a ``\\uD800``-style escape that decoded to half a character, or None.

    Home Assistant writes UTF-8, never such escapes; a name holding one cannot be written to a model.
    """
    if _SURROGATE_ESCAPE.search(text) is None or not has_lone_surrogate(envelope):
        return None
    for match in _SURROGATE_ESCAPE.finditer(text):
        if has_lone_surrogate(json.loads(f'"{match.group(0)}"')):
            start = match.start()
            return text.count("\n", 0, start) + 1, start - (text.rfind("\n", 0, start) + 1) + 1
    return 1, 1


def read_store(config: ConfigDir, key: str) -> Store | None:
    """The store ``key``, or None when the file is absent; an unknown major version is an error."""
    relative = f".storage/{key}"
    if not config.exists(relative):
        return None
    shown = config.show(relative)
    text = config.read_text(relative)
    try:
        envelope = json.loads(text)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) or not text.rstrip().endswith("}")
        message = f"invalid JSON: {exc.msg}" + (" (the file looks truncated)" if truncated else "")
        raise problem(shown, "ha-bad-json", message, position=(exc.lineno, exc.colno)) from None
    except RecursionError:
        raise problem(shown, "ha-bad-json", "invalid JSON: nested too deeply") from None
    surrogate = _lone_surrogate(text, envelope)
    if surrogate is not None:
        raise problem(
            shown, "ha-bad-json", "invalid JSON: a \\u escape names half of a UTF-16 surrogate pair, not a character", position=surrogate
        )
    if not isinstance(envelope, dict) or "data" not in envelope or not isinstance(envelope.get("version"), int):
        raise problem(
            shown,
            "ha-bad-store",
            "not a Home Assistant store: expected a JSON object with 'version', 'key' and 'data'",
        )
    version = envelope["version"]
    minor = envelope.get("minor_version", 1)
    if not isinstance(minor, int):
        raise problem(shown, "ha-bad-store", f"'minor_version' is {minor!r}, expected a number")
    if envelope.get("key", key) != key:
        raise problem(shown, "ha-bad-store", f"the file holds the store {envelope.get('key')!r}, expected {key!r}")
    known = KNOWN_VERSIONS[key]
    if version not in known:
        newest = max(known)
        raise problem(
            shown,
            "ha-unknown-version",
            f"format {version}.{minor} is a major version this domosec does not know (newest known: {newest}.{known[newest]}); "
            f"reading it as an older format could lose {SKIPPED_BECAUSE[key]} without a word, so nothing was imported",
            hint="update domosec; or move the file aside to import without it",
        )
    if minor > known[version]:
        config.warn(
            shown,
            "ha-newer-minor-version",
            f"format {version}.{minor} is newer than {version}.{known[version]}, the newest known; read it as {version}.{known[version]}",
        )
    return Store(key, version, minor, envelope["data"], shown)


def records(store: Store | None, field: str) -> list[dict[str, Any]]:
    """The list ``data[field]`` of a store, keeping only JSON objects."""
    if store is None or not isinstance(store.data, dict):
        return []
    items = store.data.get(field)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
