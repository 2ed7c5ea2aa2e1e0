"""Generate a deterministic synthetic fleet, drawn from the distributions of :mod:`domosec.fleet.products`.

Homes are drawn in blocks of :data:`BLOCK` homes; block *b* uses the random stream seeded with
``(seed, b)``, so a fleet begins with every smaller fleet of the same seed whose size is a
multiple of :data:`BLOCK`. The tables come
out in the fleet layout (:mod:`domosec.fleet.layout`), and every home is a valid model: exported
to JSON it passes the model's validation (a test checks this).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domosec.catalog.load import Catalogue, load_catalogue
from domosec.fleet import products as P
from domosec.fleet.columns import Bools, Ints, draw, expand, make_table, maybe, pick, tri
from domosec.fleet.layout import FLEET_TABLES
from domosec.model.elements import PRIVATE_ZONE_KINDS
from domosec.model.normalise import WIRED_KINDS

BLOCK = 5_000
"""Homes drawn from one random stream."""

DEVICE_TYPES = tuple(P.DEVICE_TYPE_SHARES)
VENDORS = tuple(P.VENDOR_CLOUDS)
ZONES = (
    ("living", "living"),
    ("kitchen", "kitchen"),
    ("hallway", "hallway"),
    ("bedroom", "bedroom"),
    ("bathroom", "bathroom"),
    ("entrance", "entrance"),
    ("garden", "garden"),
    ("kids-room", "children_room"),
    ("office", "office"),
    ("garage", "garage"),
)


@dataclass(frozen=True)
class _Catalogue:
    """Product arrays indexed by product number and firmware number."""

    vendor: Ints
    firmware_product: Ints
    firmware_flags: tuple[str, ...]


def _dates(values: list[str] | np.ndarray) -> pa.Array:
    return pa.array(np.array(values, dtype="datetime64[D]"), type=pa.date32())


def _flag(flags: tuple[str, ...], letter: str, fw: Ints) -> Bools:
    table = np.array([letter in f for f in flags], dtype=bool)
    return table[fw]


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in ["home_id", *keys]])


def _concat(name: str, parts: list[pa.Table]) -> pa.Table:
    keys = [c.name for c in FLEET_TABLES[name].keys]
    return _sorted(pa.concat_tables(parts), keys) if parts else FLEET_TABLES[name].schema().empty_table()


class _Block:
    """One block of homes being drawn."""

    def __init__(self, seed: int, block: int, first: int, size: int, cat: Catalogue) -> None:
        self.rng = np.random.default_rng([seed, block])
        self.n = size
        self.cat = cat
        self.home_ids = [f"home-{i:07d}" for i in range(first, first + size)]
        self.hid = pa.array(self.home_ids, type=pa.string())
        self.tables: dict[str, list[pa.Table]] = {name: [] for name in FLEET_TABLES}

    def homes_of(self, rows: Ints) -> pa.Array:
        return self.hid.take(pa.array(rows, type=pa.int64()))

    def add(self, name: str, size: int, columns: dict[str, object]) -> None:
        if size:
            self.tables[name].append(make_table(name, size, columns))

    def result(self) -> dict[str, pa.Table]:
        return {name: _concat(name, parts) for name, parts in self.tables.items()}


def generate_block(seed: int, block: int, size: int, catalogue: Catalogue | None = None) -> dict[str, pa.Table]:
    """The tables of homes ``block * BLOCK`` … ``block * BLOCK + size - 1``."""
    if not 0 < size <= BLOCK:
        raise ValueError(f"a block holds 1 to {BLOCK} homes")
    b = _Block(seed, block, block * BLOCK, size, catalogue or load_catalogue())
    rng, n = b.rng, b.n
    has_children = rng.random(n) < P.SHARE["children"]
    n_children = np.where(has_children, rng.integers(1, 4, n), 0)
    has_zigbee = rng.random(n) < P.SHARE["zigbee"]
    has_guest_wifi = rng.random(n) < P.SHARE["guest_wifi"]
    b.add(
        "homes",
        n,
        {
            "home_id": b.hid,
            "name": pa.array([f"Home {h[5:]}" for h in b.home_ids]),
            "lifecycle_stage": "use",
            "jurisdiction": pick(tuple(P.JURISDICTIONS), draw(rng, P.JURISDICTIONS, n)),
            "source_file": "",
        },
    )
    _users(b, has_children, n_children)
    _zones(b, has_children)
    _networks(b, has_zigbee, has_guest_wifi)
    devices = _devices(b, has_children, has_zigbee)
    hub_vendor = _gateways(b, has_zigbee, has_guest_wifi, devices)
    _services_and_flows(b, devices, has_zigbee, hub_vendor)
    _controls_and_acceptances(b)
    return b.result()


def _users(b: _Block, has_children: Bools, n_children: Ints) -> None:
    rng, n = b.rng, b.n
    slots = [
        ("owner", "resident", np.ones(n, bool)),
        ("partner", "resident", rng.random(n) < P.SHARE["second_adult"]),
        ("child-1", "child", n_children >= 1),
        ("child-2", "child", n_children >= 2),
        ("child-3", "child", n_children >= 3),
        ("grandparent", "elderly", rng.random(n) < P.SHARE["elderly"]),
        ("guest", "guest", rng.random(n) < P.SHARE["guest"]),
    ]
    vulnerable = set(b.cat.vulnerable_roles())
    for user_id, role, present in slots:
        rows = np.flatnonzero(present)
        k = len(rows)
        columns: dict[str, object] = {"home_id": b.homes_of(rows), "user_id": user_id, "role": role, "is_vulnerable": role in vulnerable}
        if user_id == "owner":
            columns |= {"admin": True, "mfa": tri(rng, k, P.SHARE["admin_mfa"], 0.45)}
        elif role == "resident":
            columns |= {"mfa": tri(rng, k, 0.3, 0.3)}
        elif role in ("child", "guest"):
            columns |= {"shared_account": tri(rng, k, 0.4, 0.4)}
        b.add("users", k, columns)


def _zones(b: _Block, has_children: Bools) -> None:
    rng, n = b.rng, b.n
    optional = {"kids-room": has_children, "office": rng.random(n) < P.SHARE["office"], "garage": rng.random(n) < P.SHARE["garage"]}
    for zone_id, kind in ZONES:
        rows = np.flatnonzero(optional.get(zone_id, np.ones(n, bool)))
        b.add("zones", len(rows), {"home_id": b.homes_of(rows), "zone_id": zone_id, "kind": kind, "is_private": kind in PRIVATE_ZONE_KINDS})


def _networks(b: _Block, has_zigbee: Bools, has_guest_wifi: Bools) -> None:
    rng, n = b.rng, b.n
    everyone = np.arange(n)
    b.add(
        "networks",
        n,
        {"home_id": b.hid, "network_id": "wan", "kind": "wan", "gateway_id": "router", "internet": True, "is_wireless": False},
    )
    b.add(
        "networks",
        n,
        {
            "home_id": b.homes_of(everyone),
            "network_id": "wifi",
            "kind": "wifi",
            "encryption": pick(tuple(P.WIFI_ENCRYPTION), draw(rng, P.WIFI_ENCRYPTION, n)),
            "segment": pick(("main", "iot"), (rng.random(n) < P.SHARE["iot_segment"]).astype(np.int64)),
            "gateway_id": "router",
            "internet": True,
            "client_isolation": tri(rng, n, 0.1, 0.6),
            "default_password": tri(rng, n, P.SHARE["wifi_default_password"], 0.7),
            "wps": tri(rng, n, P.SHARE["wps"], 0.6),
            "is_wireless": "wifi" not in WIRED_KINDS,
        },
    )
    rows = np.flatnonzero(has_guest_wifi)
    k = len(rows)
    b.add(
        "networks",
        k,
        {
            "home_id": b.homes_of(rows),
            "network_id": "guest-wifi",
            "kind": "wifi",
            "encryption": "wpa2",
            "segment": "guest",
            "gateway_id": "router",
            "internet": True,
            "client_isolation": tri(rng, k, 0.7, 0.3),
            "default_password": False,
            "wps": False,
            "is_wireless": True,
        },
    )
    rows = np.flatnonzero(has_zigbee)
    k = len(rows)
    b.add(
        "networks",
        k,
        {
            "home_id": b.homes_of(rows),
            "network_id": "zigbee",
            "kind": "zigbee",
            "encryption": "network_key",
            "pairing": pick(("install_code", "default_key", "push_button"), draw(rng, (0.4, 0.3, 0.3), k)),
            "segment": "iot",
            "gateway_id": "hub",
            "internet": False,
            "join_open": tri(rng, k, 0.05, 0.9),
            "is_wireless": True,
        },
    )


@dataclass
class _Devices:
    home: Ints
    ids: pa.Array
    type_idx: Ints
    product: Ints
    firmware: Ints
    vendor: Ints
    on_zigbee: Bools


def _product_choice(rng: np.random.Generator, kind: str, size: int) -> tuple[Ints, Ints]:
    """Product numbers of ``size`` items of one type, and their firmware numbers (global indices)."""
    products = [i for i, p in enumerate(P.PRODUCTS) if p.type == kind]
    chosen = np.array(products, dtype=np.int64)[draw(rng, [P.PRODUCTS[i].share for i in products], size)]
    firmware = np.zeros(size, dtype=np.int64)
    for i in products:
        rows = np.flatnonzero(chosen == i)
        fws = P.PRODUCTS[i].firmwares
        firmware[rows] = _FIRMWARE_OFFSET[i] + draw(rng, [f.share for f in fws], len(rows))
    return chosen, firmware


_FIRMWARE_OFFSET = np.cumsum([0] + [len(p.firmwares) for p in P.PRODUCTS])[:-1]
_FIRMWARES = tuple(f for p in P.PRODUCTS for f in p.firmwares)
_FLAGS = tuple(f.flags for f in _FIRMWARES)
_PRODUCT_VENDOR = np.array([VENDORS.index(p.vendor) for p in P.PRODUCTS], dtype=np.int64)


def _equipment_columns(rng: np.random.Generator, product: Ints, firmware: Ints) -> dict[str, object]:
    """Columns gateways and devices share, from their product and firmware."""
    k = len(product)
    unsigned = _flag(_FLAGS, "u", firmware)
    updates = pick([p.update for p in P.PRODUCTS], product)
    return {
        "vendor": pick([p.vendor for p in P.PRODUCTS], product),
        "model": pick([p.model for p in P.PRODUCTS], product),
        "firmware": pick([f.version for f in _FIRMWARES], firmware),
        "update_mechanism": updates,
        "update_signed": maybe(pa.array(~unsigned), rng.random(k) < 0.9),
        "update_secure_channel": maybe(pa.array(~unsigned | (rng.random(k) < 0.5)), rng.random(k) < 0.8),
        "update_automatic_by_default": pick([p.auto_default for p in P.PRODUCTS], product, pa.bool_()),
        "update_last_update": _dates([f.released for f in _FIRMWARES]).take(pa.array(firmware)),
        "support_end": _dates([p.support_end for p in P.PRODUCTS]).take(pa.array(product)),
        "factory_reset_available": tri(rng, k, 0.9, 0.05),
        "factory_reset_wipes_personal_data": tri(rng, k, 0.8, 0.1),
    }


def _devices(b: _Block, has_children: Bools, has_zigbee: Bools) -> _Devices:
    rng, n, cat = b.rng, b.n, b.cat
    extra = rng.negative_binomial(P.DEVICES_EXTRA_SHAPE, P.DEVICES_EXTRA_SHAPE / (P.DEVICES_EXTRA_SHAPE + P.DEVICES_EXTRA_MEAN), n)
    counts = np.minimum(P.DEVICES_BASE + extra, P.DEVICES_MAX).astype(np.int64)
    home, ordinal = expand(counts)
    d = len(home)
    type_idx = draw(rng, P.DEVICE_TYPE_SHARES, d)
    toy = DEVICE_TYPES.index("toy")
    type_idx[(type_idx == toy) & ~has_children[home]] = DEVICE_TYPES.index("lighting_plug")
    product = np.zeros(d, dtype=np.int64)
    firmware = np.zeros(d, dtype=np.int64)
    zone = np.empty(d, dtype=object)
    on_zigbee = np.zeros(d, dtype=bool)
    for t, kind in enumerate(DEVICE_TYPES):
        rows = np.flatnonzero(type_idx == t)
        if not len(rows):
            continue
        product[rows], firmware[rows] = _product_choice(rng, kind, len(rows))
        zones = P.TYPE_ZONES[kind]
        zone[rows] = np.array(zones, dtype=object)[rng.integers(0, len(zones), len(rows))]
        if kind in ("camera", "voice_assistant"):
            kids = rows[has_children[home[rows]] & (rng.random(len(rows)) < 0.2)]
            zone[kids] = "kids-room"
        if kind in P.ZIGBEE_TYPES:
            on_zigbee[rows] = has_zigbee[home[rows]] & (rng.random(len(rows)) < P.ZIGBEE_TYPES[kind])
    kinds = [DEVICE_TYPES[t] for t in range(len(DEVICE_TYPES))]
    types = pick(kinds, type_idx)
    ids = pick([f"dev-{i:02d}" for i in range(1, P.DEVICES_MAX + 1)], ordinal)
    dev = _Devices(home, ids, type_idx, product, firmware, _PRODUCT_VENDOR[product], on_zigbee)

    def is_type(*names: str) -> Bools:
        return np.isin(type_idx, [DEVICE_TYPES.index(x) for x in names])

    zone_arr = pa.array(zone.tolist(), type=pa.string())
    outdoor = np.isin(zone, ["garden", "entrance"]) & is_type("camera", "intercom", "lock")
    camera, voice, lock, climate, appliance = (
        is_type("camera"),
        is_type("voice_assistant"),
        is_type("lock"),
        is_type("climate"),
        is_type("appliance"),
    )
    dtypes = cat.device_types
    columns: dict[str, object] = {
        "home_id": b.homes_of(home),
        "device_id": ids,
        "type": types,
        "zone_id": zone_arr,
        "gateway_id": maybe(pa.repeat(pa.scalar("hub"), d), on_zigbee),
        **_equipment_columns(rng, product, firmware),
        "physical_outdoor": maybe(pa.array(outdoor), outdoor),
        "physical_tamper_evident": maybe(tri(rng, d, 0.5, 0.5), outdoor),
        "physical_debug_ports": maybe(
            pa.repeat(pa.scalar("exposed"), d),
            (rng.random(d) < P.SHARE["debug_ports_exposed"]) & is_type("camera", "energy", "network_equipment"),
        ),
        "data_at_rest_encrypted": maybe(tri(rng, d, 0.6, 0.3), is_type("camera", "intercom")),
        "data_at_rest_retention_days": maybe(pa.repeat(pa.scalar(30, pa.int64()), d), is_type("camera", "intercom")),
        "fail_safe_on_power_loss": maybe(
            pick(("safe_state", "last_state", "unsafe"), draw(rng, (0.6, 0.35, 0.05), d)), lock | appliance | climate
        ),
        "fail_safe_on_network_loss": maybe(pick(("keeps_working", "stops", "unsafe"), draw(rng, (0.8, 0.15, 0.05), d)), climate | lock),
        "fail_safe_manual_override": maybe(tri(rng, d, 0.88, 0.08), lock | climate),
        "fail_safe_child_lock": maybe(tri(rng, d, 0.7, 0.2), appliance),
        "fail_safe_remote_start_confirmation": maybe(tri(rng, d, 0.6, 0.3), appliance),
        "privacy_features_hardware_switch": pc.if_else(pa.array(camera), tri(rng, d, 0.2, 0.7), maybe(tri(rng, d, 0.9, 0.05), voice)),
        "privacy_features_shutter": maybe(tri(rng, d, 0.15, 0.7), camera),
        "privacy_features_indicator": maybe(tri(rng, d, 0.88, 0.08), camera | voice | is_type("intercom")),
        "privacy_features_privacy_mode": maybe(tri(rng, d, 0.6, 0.3), camera & ~outdoor),
        "privacy_features_masking": maybe(tri(rng, d, 0.4, 0.5), camera & outdoor),
        "local_control": maybe(tri(rng, d, 0.7, 0.2), climate | lock),
        "wifi_auto_connect": maybe(tri(rng, d, 0.3, 0.5), is_type("toy", "other") & ~on_zigbee),
        "voice_purchasing": maybe(tri(rng, d, P.SHARE["voice_purchasing"], 0.5), voice),
        "voice_recognition": maybe(tri(rng, d, 0.5, 0.3), voice),
        "tier": pick([dtypes[k].tier for k in kinds], type_idx),
        "is_safety_relevant": pick([dtypes[k].safety_relevant for k in kinds], type_idx, pa.bool_()),
        "is_child_directed": pick([dtypes[k].child_directed for k in kinds], type_idx, pa.bool_()),
    }
    b.add("devices", d, columns)
    b.add(
        "equipment_networks",
        d,
        {
            "home_id": b.homes_of(home),
            "asset_kind": "device",
            "asset_id": ids,
            "network_id": pick(("wifi", "zigbee"), on_zigbee.astype(np.int64)),
        },
    )
    for t, kind in enumerate(DEVICE_TYPES):
        rows = np.flatnonzero(type_idx == t)
        for table, column, values in (("device_sensors", "sensor", P.TYPE_SENSORS), ("device_actuators", "actuator", P.TYPE_ACTUATORS)):
            for value in sorted(values.get(kind, ())):
                b.add(table, len(rows), {"home_id": b.homes_of(home[rows]), "device_id": ids.take(pa.array(rows)), column: value})
        stores = kind in ("camera", "intercom")
        for category in sorted(P.TYPE_DATA[kind]):
            b.add(
                "equipment_data",
                len(rows),
                {
                    "home_id": b.homes_of(home[rows]),
                    "asset_kind": "device",
                    "asset_id": ids.take(pa.array(rows)),
                    "category": category,
                    "collected": True,
                    "stored": stores and category == "video",
                    "sensitivity": cat.data_categories[category].sensitivity,
                },
            )
    _device_logins(b, dev)
    return dev


def _device_logins(b: _Block, dev: _Devices) -> None:
    rng = b.rng
    types = np.array(DEVICE_TYPES, dtype=object)[dev.type_idx]
    login = np.flatnonzero(np.isin(types, sorted(P.LOGIN_TYPES)))
    k = len(login)
    fw = dev.firmware[login]
    p_default = np.array([p.default_login for p in P.PRODUCTS])[dev.product[login]] + 0.4 * _flag(_FLAGS, "d", fw)
    web = np.isin(types[login], ["camera", "intercom", "network_equipment"])
    b.add(
        "credentials",
        k,
        {
            "home_id": b.homes_of(dev.home[login]),
            "asset_kind": "device",
            "asset_id": dev.ids.take(pa.array(login)),
            "credential_index": 0,
            "kind": pick(("app", "web"), web.astype(np.int64)),
            "factory_default": maybe(pa.array(rng.random(k) < p_default), rng.random(k) < 0.9),
            "unique_per_device": tri(rng, k, 0.5, 0.3),
            "hard_coded": tri(rng, k, 0.02, 0.8),
            "strength": maybe(pick(("weak", "fair", "strong"), draw(rng, (0.15, 0.45, 0.4), k)), rng.random(k) < 0.9),
            "shared": tri(rng, k, 0.25, 0.6),
        },
    )
    camera = np.flatnonzero(types == "camera")
    cleartext = np.flatnonzero(_flag(_FLAGS, "c", dev.firmware))
    telnet = np.flatnonzero(_flag(_FLAGS, "t", dev.firmware))
    index = np.zeros(len(dev.home), dtype=np.int64)
    for rows, columns in (
        (
            camera,
            {
                "protocol": "rtsp",
                "port": 554,
                "purpose": "stream",
                "authentication": pick(
                    ("password", "none"), (rng.random(len(camera)) < P.SHARE["camera_unauthenticated_stream"]).astype(np.int64)
                ),
            },
        ),
        (cleartext, {"protocol": "http", "port": 80, "purpose": "admin", "authentication": "password", "tls": "none"}),
        (telnet, {"protocol": "telnet", "port": 23, "purpose": "debug", "authentication": "password"}),
    ):
        b.add(
            "endpoints",
            len(rows),
            {
                "home_id": b.homes_of(dev.home[rows]),
                "asset_kind": "device",
                "asset_id": dev.ids.take(pa.array(rows)),
                "endpoint_index": index[rows],
                **columns,
            },
        )
        index[rows] += 1


def _gateways(b: _Block, has_zigbee: Bools, has_guest_wifi: Bools, dev: _Devices) -> Ints:
    """The router of every home and the hub of homes with Zigbee; returns each home's hub vendor (-1 without a hub)."""
    rng, n = b.rng, b.n
    router, router_fw = _product_choice(rng, "network_equipment", n)
    everyone = np.arange(n)
    camera = DEVICE_TYPES.index("camera")
    cam_rows = np.flatnonzero(dev.type_idx == camera)
    cam_homes, first = np.unique(dev.home[cam_rows], return_index=True)
    # Forwards go to a camera; among homes with one, the chance is raised so that the share of all homes is as documented.
    with_camera = max(len(cam_homes), 1) / n
    forwards = cam_homes[rng.random(len(cam_homes)) < min(1.0, P.SHARE["port_forward"] / with_camera)]
    forward_target = dev.ids.take(pa.array(cam_rows[first][np.isin(cam_homes, forwards)]))
    has_forward = np.isin(everyone, forwards)
    remote = pick(("none", "cloud_relay", "vpn"), draw(rng, (0.7, 0.25, 0.05), n))
    b.add(
        "gateways",
        n,
        {
            "home_id": b.hid,
            "gateway_id": "router",
            "kind": "router",
            "zone_id": "hallway",
            **_equipment_columns(rng, router, router_fw),
            "upnp": tri(rng, n, P.SHARE["upnp"], 0.5),
            "remote_access": pc.if_else(pa.array(has_forward), pa.repeat(pa.scalar("port_forward"), n), remote),
            "firewall": tri(rng, n, 0.9, 0.08),
            "intrusion_detection": tri(rng, n, 0.2, 0.6),
            "malicious_traffic_filter": tri(rng, n, 0.15, 0.6),
            "device_admission": maybe(pick(("open", "approval"), draw(rng, (0.6, 0.4), n)), rng.random(n) < 0.8),
            "device_inventory": tri(rng, n, 0.7, 0.2),
            "privacy_dashboard": tri(rng, n, 0.2, 0.5),
            "logging_enabled": tri(rng, n, 0.6, 0.2),
        },
    )
    k = len(forwards)
    b.add(
        "port_forwards",
        k,
        {
            "home_id": b.homes_of(forwards),
            "gateway_id": "router",
            "forward_index": 0,
            "target_id": forward_target,
            "external_port": 8554,
            "internal_port": 554,
            "via_upnp": pa.array(rng.random(k) < 0.5),
            "target_kind": "device",
        },
    )
    p_default = np.array([p.default_login for p in P.PRODUCTS])[router] + P.SHARE["router_default_login"] * _flag(_FLAGS, "d", router_fw)
    b.add(
        "credentials",
        n,
        {
            "home_id": b.hid,
            "asset_kind": "gateway",
            "asset_id": "router",
            "credential_index": 0,
            "kind": "web",
            "factory_default": pa.array(rng.random(n) < p_default + 0.05),
            "unique_per_device": tri(rng, n, 0.6, 0.3),
            "strength": pick(("weak", "fair", "strong"), draw(rng, (0.15, 0.5, 0.35), n)),
            "shared": tri(rng, n, 0.3, 0.5),
        },
    )
    clear = _flag(_FLAGS, "c", router_fw)
    internet = rng.random(n) < 0.03
    b.add(
        "endpoints",
        n,
        {
            "home_id": b.hid,
            "asset_kind": "gateway",
            "asset_id": "router",
            "endpoint_index": 0,
            "protocol": pick(("https", "http"), clear.astype(np.int64)),
            "port": pick((443, 80), clear.astype(np.int64), pa.int64()),
            "exposure": pick(("lan", "internet"), internet.astype(np.int64)),
            "purpose": "admin",
            "authentication": "password",
            "tls": pick(("tls1.2", "none"), clear.astype(np.int64)),
        },
    )
    nets: list[tuple[Ints, str]] = [(everyone, "wan"), (everyone, "wifi"), (np.flatnonzero(has_guest_wifi), "guest-wifi")]
    for rows, net in nets:
        b.add(
            "equipment_networks", len(rows), {"home_id": b.homes_of(rows), "asset_kind": "gateway", "asset_id": "router", "network_id": net}
        )
    hubs = np.flatnonzero(has_zigbee)
    h = len(hubs)
    hub, hub_fw = _product_choice(rng, "hub", h)
    b.add(
        "gateways",
        h,
        {
            "home_id": b.homes_of(hubs),
            "gateway_id": "hub",
            "kind": "hub",
            "zone_id": "living",
            **_equipment_columns(rng, hub, hub_fw),
            "device_admission": maybe(pick(("open", "approval"), draw(rng, (0.3, 0.7), h)), rng.random(h) < 0.8),
            "privacy_dashboard": tri(rng, h, 0.3, 0.4),
            "data_at_rest_encrypted": tri(rng, h, 0.5, 0.3),
            "data_at_rest_retention_days": pa.array(rng.choice([30, 90, 365], h), type=pa.int64()),
        },
    )
    b.add(
        "equipment_data",
        h,
        {
            "home_id": b.homes_of(hubs),
            "asset_kind": "gateway",
            "asset_id": "hub",
            "category": "usage_patterns",
            "collected": False,
            "stored": True,
            "sensitivity": b.cat.data_categories["usage_patterns"].sensitivity,
        },
    )
    for net in ("wifi", "zigbee"):
        b.add("equipment_networks", h, {"home_id": b.homes_of(hubs), "asset_kind": "gateway", "asset_id": "hub", "network_id": net})
    hub_vendor = np.full(n, -1, dtype=np.int64)
    hub_vendor[hubs] = _PRODUCT_VENDOR[hub]
    return hub_vendor


def _services_and_flows(b: _Block, dev: _Devices, has_zigbee: Bools, hub_vendor: Ints) -> None:
    rng = b.rng
    v = len(VENDORS)
    wifi = np.flatnonzero(~dev.on_zigbee)
    hubs = np.flatnonzero(has_zigbee)
    keys = np.unique(np.concatenate([dev.home[wifi] * v + dev.vendor[wifi], hubs * v + hub_vendor[hubs]]))
    home, vendor = keys // v, keys % v
    s = len(keys)
    service_ids = pick([f"cloud-{x.lower()}" for x in VENDORS], vendor)
    info = [P.VENDOR_CLOUDS[x] for x in VENDORS]
    sharing = rng.random(s) < np.array([float(str(i["sharing"])) for i in info])[vendor]
    b.add(
        "services",
        s,
        {
            "home_id": b.homes_of(home),
            "service_id": service_ids,
            "kind": "cloud_backend",
            "operator": pick(VENDORS, vendor),
            "jurisdiction": pick([str(i["jurisdiction"]) for i in info], vendor),
            "auth_mfa": pick([str(i["mfa"]) for i in info], vendor),
            "auth_password_policy": tri(rng, s, 0.6, 0.2),
            "auth_brute_force_protection": tri(rng, s, 0.7, 0.1),
            "auth_recovery_verified": tri(rng, s, 0.5, 0.2),
            "auth_per_member_accounts": tri(rng, s, 0.6, 0.2),
            "auth_device_authentication": tri(rng, s, 0.8, 0.1),
            "retention_days": pick([int(str(i["retention"])) for i in info], vendor, pa.int64()),
            "privacy_notice": pa.array(rng.random(s) < np.array([float(str(i["notice"])) for i in info])[vendor]),
            "consent": pick(("explicit", "implied", "none"), draw(rng, (0.5, 0.4, 0.1), s)),
            "data_deletion": tri(rng, s, 0.7, 0.2),
            "third_party_sharing": pa.array(sharing),
            "vulnerability_disclosure": tri(rng, s, 0.6, 0.3),
            "security_monitoring": tri(rng, s, 0.6, 0.2),
            "staff_access": maybe(pick(("audited", "unrestricted", "none"), draw(rng, (0.8, 0.05, 0.15), s)), rng.random(s) < 0.7),
            "data_at_rest_encrypted": tri(rng, s, 0.8, 0.1),
        },
    )
    shares = np.flatnonzero(sharing)
    b.add(
        "service_sharing",
        len(shares),
        {
            "home_id": b.homes_of(home[shares]),
            "service_id": service_ids.take(pa.array(shares)),
            "purpose": pick(("advertising", "analytics"), draw(rng, (0.5, 0.5), len(shares))),
        },
    )
    b.add("user_services", s, {"home_id": b.homes_of(home), "user_id": "owner", "service_id": service_ids})
    # Every Wi-Fi device talks to its vendor's cloud; the hub speaks for the Zigbee devices.
    k = len(wifi)
    flow_ids = pc.binary_join_element_wise("flow-", dev.ids.take(pa.array(wifi)), "")
    tls = np.array([p.tls for p in P.PRODUCTS])[dev.product[wifi]] - 0.3 * _flag(_FLAGS, "c", dev.firmware[wifi])
    encrypted = rng.random(k) < tls
    b.add(
        "flows",
        k,
        {
            "home_id": b.homes_of(dev.home[wifi]),
            "flow_id": flow_ids,
            "source_id": dev.ids.take(pa.array(wifi)),
            "source_kind": "device",
            "target_id": pick([f"cloud-{x.lower()}" for x in VENDORS], dev.vendor[wifi]),
            "target_kind": "service",
            "protocol": pick(("https", "http"), (~encrypted).astype(np.int64)),
            "encrypted": pa.array(encrypted),
            "authenticated": tri(rng, k, 0.9, 0.05),
            "consent": tri(rng, k, 0.6, 0.1),
            "leaves_home": True,
        },
    )
    for net in ("wifi", "wan"):
        b.add("flow_networks", k, {"home_id": b.homes_of(dev.home[wifi]), "flow_id": flow_ids, "network_id": net})
    for t, kind in enumerate(DEVICE_TYPES):
        rows = np.flatnonzero(dev.type_idx[wifi] == t)
        for category in sorted(P.TYPE_DATA[kind]):
            b.add(
                "flow_data",
                len(rows),
                {
                    "home_id": b.homes_of(dev.home[wifi][rows]),
                    "flow_id": flow_ids.take(pa.array(rows)),
                    "category": category,
                    "sensitivity": b.cat.data_categories[category].sensitivity,
                },
            )
    h = len(hubs)
    b.add(
        "flows",
        h,
        {
            "home_id": b.homes_of(hubs),
            "flow_id": "flow-hub",
            "source_id": "hub",
            "source_kind": "gateway",
            "target_id": pick([f"cloud-{x.lower()}" for x in VENDORS], hub_vendor[hubs]),
            "target_kind": "service",
            "protocol": "mqtts",
            "encrypted": True,
            "authenticated": True,
            "leaves_home": True,
        },
    )
    for net in ("wifi", "wan"):
        b.add("flow_networks", h, {"home_id": b.homes_of(hubs), "flow_id": "flow-hub", "network_id": net})
    b.add(
        "flow_data",
        h,
        {
            "home_id": b.homes_of(hubs),
            "flow_id": "flow-hub",
            "category": "usage_patterns",
            "sensitivity": b.cat.data_categories["usage_patterns"].sensitivity,
        },
    )


CONTROL_CHOICES = (
    ("7.2.17", "implemented", 1),
    ("7.2.15", "implemented", 0),
    ("7.2.16", "partial", 0),
    ("7.2.22", "implemented", 1),
    ("7.3.5", "planned", 0),
    ("7.2.12", "not_applicable", 0),
)
"""Controls a declaring home may list (each with a 60 % chance): clause item, status, pieces of evidence."""


def _controls_and_acceptances(b: _Block) -> None:
    rng, n = b.rng, b.n
    declaring = rng.random(n) < P.SHARE["declares_controls"]
    for control, status, evidence in CONTROL_CHOICES:
        rows = np.flatnonzero(declaring & (rng.random(n) < 0.6))
        b.add(
            "controls",
            len(rows),
            {"home_id": b.homes_of(rows), "control_id": control, "status": status, "owner": "owner", "evidence_count": evidence},
        )
    rows = np.flatnonzero(rng.random(n) < P.SHARE["accepts_risk"])
    k = len(rows)
    b.add(
        "accepted_risks",
        k,
        {
            "home_id": b.homes_of(rows),
            "risk_index": 0,
            "rule": "GW-S07",
            "asset": "router",
            "reason": "The game console needs UPnP for online play.",
            "approver": "owner",
            "expires": _dates(["2026-06-30", "2027-06-30"]).take(pa.array(rng.integers(0, 2, k))),
        },
    )


def generate(*, homes: int, seed: int, part_size: int = 5_000) -> Iterator[dict[str, pa.Table]]:
    """The fleet's parts, in order; each part holds ``part_size`` homes (a multiple of :data:`BLOCK`)."""
    if homes < 1:
        raise ValueError("a fleet has at least one home")
    if part_size < BLOCK or part_size % BLOCK:
        raise ValueError(f"the part size must be a multiple of {BLOCK}")
    cat = load_catalogue()
    blocks_per_part = part_size // BLOCK
    n_blocks = -(-homes // BLOCK)
    for start in range(0, n_blocks, blocks_per_part):
        pieces = [
            generate_block(seed, blk, min(BLOCK, homes - blk * BLOCK), cat) for blk in range(start, min(start + blocks_per_part, n_blocks))
        ]
        yield {name: pa.concat_tables([p[name] for p in pieces]) for name in FLEET_TABLES}
