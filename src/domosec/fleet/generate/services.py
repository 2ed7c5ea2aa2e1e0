"""The cloud services and data flows of each home, its declared controls and its accepted risks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domosec.fleet import products as P
from domosec.fleet.columns import Bools, Ints, draw, maybe, pick, tri
from domosec.fleet.generate.block import DEVICE_TYPES, VENDORS, Block, dates, flag
from domosec.fleet.generate.devices import FLAGS, Devices


def add_services_and_flows(b: Block, dev: Devices, has_zigbee: Bools, hub_vendor: Ints) -> None:
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
    tls = np.array([p.tls for p in P.PRODUCTS])[dev.product[wifi]] - 0.3 * flag(FLAGS, "c", dev.firmware[wifi])
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


def add_controls_and_acceptances(b: Block) -> None:
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
            "expires": dates(["2026-06-30", "2027-06-30"]).take(pa.array(rng.integers(0, 2, k))),
        },
    )
