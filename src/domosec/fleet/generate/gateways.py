"""The router (and Zigbee hub) of each home: product, firmware, logins, endpoints, port forwards, UPnP."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domosec.fleet import products as P
from domosec.fleet.columns import Bools, Ints, draw, maybe, pick, tri
from domosec.fleet.generate.block import DEVICE_TYPES, Block, flag
from domosec.fleet.generate.devices import FLAGS, PRODUCT_VENDOR, Devices, equipment_columns, product_choice


def add_gateways(b: Block, has_zigbee: Bools, has_guest_wifi: Bools, dev: Devices) -> Ints:
    """The router of every home and the hub of homes with Zigbee; returns each home's hub vendor (-1 without a hub)."""
    rng, n = b.rng, b.n
    router, router_fw = product_choice(rng, "network_equipment", n)
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
            **equipment_columns(rng, router, router_fw),
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
    p_default = np.array([p.default_login for p in P.PRODUCTS])[router] + P.SHARE["router_default_login"] * flag(FLAGS, "d", router_fw)
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
    clear = flag(FLAGS, "c", router_fw)
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
    hub, hub_fw = product_choice(rng, "hub", h)
    b.add(
        "gateways",
        h,
        {
            "home_id": b.homes_of(hubs),
            "gateway_id": "hub",
            "kind": "hub",
            "zone_id": "living",
            **equipment_columns(rng, hub, hub_fw),
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
    hub_vendor[hubs] = PRODUCT_VENDOR[hub]
    return hub_vendor
