"""mDNS / DNS-SD discovery (zeroconf): the names and services devices announce on the home network.

The browse asks once which service types are announced, then browses each type and resolves
every instance; only instances whose addresses are scan targets are kept. Nothing is announced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from domosec.evidence.scan.observations import Observations

MODEL_KEYS = ("md", "model", "mdl", "ty")
VENDOR_KEYS = ("manufacturer", "mf", "vendor", "brand")


async def browse_mdns(observations: Observations, targets: frozenset[str], *, wait: float) -> None:
    """Record the mDNS host names, instance names and service types of target hosts."""
    from zeroconf import ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf, AsyncZeroconfServiceTypes

    aiozc = AsyncZeroconf()
    try:
        types = await AsyncZeroconfServiceTypes.async_find(aiozc=aiozc, timeout=wait / 2)
        seen: set[tuple[str, str]] = set()

        def on_change(zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
            if state_change is not ServiceStateChange.Removed:
                seen.add((service_type, name))

        handlers: list[Callable[..., None]] = [on_change]
        browser = AsyncServiceBrowser(aiozc.zeroconf, list(types), handlers=handlers) if types else None
        await asyncio.sleep(wait / 2)
        if browser is not None:
            await browser.async_cancel()
        for service_type, name in sorted(seen):
            info = AsyncServiceInfo(service_type, name)
            if not await info.async_request(aiozc.zeroconf, max(0.2, wait / 2)):
                continue
            addresses = [a for a in info.parsed_addresses() if a in targets]
            for address in addresses:
                host = observations.host(address)
                host.mdns_services.add(service_type.removesuffix(".local."))
                host.names.add(name.removesuffix("." + service_type))
                if info.server:
                    host.hostnames.add(info.server.rstrip(".").removesuffix(".local").lower())
                props = {k.decode("utf-8", "replace").lower(): (v or b"").decode("utf-8", "replace") for k, v in info.properties.items()}
                host.model = host.model or next((props[k] for k in MODEL_KEYS if props.get(k)), "")
                host.vendor = host.vendor or next((props[k] for k in VENDOR_KEYS if props.get(k)), "")
    finally:
        await aiozc.async_close()
