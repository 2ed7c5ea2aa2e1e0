"""Hosts a scan must never touch: ``--exclude`` and the model's ``exclude:`` list.

An exclusion is an address, a CIDR block, a MAC address or the ID of a modelled device or
gateway. All are turned into addresses *before* the scan, so an excluded host gets no packet at
all, not even the ARP request a first connection would make: a MAC address is looked up in the
kernel's neighbour table (reading it sends nothing) and in the model; an element by its ``ip``,
else its MAC address. An exclusion that cannot be turned into an address stops the scan with an
error instead of risking a packet to a fragile or medical device.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from domosec.errors import Diagnostic, InputError
from domosec.evidence.scan.neighbours import read_neighbours
from domosec.model.elements import SystemModel

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAC = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$", re.IGNORECASE)


@dataclass(frozen=True)
class Exclusions:
    """The blocks that are off limits, with one line per exclusion saying what it became."""

    networks: tuple[Network, ...] = ()
    described: tuple[str, ...] = ()

    def covers(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in net for net in self.networks if net.version == ip.version)


def normalise_mac(text: str) -> str:
    return text.strip().lower().replace("-", ":")


def resolve_exclusions(
    items: Iterable[tuple[str, str]], model: SystemModel | None, *, neighbours: dict[str, str] | None = None
) -> Exclusions:
    """Turn ``(where, item)`` pairs (``where`` is ``--exclude`` or ``model exclude``) into address blocks; every problem at once."""
    table = read_neighbours() if neighbours is None else neighbours
    by_mac: dict[str, set[str]] = {}
    for address, mac in table.items():
        by_mac.setdefault(mac, set()).add(address)
    elements = {e.id: e for e in ([*model.gateways, *model.devices] if model is not None else [])}
    for element in elements.values():
        if element.mac and element.ip:
            by_mac.setdefault(normalise_mac(element.mac), set()).add(element.ip)
    networks: list[Network] = []
    described: list[str] = []
    problems: list[Diagnostic] = []
    for where, raw in items:
        item = raw.strip()
        if not item:
            continue
        found, how, problem = _resolve(item, elements, by_mac)
        if problem:
            problems.append(Diagnostic(where, None, None, "bad-exclusion", problem, hint=_HINT))
            continue
        networks.extend(found)
        described.append(f"{item} ({how})" if how else item)
    if problems:
        raise InputError(problems)
    return Exclusions(tuple(networks), tuple(described))


_HINT = "give the device's IP address, or a CIDR block holding it; an exclusion the scan cannot place is refused rather than risked"


def _resolve(item: str, elements: Mapping[str, object], by_mac: dict[str, set[str]]) -> tuple[list[Network], str, str]:
    if MAC.match(item):
        addresses = sorted(by_mac.get(normalise_mac(item), set()))
        if not addresses:
            return [], "", f"MAC address {item} is neither in the neighbour table nor on a modelled element with an ip"
        return [ipaddress.ip_network(a) for a in addresses], "MAC address at " + ", ".join(addresses), ""
    try:
        return [ipaddress.ip_network(item, strict=False)], "", ""
    except ValueError:
        pass
    element = elements.get(item)
    if element is None:
        return [], "", f"'{item}' is not an address, a CIDR block, a MAC address or the ID of a modelled device or gateway"
    ip, mac = getattr(element, "ip", ""), getattr(element, "mac", "")
    if ip:
        return [ipaddress.ip_network(ip)], f"{item} at {ip}", ""
    if mac:
        addresses = sorted(by_mac.get(normalise_mac(mac), set()))
        if addresses:
            return [ipaddress.ip_network(a) for a in addresses], f"{item}, MAC {mac}, at " + ", ".join(addresses), ""
    return [], "", f"element '{item}' has no ip, and its MAC address (if any) is not in the neighbour table"


def exclusion_items(cli: Sequence[str], model: SystemModel | None) -> list[tuple[str, str]]:
    """The ``--exclude`` values (comma-separated, repeatable) and the model's ``exclude:`` list, with where each came from."""
    items = [("--exclude", part) for spec in cli for part in spec.split(",")]
    items += [("model exclude", entry) for entry in (model.exclude if model is not None else [])]
    return items
