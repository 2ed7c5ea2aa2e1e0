"""From the flow table to what a person reads: each flow's destination, and the findings of the capture.

A destination's name is, in order of trust, the TLS SNI, the HTTP Host, then a name a DNS answer in
the same capture gave the address. Findings are facts, never secrets: a login sent in clear is
reported by how it was sent (``HTTP Basic authorization``), never with the user name or password.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from domosec.evidence.traffic import payload
from domosec.evidence.traffic.capture import ReadStats
from domosec.evidence.traffic.destinations import TrackerLists, registered_domain
from domosec.evidence.traffic.flows import Flow, FlowTable, is_local
from domosec.evidence.traffic.geoip import GeoIP
from domosec.evidence.traffic.presence import MAX_CELLS, MAX_SPAN_BINS, PresenceFact, presence_facts

OLD_TLS = frozenset({"ssl3", "tls1.0", "tls1.1"})


@dataclass(frozen=True)
class Destination:
    """Who a flow's server is: an address, the name it went by, its registered domain and tracker list."""

    address: str
    name: str
    domain: str
    local: bool
    tracker: str = ""
    owner: str = ""  # the company behind the name, from Tracker Radar or a tracker blocklist's entities
    categories: tuple[str, ...] = ()  # Tracker Radar categories
    country: str = ""  # ISO 3166 code from --geoip


@dataclass(frozen=True)
class Finding:
    """One thing the capture shows: ``kind`` is a stable code, ``detail`` a sentence with no secret in it."""

    kind: str
    device: str
    detail: str


@dataclass
class Analysis:
    """The flows with their destinations, and the findings, of one capture."""

    table: FlowTable
    stats: ReadStats
    destinations: dict[str, Destination] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    entropy: dict[int, float] = field(default_factory=dict)  # id(flow) → payload bits per byte (unknown protocols)
    presence: list[PresenceFact] = field(default_factory=list)

    def looks_encrypted(self, flow: Flow) -> bool | None:
        """For an unknown protocol, whether its payload looks encrypted by entropy; None when unmeasured or known."""
        return payload.looks_encrypted(self.entropy.get(id(flow)))

    def destination(self, flow: Flow) -> Destination:
        return self.destinations[flow.server]


def name_of(flow: Flow, table: FlowTable) -> str:
    """The name the flow's server went by (SNI, Host header, DNS answer), or ``""``."""
    if flow.sni:
        return flow.sni
    host = flow.http_host.rsplit(":", 1)[0] if flow.http_host and not flow.http_host.startswith("[") else flow.http_host
    if host and not _is_address(host):
        return host
    names = table.answers.get(flow.server)
    return sorted(names)[0] if names else ""


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def analyse(table: FlowTable, stats: ReadStats, trackers: TrackerLists | None = None, geoip: GeoIP | None = None) -> Analysis:
    """Destinations and findings of every flow, in a stable order."""
    result = Analysis(table, stats)
    for flow in table.sorted_flows():
        name = name_of(flow, table)
        known = result.destinations.get(flow.server)
        if known is None or (name and not known.name):
            local = is_local(flow.server)
            domain = registered_domain(name) if name else ""
            tracker = (trackers.match(name) if trackers and name else "") or (known.tracker if known else "")
            owner = (trackers.owner(name) if trackers and name else "") or (known.owner if known else "")
            categories = (trackers.categories_of(name) if trackers and name else ()) or (known.categories if known else ())
            country = geoip.country(flow.server) if geoip is not None and not local else ""
            result.destinations[flow.server] = Destination(flow.server, name, domain, local, tracker, owner, categories, country)
        if flow.protocol == "other" and flow.sample:
            measured = payload.entropy(flow.sample)
            if measured is not None:
                result.entropy[id(flow)] = measured
        flow.sample = b""  # measured: the bytes are not kept
    seen: dict[tuple[str, str], dict[str, int]] = {}  # (device, where) → marker kind → count, over its connections
    for flow in table.sorted_flows():
        dest, entropy = result.destinations[flow.server], result.entropy.get(id(flow))
        result.findings.extend(_flow_findings(flow, dest, entropy))
        if flow.markers and not flow.encrypted and not payload.looks_encrypted(entropy):
            counts = seen.setdefault((flow.client, _where(flow, dest)), {})
            for kind, n in flow.markers.items():
                counts[kind] = counts.get(kind, 0) + n
    for (device, where), counts in seen.items():
        personal = ", ".join(f"{kind} ×{n}" for kind, n in sorted(counts.items()) if kind != "presence event")
        if personal:
            result.findings.append(Finding("personal-data-in-clear", device, f"{personal} seen in clear ({where})"))
        if "presence event" in counts:
            events = counts["presence event"]
            result.findings.append(
                Finding("presence-events-in-clear", device, f"{events} motion, door or occupancy message(s) in clear ({where})")
            )
    receivers = frozenset(flow.server for flow in table.flows.values() if "presence event" in flow.markers)
    result.presence = presence_facts(table.activity, receivers)
    result.findings.extend(Finding(fact.kind, fact.host, fact.detail) for fact in result.presence)
    if table.activity.dropped:
        stats.warnings.append(
            f"more than {MAX_CELLS} (host, 5-minute bin) cells: {table.activity.dropped} bytes left out of the presence heuristics"
        )
    if table.activity.unsampled:
        stats.warnings.append(f"{table.activity.unsampled} flows of unknown protocols over the entropy sample budget: not judged")
    if table.activity.span() > MAX_SPAN_BINS:
        stats.warnings.append("the packets span more than 31 days (or a time stamp is wrong): presence heuristics not applied")
    result.findings = sorted(set(result.findings), key=lambda f: (f.device, f.kind, f.detail))
    return result


def _where(flow: Flow, dest: Destination) -> str:
    return f"{flow.protocol} to {dest.name or flow.server}:{flow.server_port}"


def _flow_findings(flow: Flow, dest: Destination, entropy: float | None) -> list[Finding]:
    where = _where(flow, dest)
    found = [Finding("cleartext-credentials", flow.client, f"{kind} seen in clear ({where})") for kind in sorted(flow.credentials)]
    if entropy is not None and not payload.looks_encrypted(entropy) and not dest.local:
        detail = f"{where}: unknown protocol, payload entropy {entropy:.2f} bits/byte (clear below {payload.ENTROPY_THRESHOLD})"
        found.append(Finding("unknown-protocol-clear", flow.client, detail))
    if flow.tls_version in OLD_TLS:
        found.append(Finding("old-tls", flow.client, f"{flow.tls_version} negotiated ({where})"))
    if flow.protocol == "dns" and not dest.local and is_local(flow.client):
        found.append(Finding("clear-dns-outside", flow.client, f"DNS in clear to the outside resolver {flow.server}"))
    if dest.tracker:
        owner = f" ({dest.owner}{': ' + ', '.join(dest.categories) if dest.categories else ''})" if dest.owner else ""
        found.append(Finding("tracker", flow.client, f"{dest.name} is on the tracker list {dest.tracker}{owner}"))
    if not flow.encrypted and not dest.local and flow.protocol not in ("dns", "ntp", "other") and flow.transport_name == "tcp":
        found.append(Finding("cleartext-to-internet", flow.client, f"{where} unencrypted"))
    return found


def flow_rows(analysis: Analysis) -> list[dict[str, Any]]:
    """The flow table as plain rows (the ``--format json`` output): no payload, no credential."""
    return list(iter_flow_rows(analysis))


def hosts_rows(analysis: Analysis) -> list[dict[str, Any]]:
    """Each local host: MAC address, names (DHCP, mDNS), the DNS names it asked for, what it announced in SSDP."""
    return list(iter_hosts_rows(analysis))


def iter_flow_rows(analysis: Analysis) -> Iterator[dict[str, Any]]:
    """The rows of :func:`flow_rows`, made one at a time."""
    for flow in analysis.table.sorted_flows():
        dest = analysis.destinations[flow.server]
        yield (
            {
                "transport": flow.transport_name,
                "client": flow.client,
                "client_port": flow.client_port,
                "client_mac": flow.client_mac,
                "server": flow.server,
                "server_port": flow.server_port,
                "server_mac": flow.server_mac,
                "packets": flow.packets,
                "bytes": flow.bytes,
                "first_seen_ns": flow.first_ns,
                "last_seen_ns": flow.last_ns,
                "protocol": flow.protocol,
                "encrypted": flow.encrypted,
                "tls_version": flow.tls_version or None,
                "sni": flow.sni or None,
                "http_host": flow.http_host or None,
                "user_agent": flow.user_agent or None,
                "destination": dest.name or None,
                "registered_domain": dest.domain or None,
                "tracker_list": dest.tracker or None,
                "owner": dest.owner or None,
                "tracker_categories": list(dest.categories),
                "country": dest.country or None,
                "credentials_seen": sorted(flow.credentials),
                "personal_data_seen": dict(sorted(flow.markers.items())),
                "payload_entropy": round(analysis.entropy[id(flow)], 2) if id(flow) in analysis.entropy else None,
                "looks_encrypted": analysis.looks_encrypted(flow),
                "fragments": flow.fragments,
            }
        )


def iter_hosts_rows(analysis: Analysis) -> Iterator[dict[str, Any]]:
    """The rows of :func:`hosts_rows`, made one at a time."""
    table = analysis.table
    for address in sorted(table.hosts, key=lambda a: (ipaddress.ip_address(a).version, int(ipaddress.ip_address(a)))):
        info = table.hosts[address]
        names = set(info.hostnames)
        if info.mac in table.dhcp_names:
            names.add(table.dhcp_names[info.mac])
        yield {
            "address": address,
            "mac": info.mac,
            "hostnames": sorted(names),
            "dns_asked": sorted(info.asked),
            "ssdp_servers": sorted(info.announced[0]) if info.announced else [],
            "ssdp_types": sorted(info.announced[1]) if info.announced else [],
        }


def write_document(analysis: Analysis, write: Callable[[bytes], object]) -> None:
    """The whole result for ``--format json`` (capture statistics, findings, flows and hosts), handed to ``write`` in
    pieces as the rows are made, so the flow table is never held twice: the same bytes as one indented document
    with sorted keys."""
    stats, table = analysis.stats, analysis.table
    capture = {
        "format": stats.format,
        "packets": stats.packets,
        "interfaces": stats.interfaces,
        "not_ip": table.not_ip,
        "ip_fragments": table.fragments,
        "packets_of_flows_over_limit": table.overflow_packets,
        "unknown_link_types": sorted(table.unknown_linktypes),
        "warnings": stats.warnings,
    }
    findings = ({"kind": f.kind, "device": f.device, "detail": f.detail} for f in analysis.findings)
    write(b'{\n  "capture": ' + _dumps(capture).replace(b"\n", b"\n  "))
    for key, rows in (("findings", findings), ("flows", iter_flow_rows(analysis)), ("hosts", iter_hosts_rows(analysis))):
        write(f',\n  "{key}": ['.encode())
        empty = True
        for row in rows:
            write((b"\n    " if empty else b",\n    ") + _dumps(row).replace(b"\n", b"\n    "))
            empty = False
        write(b"]" if empty else b"\n  ]")
    write(b"\n}\n")


def _dumps(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
