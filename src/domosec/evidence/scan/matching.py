"""Which modelled gateway or device an observed host is: by MAC address, IP address, then mDNS/SSDP identity.

A MAC address is the strongest evidence (addresses change with DHCP), then the address, then
an announced host name equal to the element's ``hostname``, then an announced name (mDNS
instance or UPnP friendly name) equal to the element's ``name``. Each element matches at most
one host, and each host at most one element.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from domosec.evidence.scan.observations import Host
from domosec.model.elements import Device, Gateway

Element = Gateway | Device
MatchedBy = Literal["mac", "ip", "hostname", "name"]


@dataclass(frozen=True)
class Match:
    element: Element
    by: MatchedBy


def normal_mac(mac: str) -> str:
    digits = "".join(ch for ch in mac.lower() if ch in "0123456789abcdef")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)) if len(digits) == 12 else ""


def normal_ip(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return ""


def normal_host_name(name: str) -> str:
    return name.strip().lower().rstrip(".").removesuffix(".local")


def match_hosts(hosts: Iterable[Host], elements: Iterable[Element]) -> dict[str, Match]:
    """Map host address to the element it is, for the hosts that match one unambiguously."""
    pool = list(elements)
    hosts = list(hosts)
    matches: dict[str, Match] = {}
    taken: set[str] = set()
    for by in MATCH_ORDER:
        index: dict[str, list[Element]] = {}
        for element in pool:
            value = element_value(element, by)
            if value and element.id not in taken:
                index.setdefault(value, []).append(element)
        for host in hosts:
            if host.address in matches:
                continue
            candidates = {e.id: e for v in host_values(host, by) for e in index.get(v, []) if e.id not in taken}
            if len(candidates) == 1:
                element = next(iter(candidates.values()))
                matches[host.address] = Match(element, by)
                taken.add(element.id)
    return matches


MATCH_ORDER: tuple[MatchedBy, ...] = ("mac", "ip", "hostname", "name")


def host_values(host: Host, by: MatchedBy) -> set[str]:
    """What the scan knows of ``host`` for one kind of match, normalised."""
    if by == "mac":
        values = {normal_mac(host.mac)}
    elif by == "ip":
        values = {normal_ip(host.address)}
    elif by == "hostname":
        values = {normal_host_name(n) for n in host.hostnames}
    else:
        values = {n.strip().lower() for n in host.names}
    return values - {""}


def element_value(element: Element, by: MatchedBy) -> str:
    """What the model says of ``element`` for one kind of match, normalised."""
    if by == "mac":
        return normal_mac(element.mac)
    if by == "ip":
        return normal_ip(element.ip)
    if by == "hostname":
        return normal_host_name(element.hostname)
    return element.name.strip().lower()
