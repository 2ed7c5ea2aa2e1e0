"""Turn a :class:`Snapshot` into model data: system, users, zones, networks, gateways and devices.

The Home Assistant host is the gateway ``home-assistant``; a device that other devices hang off
(``via_device``) is a bridge gateway; every other active, physical device is a device. Services
and data flows to the cloud are added by :mod:`services`. Every element carries provenance
``imported`` with the Home Assistant ID it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domosec.evidence.homeassistant import classify, hints
from domosec.evidence.homeassistant.ids import IdAllocator, slug, valid_id
from domosec.evidence.homeassistant.read import Snapshot
from domosec.evidence.homeassistant.registries import HaDevice
from domosec.evidence.homeassistant.selection import ZIGBEE2MQTT_PREFIX, Selection, drop_summary, select_devices

TOOL = "domosec import homeassistant"
GATEWAY_ID = "home-assistant"
LAN_ID = "home-lan"
APP_SERVICE_ID = "home-assistant-app"
RADIO_INTEGRATIONS = {"zha", "zwave_js", "otbr", "bluetooth", "thread"}


def provenance(detail: str) -> dict[str, str]:
    return {"source": "imported", "tool": TOOL, "detail": detail}


@dataclass
class Mapped:
    """Model sections being built, and what was left out."""

    data: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    device_networks: dict[str, list[str]] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)


def build_core(snap: Snapshot) -> Mapped:
    reg = snap.registries
    selection = select_devices(snap)
    physical = selection.devices
    # A device that names itself as its via_device (seen with Alexa devices) hangs off nothing, and one
    # listed under a device of its own make and model is a part of it (the second channel of a double relay).
    parents = {
        parent
        for d in physical.values()
        if d.via_device_id and (parent := reg.canonical(d.via_device_id)) != d.id and not _same_product(d, reg.devices.get(parent))
    }
    kinds = {
        d.id: classify.device_type(reg.entities_of(d.id), selection.integrations.get(d.id, []), d.manufacturer, d.model)
        for d in physical.values()
    }
    # A NAS with its disks, a thermostat with its room sensors listed under it stays what it is.
    bridges = {i for i in physical if i in parents and kinds[i][1] not in classify.NOT_BRIDGE_TYPES}

    alloc = IdAllocator({GATEWAY_ID, LAN_ID, APP_SERVICE_ID, *classify.NETWORK_NAMES})
    for d in physical.values():
        alloc.wish(f"device:{d.id}", slug(d.name or d.model or "device", "device"))
    for user in snap.accounts.users:
        alloc.wish(f"user:{user.id}", slug(user.username or user.name, "user"))
    for area in reg.areas.values():
        alloc.wish(f"area:{area.id}", area.id if valid_id(area.id) else slug(area.name, "area"))
    ids = alloc.assign()
    mapped = Mapped({}, ids, selection=selection)

    name = str(snap.core.get("location_name") or snap.core.get("name") or "Home Assistant home")
    country = snap.core.get("country")
    release = f"Home Assistant {snap.ha_version}" if snap.ha_version else "Home Assistant (release unknown)"
    mapped.data["system"] = {
        "id": slug(name, "home"),
        "name": name,
        "kind": "deployment",
        "description": f"Imported from the configuration of {release} by {TOOL}.",
        **({"jurisdiction": country} if isinstance(country, str) and country else {}),
    }
    mapped.data["users"] = _users(snap, ids)
    mapped.data["zones"] = [
        {
            "id": ids[f"area:{a.id}"],
            "name": a.name,
            "kind": classify.zone_kind(a.id, a.name),
            "provenance": provenance(f"area '{a.id}'" + (f" on floor '{reg.floors.get(a.floor_id) or a.floor_id}'" if a.floor_id else "")),
        }
        for a in sorted(reg.areas.values(), key=lambda a: ids[f"area:{a.id}"])
    ]

    networks: dict[str, set[str]] = {LAN_ID: {"the Home Assistant host"}}
    gateways: list[dict[str, Any]] = [_host_gateway(snap, release)]
    devices: list[dict[str, Any]] = []
    for device in sorted(physical.values(), key=lambda d: ids[f"device:{d.id}"]):
        element = _equipment(snap, device, kinds[device.id], ids, bridges, networks, mapped)
        (gateways if device.id in bridges else devices).append(element)
    mapped.data["networks"] = _networks(snap, networks, bridges, physical, ids)
    by_id = {g["id"]: g for g in gateways}
    for network in mapped.data["networks"]:
        served_by = by_id.get(network.get("gateway", ""))
        if served_by is not None and network["id"] not in served_by.get("networks", []):
            networks_now = sorted([*served_by.get("networks", []), network["id"]])
            if "networks" in served_by:
                served_by["networks"] = networks_now
            else:  # before the provenance, where an element's own facts end
                kept = served_by.pop("provenance")
                served_by.update(networks=networks_now, provenance=kept)
    mapped.data["gateways"] = gateways
    mapped.data["devices"] = devices
    dropped = drop_summary([d for d in selection.drops if "service entry" not in d.reason])
    if dropped:
        mapped.skipped.append(dropped)
    entities = {k: v for k, v in selection.entity_counts.items() if not k.startswith(("of an imported", "settings", "without"))}
    if entities:
        reasons = "; ".join(f"{k}: {n}" for k, n in sorted(entities.items()))
        mapped.skipped.append(f"{sum(entities.values())} entities ({reasons})")
    return mapped


def _same_product(device: HaDevice, parent: HaDevice | None) -> bool:
    """Whether ``device`` is a part of ``parent`` (same make and model), not a device behind a bridge."""
    return parent is not None and bool(device.model) and (device.manufacturer, device.model) == (parent.manufacturer, parent.model)


def _users(snap: Snapshot, ids: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for user in snap.accounts.users:
        mfa = ", ".join(user.mfa_modules) or "none"
        detail = (
            f"Home Assistant user {user.id}"
            + (" (owner)" if user.is_owner else "")
            + f"; group {'administrators' if user.is_admin else 'users'}; two-factor: {mfa}"
        )
        out.append(
            {
                "id": ids[f"user:{user.id}"],
                "name": user.name,
                "role": "admin" if user.is_admin else "resident",
                "admin": user.is_admin,
                "mfa": bool(user.mfa_modules),
                "local_only": user.local_only,
                "services": [APP_SERVICE_ID],
                "provenance": provenance(detail),
            }
        )
    return sorted(out, key=lambda u: u["id"])


def _host_gateway(snap: Snapshot, release: str) -> dict[str, Any]:
    http = snap.http
    protocol = "https" if http.tls else "http"
    tls = ("tls1.3" if http.ssl_profile == "modern_v6" else "tls1.2") if http.tls else "none"
    hosts = ", ".join(http.hosts) or "all interfaces"
    detail = f"HTTP server on {hosts} port {http.port}; settings from {http.source}"
    if http.forwarded_for:
        detail += f"; behind a reverse proxy (trusted proxies: {', '.join(http.trusted_proxies) or 'none listed'})"
    endpoints: list[dict[str, Any]] = [
        {
            "protocol": protocol,
            "port": http.port,
            "exposure": http.exposure,
            "purpose": "admin",
            "authentication": "certificate" if http.client_certificates else "password",
            "tls": tls,
            "brute_force_protection": http.brute_force_protection,
            "provenance": provenance(detail),
        }
    ]
    gateway: dict[str, Any] = {
        "id": GATEWAY_ID,
        "name": "Home Assistant",
        "kind": "home_server",
        "vendor": "Home Assistant",
        "model": "Home Assistant Core",
        "firmware": snap.ha_version,
        "networks": [LAN_ID],
        "credentials": _credentials(snap),
        "endpoints": endpoints,
        "provenance": provenance(f"the {release} host"),
    }
    if snap.cloud.remote_enabled and snap.cloud.logged_in:
        gateway["remote_access"] = "cloud_relay"
        endpoints.append(
            {
                "protocol": "https",
                "port": 443,
                "exposure": "internet",
                "purpose": "admin",
                "authentication": "password",
                "tls": "tls1.2",
                "brute_force_protection": http.brute_force_protection,
                "provenance": provenance("Home Assistant Cloud remote UI (.storage/cloud remote_enabled)"),
            }
        )
    if not snap.ha_version:
        del gateway["firmware"]
    return gateway


def _credentials(snap: Snapshot) -> list[dict[str, Any]]:
    accounts = snap.accounts
    if not accounts.known:
        return []
    creds: list[dict[str, Any]] = [
        {
            "kind": "local_account",
            "factory_default": False,
            "unique_per_device": True,
            "hard_coded": False,
            "provenance": provenance(
                f"{len(accounts.users)} login account(s) (auth providers: {', '.join(accounts.providers)}; "
                f"two-factor modules: {', '.join(accounts.mfa_modules) or 'none'}"
                + ("; trusted networks may log in without a password" if accounts.bypass_login else "")
                + f"; {len(accounts.system_users)} system user(s) not listed)"
            ),
        }
    ]
    names = {u.id: u.name for u in accounts.users}
    for token in accounts.long_lived_tokens:
        owner = names.get(token.user_id, "an unlisted user")
        used = f", last used {token.last_used}" if token.last_used else ", never used"
        creds.append(
            {
                "kind": "api",
                "factory_default": False,
                "unique_per_device": True,
                "hard_coded": False,
                "provenance": provenance(f"long-lived access token '{token.client_name}' of {owner}, created {token.created}{used}"),
            }
        )
    return creds


def _equipment(
    snap: Snapshot,
    device: HaDevice,
    kind_of: tuple[classify.Profile, str],
    ids: dict[str, str],
    bridges: set[str],
    networks: dict[str, set[str]],
    mapped: Mapped,
) -> dict[str, Any]:
    reg = snap.registries
    entities = reg.entities_of(device.id)
    domains = mapped.selection.integrations.get(device.id, [])
    prof, kind = kind_of
    own_networks: list[str] = []
    mac = ""
    for key, value in device.connections:
        if key == "mac":
            mac = mac or value.lower()
            own_networks.append(LAN_ID)
        elif key in classify.NETWORK_BY_CONNECTION:
            own_networks.append(classify.NETWORK_BY_CONNECTION[key])
    for key, value in device.identifiers:
        if value.startswith(ZIGBEE2MQTT_PREFIX):
            own_networks.append("zigbee")
        elif key in ("zwave", "ozw"):  # the legacy Z-Wave integrations (to 2022.3)
            own_networks.append("zwave")
    for domain in domains:
        if domain in classify.NETWORK_BY_DOMAIN and device.id not in bridges:
            own_networks.append(classify.NETWORK_BY_DOMAIN[domain])
    own_networks = sorted(set(own_networks))
    for net in own_networks:
        networks.setdefault(net, set()).add(ids[f"device:{device.id}"])
    mapped.device_networks[device.id] = own_networks
    area = device.area_id or next((e.area_id for e in entities if e.area_id), None)
    element: dict[str, Any] = {"id": ids[f"device:{device.id}"], "name": device.name}
    if device.id in bridges:
        element["kind"] = "bridge"
    else:
        element["type"] = kind
    for key, value in (("vendor", device.manufacturer), ("model", device.model), ("firmware", device.sw_version), ("mac", mac)):
        if value:
            element[key] = value
    if area and f"area:{area}" in ids:
        element["zone"] = ids[f"area:{area}"]
    if own_networks:
        element["networks"] = own_networks
    if device.id not in bridges:
        via = reg.canonical(device.via_device_id) if device.via_device_id else None
        element["gateway"] = ids[f"device:{via}"] if via in bridges else GATEWAY_ID
        if prof.sensors:
            element["sensors"] = sorted(prof.sensors)
        if prof.actuators:
            element["actuators"] = sorted(prof.actuators)
        if prof.data:
            element["data"] = sorted(prof.data)
    source = "" if reg.entries_read else ", from its identifiers and entities: no core.config_entries"
    detail = f"Home Assistant device {device.id} ({', '.join(domains) or 'no integration'}{source}; entity domains: {', '.join(sorted(prof.domains)) or 'none'})"
    if device.hw_version:
        detail += f"; hardware {device.hw_version}"
    if any(d in hints.PHONE_INTEGRATIONS for d in domains):
        detail += "; a phone, tablet or computer with the Home Assistant companion app (type other: see docs/homeassistant.md)"
    element["provenance"] = provenance(detail)
    return element


def _networks(
    snap: Snapshot, used: dict[str, set[str]], bridges: set[str], physical: dict[str, HaDevice], ids: dict[str, str]
) -> list[dict[str, Any]]:
    reg = snap.registries
    out = [
        {
            "id": LAN_ID,
            "name": "Home IP network (Wi-Fi or Ethernet; Home Assistant does not say which)",
            "kind": "other",
            "provenance": provenance("the network of the Home Assistant host and of devices known by MAC address"),
        }
    ]
    ha_radios = {classify.NETWORK_BY_DOMAIN[e.domain] for e in reg.entries.values() if e.domain in RADIO_INTEGRATIONS and not e.disabled}
    for kind in sorted(k for k in used if k != LAN_ID):
        members = sorted(used[kind])
        serving = sorted(
            {
                ids[f"device:{reg.canonical(d.via_device_id)}"]
                for d in physical.values()
                if d.via_device_id and reg.canonical(d.via_device_id) in bridges and ids[f"device:{d.id}"] in members
            }
        )
        network: dict[str, Any] = {"id": kind, "name": classify.NETWORK_NAMES[kind], "kind": kind}
        if len(serving) == 1:
            network["gateway"] = serving[0]
        elif kind in ha_radios:
            network["gateway"] = GATEWAY_ID
        shown = ", ".join(members[:5]) + (f" and {len(members) - 5} more" if len(members) > 5 else "")
        network["provenance"] = provenance(f"inferred from connections and integrations of {shown}")
        out.append(network)
    return out
