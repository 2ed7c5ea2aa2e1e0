"""Turning observations into model facts with provenance ``observed``, merged into a model.

- A host that matches a modelled gateway or device (see :mod:`.matching`) lends it its endpoints,
  and its address, MAC address and host name where the model left them empty. An observed
  endpoint replaces what the model declared for the same port: observation is evidence.
- A host that matches nothing becomes a new device with provenance ``observed`` (a UPnP Internet
  Gateway Device becomes a gateway of kind ``router``): the household's inventory does not list it.
- Each UPnP port mapping becomes a port forward of the gateway, and the endpoint it reaches is
  marked as exposed to the ``internet``.
- A default login that worked becomes a credential with ``factory_default: true``.

Declared facts the scan did not see stay as they were: a scan sees what answered, not what exists.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, get_args

from domosec.evidence.scan.matching import Element, match_hosts
from domosec.evidence.scan.observations import Host, Observations, PortMapping, Service
from domosec.evidence.scan.ports import usual_protocol
from domosec.model.elements import Device, Gateway, System, SystemModel
from domosec.model.parts import Credential, Endpoint, PortForward, Provenance

TOOL = "domosec scan"
PROTOCOLS = frozenset(get_args(Endpoint.model_fields["protocol"].annotation))
PURPOSES = {
    "http": "admin",
    "https": "admin",
    "telnet": "admin",
    "ssh": "admin",
    "mqtt": "control",
    "mqtts": "control",
    "coap": "control",
    "coaps": "control",
    "upnp": "control",
    "rtsp": "stream",
    "rtsps": "stream",
    "modbus": "control",
    "adb": "debug",
}
TLS_LAYERED = frozenset({"http", "mqtt", "rtsp", "coap", "upnp", "telnet", "other"})
CREDENTIAL_KINDS = {"http": "web", "https": "web", "mqtt": "api", "mqtts": "api", "rtsp": "other", "rtsps": "other"}


@dataclass(frozen=True)
class MergeOptions:
    home_id: str = "scanned-home"
    targets: str = ""
    at: str | None = None
    tool: str = TOOL


@dataclass
class MergeReport:
    """What the merge did, for the summary printed after a scan."""

    matched: list[tuple[str, str, str]] = field(default_factory=list)
    added: list[tuple[str, str, str]] = field(default_factory=list)
    forwards: int = 0


def merge_observations(observations: Observations, base: SystemModel | None, options: MergeOptions) -> tuple[SystemModel, MergeReport]:
    """The model with every observation merged in, and a report of what was matched and added."""
    model = base.model_copy(deep=True) if base is not None else _empty_model(options)
    report = MergeReport()
    hosts = observations.sorted_hosts()
    matches = match_hosts(hosts, [*model.gateways, *model.devices])
    used_ids = {
        e.id
        for section in (model.users, model.zones, model.networks, model.gateways, model.devices, model.services, model.flows)
        for e in section
    }
    by_address: dict[str, Element] = {}
    for host in hosts:
        match = matches.get(host.address)
        if match is not None:
            element = match.element
            report.matched.append((host.address, element.id, match.by))
            note = f"matched by {match.by}"
        else:
            element = _new_element(host, used_ids, options, "not in the model: found on the network")
            report.added.append((host.address, element.id, "gateway" if isinstance(element, Gateway) else "device"))
            (model.gateways if isinstance(element, Gateway) else model.devices).append(element)  # type: ignore[arg-type]
            note = ""
        _fill_identity(element, host)
        for service in host.sorted_services():
            _merge_endpoint(element, service, _exposure(host.address), _provenance(options, note, *service.notes, *_tls_notes(service)))
            if service.default_login:
                _add_default_login(element, service, _provenance(options, f"user '{service.default_login}' from domosec's default list"))
        if host.gateway is not None and isinstance(element, Gateway):
            element.upnp = True
        by_address[host.address] = element
    for host in hosts:
        element = by_address[host.address]
        if host.gateway is not None and isinstance(element, Gateway):
            for mapping in sorted(host.gateway.mappings, key=lambda m: (m.external_port, m.protocol)):
                if mapping.enabled:
                    target = _target_of(mapping, model, by_address, used_ids, options, report)
                    _add_forward(element, target, mapping, options)
                    report.forwards += 1
    return model, report


def _empty_model(options: MergeOptions) -> SystemModel:
    about = f"Built by {options.tool} from {options.targets}." if options.targets else f"Built by {options.tool}."
    return SystemModel(system=System(id=options.home_id, name="Home network as scanned", description=about))


def _provenance(options: MergeOptions, *notes: str) -> Provenance:
    return Provenance(source="observed", tool=options.tool, detail="; ".join(n for n in notes if n), at=options.at)


def _new_element(host: Host, used_ids: set[str], options: MergeOptions, why: str) -> Element:
    base = "host-" + host.address.replace(".", "-").replace(":", "-")
    ident, n = base, 2
    while ident in used_ids:
        ident, n = f"{base}-{n}", n + 1
    used_ids.add(ident)
    provenance = _provenance(options, why)
    name = sorted(host.names)[0] if host.names else ""
    if host.gateway is not None:
        return Gateway(id=ident, name=name, kind="router", provenance=provenance)
    return Device(id=ident, name=name, type=guess_device_type(host), provenance=provenance)


def guess_device_type(host: Host) -> str:
    """A device type from what the host announces and serves; ``other`` when nothing tells."""
    mdns = host.mdns_services
    upnp = " ".join(host.upnp_types)
    protocols = {s.protocol for s in host.services.values()}
    if protocols & {"rtsp", "rtsps"} or "_rtsp._tcp" in mdns or "Camera" in upnp:
        return "camera"
    if mdns & {"_googlecast._tcp", "_airplay._tcp", "_raop._tcp", "_spotify-connect._tcp"} or "MediaRenderer" in upnp:
        return "tv_media"
    if "_home-assistant._tcp" in mdns or 8123 in {s.port for s in host.services.values()}:
        return "hub"
    return "other"


def _fill_identity(element: Element, host: Host) -> None:
    if not element.ip:
        element.ip = host.address
    if host.mac and not element.mac:
        element.mac = host.mac
    if host.hostnames and not element.hostname:
        element.hostname = sorted(host.hostnames)[0]
    if host.vendor and not element.vendor:
        element.vendor = host.vendor
    if host.model and not element.model:
        element.model = host.model


def _exposure(address: str) -> str:
    return "local" if ipaddress.ip_address(address).is_loopback else "lan"


def endpoint_facts(service: Service) -> dict[str, Any]:
    """The model's endpoint fields for one observed service (unknown facts left out)."""
    protocol = service.protocol if service.protocol in PROTOCOLS else "other"
    facts: dict[str, Any] = {
        "protocol": protocol,
        "port": service.port,
        "transport": service.transport,
        "purpose": PURPOSES.get(protocol, "other"),
    }
    if service.authentication is not None:
        facts["authentication"] = service.authentication
    report = service.tls_report
    if service.tls and report is not None:
        lowest = report.lowest
        if lowest is not None:
            facts["tls"] = "ssl3" if lowest == "ssl2" else lowest
        if report.certificate is not None:
            facts["certificate"] = report.certificate
        facts["weak_ciphers"] = bool(report.weak_ciphers)
    elif not service.tls and protocol in TLS_LAYERED and (service.transport == "tcp" or protocol == "coap"):
        facts["tls"] = "none"
    if service.banner:
        facts["banner"] = service.banner
    return facts


def _tls_notes(service: Service) -> list[str]:
    report = service.tls_report
    if not service.tls or report is None:
        return []
    notes = [f"TLS versions accepted: {', '.join(report.versions) or 'none'}"]
    if report.weak_ciphers:
        notes.append(f"weak suites accepted: {', '.join(report.weak_ciphers[:4])}" + (" …" if len(report.weak_ciphers) > 4 else ""))
    if report.certificate_detail:
        notes.append(report.certificate_detail)
    return notes


def _merge_endpoint(element: Element, service: Service, exposure: str, provenance: Provenance) -> None:
    facts = endpoint_facts(service)
    for index, existing in enumerate(element.endpoints):
        same_port = existing.port == service.port and existing.transport == service.transport
        same_service = existing.port is None and existing.protocol == facts["protocol"]
        if same_port or same_service:
            merged = existing.model_dump()
            if facts["protocol"] == "other":
                facts.pop("protocol")
            merged.update(facts)
            merged.update(purpose=existing.purpose if existing.purpose != "other" else facts.get("purpose", "other"))
            merged.update(exposure="internet" if existing.exposure == "internet" else exposure, provenance=provenance)
            element.endpoints[index] = Endpoint.model_validate(merged)
            return
    element.endpoints.append(Endpoint.model_validate({**facts, "exposure": exposure, "provenance": provenance}))


def _add_default_login(element: Element, service: Service, provenance: Provenance) -> None:
    kind = CREDENTIAL_KINDS.get(service.protocol, "other")
    element.credentials.append(
        Credential.model_validate(
            {"kind": kind, "factory_default": True, "unique_per_device": False, "strength": "weak", "provenance": provenance}
        )
    )


def _target_of(
    mapping: PortMapping, model: SystemModel, by_address: dict[str, Element], used_ids: set[str], options: MergeOptions, report: MergeReport
) -> Element:
    if mapping.internal_client in by_address:
        return by_address[mapping.internal_client]
    known: list[Element] = [*model.gateways, *model.devices]
    for candidate in known:
        if candidate.ip and candidate.ip == mapping.internal_client:
            return candidate
    host = Host(mapping.internal_client)
    element = _new_element(host, used_ids, options, "not in the model: seen only as the target of a UPnP port mapping")
    element.ip = mapping.internal_client
    model.devices.append(element)  # type: ignore[arg-type]
    report.added.append((mapping.internal_client, element.id, "device"))
    by_address[mapping.internal_client] = element
    return element


def _add_forward(gateway: Gateway, target: Element, mapping: PortMapping, options: MergeOptions) -> None:
    detail = f"UPnP port mapping on {gateway.ip or gateway.id}" + (f" ('{mapping.description}')" if mapping.description else "")
    provenance = _provenance(options, detail)
    forward = PortForward(
        target=target.id,
        external_port=mapping.external_port,
        internal_port=mapping.internal_port,
        transport=mapping.protocol,
        via_upnp=True,
        provenance=provenance,
    )
    gateway.port_forwards = [
        f for f in gateway.port_forwards if not (f.external_port == mapping.external_port and f.transport == mapping.protocol)
    ] + [forward]
    for index, endpoint in enumerate(target.endpoints):
        if endpoint.port == mapping.internal_port and endpoint.transport == mapping.protocol:
            target.endpoints[index] = Endpoint.model_validate(
                {
                    **endpoint.model_dump(),
                    "exposure": "internet",
                    "provenance": _provenance(options, detail, endpoint.provenance.detail if endpoint.provenance else ""),
                }
            )
            return
    guessed = usual_protocol(mapping.internal_port, mapping.protocol) or "other"  # not scanned: the port table's guess
    target.endpoints.append(
        Endpoint.model_validate(
            {
                "protocol": guessed,
                "port": mapping.internal_port,
                "transport": mapping.protocol,
                "exposure": "internet",
                "purpose": PURPOSES.get(guessed, "other"),
                "provenance": provenance,
            }
        )
    )
