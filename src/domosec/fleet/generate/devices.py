"""The devices of a block of homes: products and firmware, sensors, actuators, credentials and endpoints."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domosec.fleet import products as P
from domosec.fleet.columns import Bools, Ints, draw, expand, maybe, pick, tri
from domosec.fleet.generate.block import DEVICE_TYPES, VENDORS, Block, dates, flag


@dataclass
class Devices:
    home: Ints
    ids: pa.Array
    type_idx: Ints
    product: Ints
    firmware: Ints
    vendor: Ints
    on_zigbee: Bools


def product_choice(rng: np.random.Generator, kind: str, size: int) -> tuple[Ints, Ints]:
    """Product numbers of ``size`` items of one type, and their firmware numbers (global indices)."""
    products = [i for i, p in enumerate(P.PRODUCTS) if p.type == kind]
    chosen = np.array(products, dtype=np.int64)[draw(rng, [P.PRODUCTS[i].share for i in products], size)]
    firmware = np.zeros(size, dtype=np.int64)
    for i in products:
        rows = np.flatnonzero(chosen == i)
        fws = P.PRODUCTS[i].firmwares
        firmware[rows] = FIRMWARE_OFFSET[i] + draw(rng, [f.share for f in fws], len(rows))
    return chosen, firmware


FIRMWARE_OFFSET = np.cumsum([0] + [len(p.firmwares) for p in P.PRODUCTS])[:-1]
FIRMWARES = tuple(f for p in P.PRODUCTS for f in p.firmwares)
FLAGS = tuple(f.flags for f in FIRMWARES)
PRODUCT_VENDOR = np.array([VENDORS.index(p.vendor) for p in P.PRODUCTS], dtype=np.int64)


def equipment_columns(rng: np.random.Generator, product: Ints, firmware: Ints) -> dict[str, object]:
    """Columns gateways and devices share, from their product and firmware."""
    k = len(product)
    unsigned = flag(FLAGS, "u", firmware)
    updates = pick([p.update for p in P.PRODUCTS], product)
    return {
        "vendor": pick([p.vendor for p in P.PRODUCTS], product),
        "model": pick([p.model for p in P.PRODUCTS], product),
        "firmware": pick([f.version for f in FIRMWARES], firmware),
        "update_mechanism": updates,
        "update_signed": maybe(pa.array(~unsigned), rng.random(k) < 0.9),
        "update_secure_channel": maybe(pa.array(~unsigned | (rng.random(k) < 0.5)), rng.random(k) < 0.8),
        "update_automatic_by_default": pick([p.auto_default for p in P.PRODUCTS], product, pa.bool_()),
        "update_last_update": dates([f.released for f in FIRMWARES]).take(pa.array(firmware)),
        "support_end": dates([p.support_end for p in P.PRODUCTS]).take(pa.array(product)),
        "factory_reset_available": tri(rng, k, 0.9, 0.05),
        "factory_reset_wipes_personal_data": tri(rng, k, 0.8, 0.1),
    }


def add_devices(b: Block, has_children: Bools, has_zigbee: Bools) -> Devices:
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
        product[rows], firmware[rows] = product_choice(rng, kind, len(rows))
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
    dev = Devices(home, ids, type_idx, product, firmware, PRODUCT_VENDOR[product], on_zigbee)

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
        **equipment_columns(rng, product, firmware),
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


def _device_logins(b: Block, dev: Devices) -> None:
    rng = b.rng
    types = np.array(DEVICE_TYPES, dtype=object)[dev.type_idx]
    login = np.flatnonzero(np.isin(types, sorted(P.LOGIN_TYPES)))
    k = len(login)
    fw = dev.firmware[login]
    p_default = np.array([p.default_login for p in P.PRODUCTS])[dev.product[login]] + 0.4 * flag(FLAGS, "d", fw)
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
    cleartext = np.flatnonzero(flag(FLAGS, "c", dev.firmware))
    telnet = np.flatnonzero(flag(FLAGS, "t", dev.firmware))
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
