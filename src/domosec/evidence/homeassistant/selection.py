"""Which registry entries become devices, and why each of the others does not.

Nothing is dropped silently: every device entry of the registry is either kept or given a
:class:`Drop` with its reason, and the importer counts the reasons in its summary (and lists
each with ``-v``). A device is kept even when ``.storage/core.config_entries`` is absent (many
keep it out of version control because it holds credentials): its integration then comes from
its identifiers and the platforms of its entities.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from domosec.evidence.homeassistant import hints
from domosec.evidence.homeassistant.read import Snapshot
from domosec.evidence.homeassistant.registries import HaDevice

ZIGBEE2MQTT_PREFIX = "zigbee2mqtt_0x"
"""Identifier value of a device that Zigbee2MQTT publishes through MQTT discovery."""


@dataclass(frozen=True, order=True)
class Drop:
    """A registry entry left out of the model, and why."""

    kind: str  # "device" or "entity"
    ha_id: str
    name: str
    reason: str
    not_hardware: bool = False

    def render(self) -> str:
        return f"{self.kind} {self.ha_id}" + (f" '{self.name}'" if self.name else "") + f": {self.reason}"


@dataclass
class Selection:
    """The devices kept (by Home Assistant ID), the integrations of each, and what was left out."""

    devices: dict[str, HaDevice] = field(default_factory=dict)
    integrations: dict[str, list[str]] = field(default_factory=dict)
    drops: list[Drop] = field(default_factory=list)
    entity_counts: Counter[str] = field(default_factory=Counter)


def select_devices(snap: Snapshot) -> Selection:
    reg = snap.registries
    out = Selection()
    platforms: dict[str, set[str]] = {}
    for entity in reg.entities:
        if entity.device_id is not None and entity.platform:
            platforms.setdefault(reg.canonical(entity.device_id), set()).add(entity.platform)
    for device in sorted(reg.devices.values(), key=lambda d: d.id):
        label = device.name or " ".join(x for x in (device.manufacturer, device.model) if x)
        if device.is_service:
            out.drops.append(Drop("device", device.id, label, "a service entry of an integration (not hardware)", True))
            continue
        if device.disabled:
            out.drops.append(Drop("device", device.id, label, "disabled in Home Assistant"))
            continue
        entries = [reg.entries[e] for e in device.config_entries if e in reg.entries]
        if entries and all(e.disabled for e in entries):
            out.drops.append(Drop("device", device.id, label, "its integration is disabled"))
            continue
        domains = sorted({e.domain for e in entries}) or _domains_without_entries(device, platforms.get(device.id, set()))
        entity_domains = {e.domain for e in reg.entities_of(device.id)}
        types = [i.integration_type if i is not None else None for i in (snap.integrations.get(d) for d in domains)]
        why_not = hints.not_hardware(domains, device.model, entity_domains, types)
        if why_not:
            out.drops.append(Drop("device", device.id, label, why_not, True))
            continue
        out.devices[device.id] = device
        out.integrations[device.id] = domains
    _count_entities(snap, out)
    return out


def _domains_without_entries(device: HaDevice, platforms: set[str]) -> list[str]:
    """Integrations of a device whose config entries are unknown: its identifiers, then its entities' platforms."""
    found = set(platforms)
    for key, value in device.identifiers:
        if key == "mqtt" and value.startswith(ZIGBEE2MQTT_PREFIX):
            found.add("zigbee2mqtt")
        if key not in ("mac", "serial", "uuid", "webhook_id", "device_id"):
            # An integration may qualify its key ("homekit_controller:accessory-id"): the domain comes before the colon.
            found.add(key.split(":", 1)[0])
    if any(key == "webhook_id" for key, _ in device.identifiers):
        found.add("mobile_app")
    return sorted(found)


def _count_entities(snap: Snapshot, selection: Selection) -> None:
    reg = snap.registries
    dropped = {d.ha_id for d in selection.drops}
    for entity in reg.entities:
        device = reg.canonical(entity.device_id) if entity.device_id else None
        if entity.disabled:
            selection.entity_counts["disabled in Home Assistant"] += 1
        elif device is None:
            selection.entity_counts["without a device (used for the integration's cloud flows)"] += 1
        elif device in dropped:
            selection.entity_counts["of a device left out"] += 1
        elif device not in selection.devices:
            selection.entity_counts["of a device not in the device registry"] += 1
        elif not entity.is_primary:
            selection.entity_counts["settings or diagnostics of an imported device (not used for its type)"] += 1
        else:
            selection.entity_counts["of an imported device"] += 1


def drop_summary(drops: list[Drop]) -> str:
    """``12 devices (disabled in Home Assistant: 5; its integration is disabled: 3; …)``, or empty when none was dropped."""
    counts = Counter(d.reason for d in drops if d.kind == "device")
    if not counts:
        return ""
    total = sum(counts.values())
    reasons = "; ".join(f"{reason}: {n}" for reason, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])))
    return f"{total} device{'s' if total != 1 else ''} ({reasons})"
