"""UPnP (async-upnp-client): SSDP search, device descriptions, and the gateway's port mappings.

An SSDP ``M-SEARCH`` for ``ssdp:all`` goes to the multicast group; answers from hosts that are
not targets are dropped, and a description is fetched only when its URL points at the host that
answered. A description of an Internet Gateway Device leads to its WAN connection service,
whose ``GetGenericPortMappingEntry`` is read entry by entry: each entry is a port the router
forwards from the internet to a device inside the home.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any, Literal
from urllib.parse import urlsplit

from domosec.evidence.scan.observations import Gateway, Host, Observations, PortMapping
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.targets import SSDP_PORT

MAX_MAPPINGS = 256
IGD_TYPE = "InternetGatewayDevice"


async def search_ssdp(observations: Observations, targets: frozenset[str], *, wait: float) -> dict[str, str]:
    """Send one SSDP search and return the description URL each answering target gave."""
    from async_upnp_client.search import async_search

    locations: dict[str, str] = {}

    async def on_answer(headers: Any) -> None:
        sender = str(headers.get("_host", ""))
        location = str(headers.get("location", ""))
        if sender not in targets or not location:
            return
        if urlsplit(location).hostname != sender:
            return
        host = observations.host(sender)
        host.service(SSDP_PORT, "udp").protocol = "upnp"
        if headers.get("server"):
            host.service(SSDP_PORT, "udp").banner = printable(str(headers["server"]))
        locations.setdefault(sender, location)
        if IGD_TYPE in str(headers.get("st", "")):
            locations[sender] = location

    await async_search(on_answer, timeout=max(1, min(5, round(wait))))
    return locations


async def describe_device(pacer: Pacer, host: Host, location: str, *, timeout: float, read_mappings: bool = True) -> None:
    """Fetch the device description at ``location``; for a gateway, read its port mappings too."""
    from async_upnp_client.aiohttp import AiohttpRequester
    from async_upnp_client.client_factory import UpnpFactory
    from async_upnp_client.exceptions import UpnpError

    requester = AiohttpRequester(timeout=max(1, round(timeout)))
    try:
        async with pacer.slot(host.address):
            device = await asyncio.wait_for(UpnpFactory(requester, non_strict=True).async_create_device(location), timeout * 3)
    except (UpnpError, TimeoutError, OSError, ValueError):
        return
    port = urlsplit(location).port or 80
    control = host.service(port, "tcp")
    control.protocol = "upnp"
    control.authentication = "none"
    control.notes = ["serves its UPnP description and control without authentication"]
    host.names.add(device.friendly_name)
    host.vendor = host.vendor or device.manufacturer
    host.model = host.model or device.model_name
    for dev in device.all_devices:
        host.upnp_types.add(dev.device_type)
    if read_mappings and any(IGD_TYPE in t for t in host.upnp_types):
        host.gateway = await read_port_mappings(pacer, host.address, device, location, timeout=timeout)


async def read_port_mappings(pacer: Pacer, address: str, device: Any, location: str, *, timeout: float) -> Gateway:
    """Every port mapping of an Internet Gateway Device, read one index at a time."""
    from async_upnp_client.exceptions import UpnpError
    from async_upnp_client.profiles.igd import IgdDevice

    igd = IgdDevice(device, None)
    gateway = Gateway(location=location)
    try:
        async with pacer.slot(address):
            external: str | None = await asyncio.wait_for(igd.async_get_external_ip_address(), timeout)
        gateway.external_ip = external or ""
    except (UpnpError, TimeoutError, OSError, ValueError) as exc:
        gateway.error = f"external address not readable: {exc}"
    for index in range(MAX_MAPPINGS):
        try:
            async with pacer.slot(address):
                entry = await asyncio.wait_for(igd.async_get_generic_port_mapping_entry(index), timeout)
        except UpnpError as exc:
            if "713" not in str(exc) and index == 0:
                gateway.error = f"port mappings not readable: {exc}"
            break
        except (TimeoutError, OSError, ValueError, KeyError) as exc:
            gateway.error = f"port mappings not readable: {exc}"
            break
        if entry is None:
            break
        protocol: Literal["tcp", "udp"] = "udp" if str(entry.protocol).upper() == "UDP" else "tcp"
        gateway.mappings.append(
            PortMapping(
                external_port=int(entry.external_port),
                internal_client=str(ipaddress.ip_address(str(entry.internal_client))),
                internal_port=int(entry.internal_port),
                protocol=protocol,
                description=printable(str(entry.description or ""), 80),
                enabled=bool(entry.enabled),
            )
        )
    return gateway
