"""Generate a deterministic synthetic fleet, drawn from the distributions of :mod:`domosec.fleet.products`.

Homes are drawn in blocks of :data:`BLOCK` homes; block *b* uses the random stream seeded with
``(seed, b)``, so a fleet begins with every smaller fleet of the same seed whose size is a
multiple of :data:`BLOCK`. The tables come
out in the fleet layout (:mod:`domosec.fleet.layout`), and every home is a valid model: exported
to JSON it passes the model's validation (a test checks this).

One module per part of a home: :mod:`.households` (people, rooms, networks), :mod:`.devices`,
:mod:`.gateways` (router and hub), :mod:`.services` (clouds, flows, controls, accepted risks).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from domosec.catalog.load import Catalogue, load_catalogue
from domosec.fleet import products as P
from domosec.fleet.columns import draw, pick
from domosec.fleet.generate.block import BLOCK, Block
from domosec.fleet.generate.devices import add_devices
from domosec.fleet.generate.gateways import add_gateways
from domosec.fleet.generate.households import add_networks, add_users, add_zones
from domosec.fleet.generate.services import add_controls_and_acceptances, add_services_and_flows
from domosec.fleet.layout import FLEET_TABLES

__all__ = ["BLOCK", "generate", "generate_block"]


def generate_block(seed: int, block: int, size: int, catalogue: Catalogue | None = None) -> dict[str, pa.Table]:
    """The tables of homes ``block * BLOCK`` … ``block * BLOCK + size - 1``."""
    if not 0 < size <= BLOCK:
        raise ValueError(f"a block holds 1 to {BLOCK} homes")
    b = Block(seed, block, block * BLOCK, size, catalogue or load_catalogue())
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
    add_users(b, has_children, n_children)
    add_zones(b, has_children)
    add_networks(b, has_zigbee, has_guest_wifi)
    devices = add_devices(b, has_children, has_zigbee)
    hub_vendor = add_gateways(b, has_zigbee, has_guest_wifi, devices)
    add_services_and_flows(b, devices, has_zigbee, hub_vendor)
    add_controls_and_acceptances(b)
    return b.result()


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
