"""The device, entity, integration and area registries, normalised across their format versions.

Format differences handled here (see docs/homeassistant.md for the full table):

- device registry 1.x lists ``config_entries`` (2.x would keep only ``config_entries_subentries``);
  3.x (2026.8 on) gives each device exactly one ``config_entry_id``, and 3.4 adds
  ``child_devices`` (extra entries of a split composite device, pointing at ``parent_device_id``);
- entity registry: ``device_class`` set by the user wins over ``original_device_class``;
  ``entity_category`` (2021.11 on) marks settings and health readings, which say nothing of what the
  device is;
- config entries: only ``domain``, ``title``, ``source`` and ``disabled_by`` are read, never
  ``data`` or ``options`` (they hold hosts, API keys and passwords).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domosec.evidence.homeassistant.storage import Store, records


@dataclass(frozen=True)
class HaDevice:
    id: str
    name: str
    manufacturer: str
    model: str
    sw_version: str
    hw_version: str
    area_id: str | None
    config_entries: tuple[str, ...]
    connections: tuple[tuple[str, str], ...]
    identifiers: tuple[tuple[str, str], ...]
    via_device_id: str | None
    is_service: bool
    disabled: bool
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class HaEntity:
    entity_id: str
    domain: str
    platform: str
    device_id: str | None
    area_id: str | None
    device_class: str | None
    config_entry_id: str | None
    disabled: bool
    entity_category: str | None = None

    @property
    def is_primary(self) -> bool:
        """What the device is for, not one of its settings (``config``) or health readings (``diagnostic``)."""
        return self.entity_category not in ("config", "diagnostic", "system")


@dataclass(frozen=True)
class HaConfigEntry:
    entry_id: str
    domain: str
    title: str
    source: str
    disabled: bool


@dataclass(frozen=True)
class HaArea:
    id: str
    name: str
    floor_id: str | None


@dataclass
class Registries:
    devices: dict[str, HaDevice] = field(default_factory=dict)
    device_aliases: dict[str, str] = field(default_factory=dict)
    entities: list[HaEntity] = field(default_factory=list)
    entries: dict[str, HaConfigEntry] = field(default_factory=dict)
    areas: dict[str, HaArea] = field(default_factory=dict)
    floors: dict[str, str] = field(default_factory=dict)
    entries_read: bool = True
    """Whether ``core.config_entries`` was read (many keep it out of version control: it holds credentials)."""

    _by_device: dict[str, list[HaEntity]] | None = field(default=None, repr=False, compare=False)

    def entities_of(self, device_id: str) -> list[HaEntity]:
        """The enabled entities of a device (and of its split copies and child devices)."""
        if self._by_device is None:
            self._by_device = {}
            for e in self.entities:
                if e.device_id is not None and not e.disabled:
                    self._by_device.setdefault(self.canonical(e.device_id), []).append(e)
        return list(self._by_device.get(device_id, []))

    def canonical(self, device_id: str) -> str:
        """The device an ID stands for (a split copy or a child device stands for its device)."""
        return self.device_aliases.get(device_id, device_id)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _opt(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            out.append((str(item[0]), str(item[1])))
    return tuple(sorted(set(out)))


def _device_entries(raw: dict[str, Any], major: int) -> tuple[str, ...]:
    if major >= 3:
        entry = raw.get("config_entry_id")
        return (entry,) if isinstance(entry, str) else ()
    listed = raw.get("config_entries")
    if isinstance(listed, list):
        return tuple(sorted(e for e in listed if isinstance(e, str)))
    by_subentry = raw.get("config_entries_subentries")
    return tuple(sorted(k for k in by_subentry if isinstance(k, str))) if isinstance(by_subentry, dict) else ()


def read_devices(store: Store | None) -> tuple[dict[str, HaDevice], dict[str, str]]:
    """Devices by ID, and the IDs that stand for another device (split copies and child devices, format 3)."""
    devices: dict[str, HaDevice] = {}
    aliases: dict[str, str] = {}
    if store is None:
        return devices, aliases
    splits: dict[str, list[HaDevice]] = {}
    for raw in records(store, "devices"):
        if not isinstance(raw.get("id"), str):
            continue
        device = _device(raw, store.version)
        composite = raw.get("composite_device_id") if store.version >= 3 else None
        if isinstance(composite, str) and composite:
            # 2026.8 split a device shared by several integrations into one copy per integration;
            # the copies describe one piece of hardware and keep the old ID as composite_device_id.
            splits.setdefault(composite, []).append(device)
            aliases[device.id] = composite
        else:
            devices[device.id] = device
    for composite, copies in splits.items():
        devices[composite] = _merge_copies(composite, sorted(copies, key=lambda d: d.id))
    if store.version >= 3:
        # 3.4 (2026.9): child devices are parts of a parent device; their entities belong to the parent.
        for raw in records(store, "child_devices"):
            parent = raw.get("parent_device_id")
            if isinstance(raw.get("id"), str) and isinstance(parent, str):
                aliases[raw["id"]] = aliases.get(parent, parent)
    return devices, aliases


def _merge_copies(composite: str, copies: list[HaDevice]) -> HaDevice:
    def first(attr: str) -> str:
        return next((str(getattr(c, attr)) for c in copies if getattr(c, attr)), "")

    return HaDevice(
        id=composite,
        name=first("name"),
        manufacturer=first("manufacturer"),
        model=first("model"),
        sw_version=first("sw_version"),
        hw_version=first("hw_version"),
        area_id=next((c.area_id for c in copies if c.area_id), None),
        config_entries=tuple(sorted({e for c in copies for e in c.config_entries})),
        connections=tuple(sorted({x for c in copies for x in c.connections})),
        identifiers=tuple(sorted({x for c in copies for x in c.identifiers})),
        via_device_id=next((c.via_device_id for c in copies if c.via_device_id), None),
        is_service=all(c.is_service for c in copies),
        disabled=all(c.disabled for c in copies),
        labels=tuple(sorted({x for c in copies for x in c.labels})),
    )


def _device(raw: dict[str, Any], major: int) -> HaDevice:
    return HaDevice(
        id=raw["id"],
        name=_text(raw.get("name_by_user")) or _text(raw.get("name")),
        manufacturer=_text(raw.get("manufacturer")),
        model=_text(raw.get("model")) or _text(raw.get("model_id")),
        sw_version=_text(raw.get("sw_version")),
        hw_version=_text(raw.get("hw_version")),
        area_id=_opt(raw.get("area_id")),
        config_entries=_device_entries(raw, major),
        connections=_pairs(raw.get("connections")),
        identifiers=_pairs(raw.get("identifiers")),
        via_device_id=_opt(raw.get("via_device_id")),
        is_service=raw.get("entry_type") == "service",
        disabled=raw.get("disabled_by") is not None,
        labels=tuple(sorted(x for x in raw.get("labels") or [] if isinstance(x, str))),
    )


def read_entities(store: Store | None) -> list[HaEntity]:
    out: list[HaEntity] = []
    for raw in records(store, "entities"):
        entity_id = raw.get("entity_id")
        if not isinstance(entity_id, str) or "." not in entity_id:
            continue
        out.append(
            HaEntity(
                entity_id=entity_id,
                domain=entity_id.split(".", 1)[0],
                platform=_text(raw.get("platform")),
                device_id=_opt(raw.get("device_id")),
                area_id=_opt(raw.get("area_id")),
                device_class=_opt(raw.get("device_class")) or _opt(raw.get("original_device_class")),
                config_entry_id=_opt(raw.get("config_entry_id")),
                disabled=raw.get("disabled_by") is not None,
                entity_category=_category(raw.get("entity_category")),
            )
        )
    return sorted(out, key=lambda e: e.entity_id)


def _category(value: Any) -> str | None:
    # 1.x before 2021.11 had no entity_category; 2021.11–2021.12 also allowed "system".
    return value if value in ("config", "diagnostic", "system") else None


def read_entries(store: Store | None) -> dict[str, HaConfigEntry]:
    entries: dict[str, HaConfigEntry] = {}
    for raw in records(store, "entries"):
        entry_id, domain = raw.get("entry_id"), raw.get("domain")
        if isinstance(entry_id, str) and isinstance(domain, str):
            entries[entry_id] = HaConfigEntry(
                entry_id, domain, _text(raw.get("title")), _text(raw.get("source")), raw.get("disabled_by") is not None
            )
    return entries


def read_areas(store: Store | None) -> dict[str, HaArea]:
    areas: dict[str, HaArea] = {}
    for raw in records(store, "areas"):
        if isinstance(raw.get("id"), str):
            areas[raw["id"]] = HaArea(raw["id"], _text(raw.get("name")) or raw["id"], _opt(raw.get("floor_id")))
    return areas


def read_floors(store: Store | None) -> dict[str, str]:
    return {raw["floor_id"]: _text(raw.get("name")) for raw in records(store, "floors") if isinstance(raw.get("floor_id"), str)}
