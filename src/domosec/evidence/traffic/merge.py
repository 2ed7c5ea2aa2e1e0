"""The capture's evidence as model facts with provenance ``observed``, merged into a model as ``domosec scan`` does.

- Each local address is matched to a modelled gateway or device (MAC, then IP, then DHCP or mDNS
  host name, then name: :mod:`domosec.evidence.scan.matching`); one that matches nothing becomes a
  new device with provenance ``observed``.
- Each outside destination is a service, named by its registered domain (or its address when the
  capture never named it); a service of the model with that name, ID or operator is used, otherwise
  a new one is added with provenance ``observed`` (``third_party`` when a tracker list names it or
  the vendor table says it belongs to another maker).
- The flows between them become model flows, one per (from, to, protocol): ``encrypted`` from the
  protocol, and the data category ``credentials`` when a login was seen in clear (never the login).
- The TLS version a server negotiated, and plain text on a protocol with a TLS form, are recorded
  on the server's endpoint for that port.

Declared facts stay as they were; a declared flow with the same ends and protocol gains nothing but
is not duplicated.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from domosec.evidence.scan.matching import Element, match_hosts
from domosec.evidence.scan.observations import Host
from domosec.evidence.traffic import payload
from domosec.evidence.traffic.analyse import Analysis, Destination
from domosec.evidence.traffic.destinations import party
from domosec.evidence.traffic.flows import Flow
from domosec.model.elements import Device, Service, System, SystemModel
from domosec.model.elements import Flow as ModelFlow
from domosec.model.parts import Endpoint, Provenance

TOOL = "domosec traffic"
ENDPOINT_PROTOCOLS = {
    "http": "http",
    "https": "https",
    "mqtt": "mqtt",
    "mqtts": "mqtts",
    "coap": "coap",
    "coaps": "coaps",
    "rtsp": "rtsp",
    "rtsps": "rtsps",
    "telnet": "telnet",
    "ftp": "ftp",
    "ssh": "ssh",
    "dns": "dns",
}
CLEAR_WITH_TLS_FORM = frozenset({"http", "mqtt", "coap", "rtsp", "telnet", "ftp"})
PURPOSES = {
    "Ad Motivated Tracking": "advertising",
    "Advertising": "advertising",
    "Action Pixels": "advertising",
    "Ad Fraud": "advertising",
    "Analytics": "analytics",
    "Audience Measurement": "analytics",
    "Third-Party Analytics Marketing": "analytics",
    "Session Replay": "analytics",
}
"""Tracker Radar categories → the model's sharing purposes of a service the capture adds."""


@dataclass
class MergeReport:
    matched: list[tuple[str, str, str]] = field(default_factory=list)
    added_devices: list[tuple[str, str]] = field(default_factory=list)
    added_services: list[str] = field(default_factory=list)
    flows: int = 0


@dataclass
class _Link:
    source: str
    target: str
    protocol: str
    flows: list[Flow] = field(default_factory=list)
    leaves_home: bool = False


def merge_traffic(
    analysis: Analysis, base: SystemModel | None, home_id: str, capture_name: str, device_names: dict[str, str] | None = None
) -> tuple[SystemModel, MergeReport]:
    """The model with the capture's devices, services, flows and endpoint facts merged in.

    ``device_names`` maps MAC addresses to names (``--devices``), matched against the model's device names.
    """
    model = base.model_copy(deep=True) if base is not None else _empty_model(home_id, capture_name)
    report = MergeReport()
    used = {
        e.id
        for section in (model.users, model.zones, model.networks, model.gateways, model.devices, model.services, model.flows)
        for e in section
    }
    table = analysis.table
    hosts = []
    for row_address in sorted(table.hosts, key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a).is_link_local, a)):
        info = table.hosts[row_address]
        names = set(info.hostnames) | ({table.dhcp_names[info.mac]} if info.mac in table.dhcp_names else set())
        labels = {(device_names or {}).get(info.mac, "")} - {""}
        hosts.append(Host(row_address, mac=info.mac, hostnames=names, names=labels or set(names)))
    matches = match_hosts(hosts, [*model.gateways, *model.devices])
    elements: dict[str, Element] = {}
    for host in hosts:
        match = matches.get(host.address)
        if match is not None:
            elements[host.address] = match.element
            report.matched.append((host.address, match.element.id, match.by))
            _fill(match.element, host)
    services: dict[str, Service] = {}
    links: dict[tuple[str, str, str], _Link] = {}
    matched_macs: dict[str, Element] = {}  # the first matched host of each MAC, in host order (one pass: no quadratic search)
    for host in hosts:
        if host.mac and host.address in elements:
            matched_macs.setdefault(host.mac, elements[host.address])
    for host in hosts:  # another address of a matched host's MAC (IPv6 beside IPv4) is the same element
        if host.address not in elements and host.mac in matched_macs:
            elements[host.address] = matched_macs[host.mac]
    for flow in table.sorted_flows():
        if flow.client not in table.hosts or flow.protocol in ("dhcp", "mdns", "ssdp") or _group_address(flow.server):
            continue
        dest = analysis.destination(flow)
        source = elements.get(flow.client) or _new_device(flow.client, hosts, used, model, elements, report)
        if dest.local:
            if flow.server not in table.hosts:
                continue  # a local address that never answered: nothing is known of it
            target: Element | Service = elements.get(flow.server) or _new_device(flow.server, hosts, used, model, elements, report)
        else:
            target = _service_for(dest.domain or flow.server, dest, source.vendor, model, services, used, report)
        _endpoint_fact(target, flow, "lan" if dest.local else "internet")
        if target.id == source.id:
            continue  # a host talking to itself (loopback): no flow between elements
        key = (source.id, target.id, flow.protocol)
        links.setdefault(key, _Link(source.id, target.id, flow.protocol, leaves_home=not dest.local)).flows.append(flow)
    declared = {(f.source, f.target, f.protocol) for f in model.flows}
    revealing = _presence_links(analysis, links, elements)
    for key in sorted(links):
        if key in declared:
            continue
        model.flows.append(_model_flow(links[key], used, analysis, revealing.get(key, "")))
        report.flows += 1
    return model, report


def _empty_model(home_id: str, capture_name: str) -> SystemModel:
    return SystemModel(system=System(id=home_id, name="Home network as captured", description=f"Built by {TOOL} from {capture_name}."))


def _provenance(detail: str) -> Provenance:
    return Provenance(source="observed", tool=TOOL, detail=detail)


def _unique(base: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.:@/-]", "-", base)[:100].strip("-") or "observed"
    ident, n = base, 2
    while ident in used:
        ident, n = f"{base}-{n}", n + 1
    used.add(ident)
    return ident


def _group_address(address: str) -> bool:
    parsed = ipaddress.ip_address(address)
    return parsed.is_multicast or address == "255.255.255.255" or parsed.is_unspecified


def _fill(element: Element, host: Host) -> None:
    element.ip = element.ip or host.address
    element.mac = element.mac or host.mac
    if host.hostnames and not element.hostname:
        element.hostname = sorted(host.hostnames)[0]


def _new_device(
    address: str, hosts: list[Host], used: set[str], model: SystemModel, elements: dict[str, Element], report: MergeReport
) -> Element:
    host = next(h for h in hosts if h.address == address)
    twin = next((h for h in hosts if host.mac and h.mac == host.mac and h.address in elements), None)
    if twin is not None and host.mac != "00:00:00:00:00:00":
        elements[address] = elements[twin.address]
        return elements[address]
    ident = _unique("host-" + address.replace(".", "-").replace(":", "-"), used)
    name = sorted(host.names)[0] if host.names else ""
    device = Device(id=ident, name=name, type="other", provenance=_provenance("not in the model: seen in the capture"))
    _fill(device, host)
    model.devices.append(device)
    elements[address] = device
    report.added_devices.append((address, ident))
    return device


def _service_for(
    key: str, dest: Destination, vendor: str, model: SystemModel, services: dict[str, Service], used: set[str], report: MergeReport
) -> Service:
    if key in services:
        return services[key]
    for service in model.services:
        if key.lower() in (service.id.lower(), service.name.strip().lower(), service.operator.strip().lower()):
            services[key] = service
            return service
    kind = "third_party" if dest.tracker or party(key, vendor, dest.owner) == "third" else "other"
    why = [f"not in the model: contacted at {dest.name or key}"]
    if dest.tracker:
        why.append(f"on the tracker list {dest.tracker}")
    if dest.owner:
        why.append(f"owned by {dest.owner}")
    if dest.country:
        why.append(f"server in {dest.country} (GeoIP; taken as its jurisdiction)")
    purposes = sorted({PURPOSES[c] for c in dest.categories if c in PURPOSES})
    service = Service.model_validate(
        {
            "id": _unique(key, used),
            "name": key,
            "kind": kind,
            "operator": dest.owner,
            "jurisdiction": dest.country,
            "sharing_purposes": purposes,
            "provenance": _provenance("; ".join(why)),
        }
    )
    model.services.append(service)
    services[key] = service
    report.added_services.append(service.id)
    return service


def _endpoint_fact(target: Element | Service, flow: Flow, exposure: str) -> None:
    protocol = ENDPOINT_PROTOCOLS.get(flow.protocol)
    if protocol is None and flow.protocol != "tls":
        return
    facts: dict[str, Any] = {"protocol": protocol or "other", "port": flow.server_port, "transport": flow.transport_name}
    if flow.tls_version in ("ssl3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"):
        facts["tls"] = flow.tls_version
    elif flow.protocol in CLEAR_WITH_TLS_FORM:
        facts["tls"] = "none"
    if flow.credentials:
        facts["authentication"] = "password"
    detail = f"seen in the capture ({flow.client} → {flow.server}:{flow.server_port})"
    for index, existing in enumerate(target.endpoints):
        if existing.port == flow.server_port and existing.transport == flow.transport_name:
            merged = existing.model_dump()
            if facts["protocol"] == "other":
                facts.pop("protocol")
            if existing.tls not in (None, "none") and facts.get("tls") not in (None, "none"):
                facts["tls"] = min(existing.tls, facts["tls"])  # the oldest version seen is the one to judge
            merged.update(facts, provenance=_provenance(detail))
            target.endpoints[index] = Endpoint.model_validate(merged)
            return
    target.endpoints.append(Endpoint.model_validate({**facts, "exposure": exposure, "provenance": _provenance(detail)}))


def _presence_links(
    analysis: Analysis, links: dict[tuple[str, str, str], _Link], elements: dict[str, Element]
) -> dict[tuple[str, str, str], str]:
    """For each host whose traffic reveals presence (presence.py), the link out of the home that carried most of its bytes."""
    found: dict[tuple[str, str, str], str] = {}
    for fact in analysis.presence:
        element = elements.get(fact.host)
        if element is None:
            continue
        candidates = [k for k, link in links.items() if k[0] == element.id and link.leaves_home]
        if candidates:
            best = max(sorted(candidates), key=lambda k: sum(f.bytes for f in links[k].flows))
            found[best] = "; ".join(filter(None, (found.get(best, ""), f"{fact.kind}: {fact.detail}")))
    return found


def _model_flow(link: _Link, used: set[str], analysis: Analysis, presence: str) -> ModelFlow:
    flows = link.flows
    packets = sum(f.packets for f in flows)
    size = sum(f.bytes for f in flows)
    credentials = sorted({c for f in flows for c in f.credentials})
    versions = sorted({f.tls_version for f in flows if f.tls_version})
    names = sorted({n for f in flows for n in (f.sni, f.http_host) if n})
    detail = [f"seen in the capture: {len(flows)} connection(s), {packets} packets, {size} bytes"]
    if names:
        detail.append("names: " + ", ".join(names[:5]) + (" …" if len(names) > 5 else ""))
    if versions:
        detail.append("TLS: " + ", ".join(versions))
    if credentials:
        detail.append("login seen in clear: " + "; ".join(credentials))
    looks = [analysis.looks_encrypted(f) if f.protocol == "other" else f.encrypted for f in flows]
    if any(f.protocol == "other" and look is not None for f, look in zip(flows, looks, strict=True)):
        detail.append("unknown protocol judged by payload entropy")
    clear = [f for f, look in zip(flows, looks, strict=True) if look is False]
    markers: dict[str, int] = {}
    for f in clear:
        for kind, count in f.markers.items():
            markers[kind] = markers.get(kind, 0) + count
    if markers:
        detail.append("seen in clear: " + ", ".join(f"{kind} ×{n}" for kind, n in sorted(markers.items())))
    if presence:
        detail.append(presence)
    categories = {payload.CATEGORY[kind] for kind in markers} | ({"presence"} if presence else set())
    data: dict[str, Any] = {
        "id": _unique(f"observed-{link.source}-{link.target}-{link.protocol}", used),
        "from": link.source,
        "to": link.target,
        "protocol": link.protocol,
        "encrypted": True if all(look is True for look in looks) else (False if all(look is not None for look in looks) else None),
        "provenance": _provenance("; ".join(detail)),
    }
    if credentials:
        categories.add("credentials")
        data["authenticated"] = True
    if categories:
        data["data"] = sorted(categories)
    return ModelFlow.model_validate(data)
