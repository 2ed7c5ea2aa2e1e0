"""The people, rooms and networks of a block of homes."""

from __future__ import annotations

import numpy as np

from domosec.fleet import products as P
from domosec.fleet.columns import Bools, Ints, draw, pick, tri
from domosec.fleet.generate.block import ZONES, Block
from domosec.model.elements import PRIVATE_ZONE_KINDS
from domosec.model.normalise import WIRED_KINDS


def add_users(b: Block, has_children: Bools, n_children: Ints) -> None:
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


def add_zones(b: Block, has_children: Bools) -> None:
    rng, n = b.rng, b.n
    optional = {"kids-room": has_children, "office": rng.random(n) < P.SHARE["office"], "garage": rng.random(n) < P.SHARE["garage"]}
    for zone_id, kind in ZONES:
        rows = np.flatnonzero(optional.get(zone_id, np.ones(n, bool)))
        b.add("zones", len(rows), {"home_id": b.homes_of(rows), "zone_id": zone_id, "kind": kind, "is_private": kind in PRIVATE_ZONE_KINDS})


def add_networks(b: Block, has_zigbee: Bools, has_guest_wifi: Bools) -> None:
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
