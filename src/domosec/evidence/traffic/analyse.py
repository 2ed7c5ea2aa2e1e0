"""From the flow table to what a person reads: each flow's destination, and the findings of the capture.

A destination's name is, in order of trust, the TLS SNI, the HTTP Host, then a name a DNS answer in
the same capture gave the address. Findings are facts, never secrets: a login sent in clear is
reported by how it was sent (``HTTP Basic authorization``), never with the user name or password.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from domosec.evidence.traffic.capture import ReadStats
from domosec.evidence.traffic.destinations import TrackerLists, registered_domain
from domosec.evidence.traffic.flows import Flow, FlowTable, is_local

OLD_TLS = frozenset({"ssl3", "tls1.0", "tls1.1"})


@dataclass(frozen=True)
class Destination:
    """Who a flow's server is: an address, the name it went by, its registered domain and tracker list."""

    address: str
    name: str
    domain: str
    local: bool
    tracker: str = ""


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


def analyse(table: FlowTable, stats: ReadStats, trackers: TrackerLists | None = None) -> Analysis:
    """Destinations and findings of every flow, in a stable order."""
    result = Analysis(table, stats)
    for flow in table.sorted_flows():
        name = name_of(flow, table)
        known = result.destinations.get(flow.server)
        if known is None or (name and not known.name):
            domain = registered_domain(name) if name else ""
            tracker = (trackers.match(name) if trackers and name else "") or (known.tracker if known else "")
            result.destinations[flow.server] = Destination(flow.server, name, domain, is_local(flow.server), tracker)
    for flow in table.sorted_flows():
        result.findings.extend(_flow_findings(flow, result.destinations[flow.server]))
    result.findings = sorted(set(result.findings), key=lambda f: (f.device, f.kind, f.detail))
    return result


def _flow_findings(flow: Flow, dest: Destination) -> list[Finding]:
    where = f"{flow.protocol} to {dest.name or flow.server}:{flow.server_port}"
    found = [Finding("cleartext-credentials", flow.client, f"{kind} seen in clear ({where})") for kind in sorted(flow.credentials)]
    if flow.tls_version in OLD_TLS:
        found.append(Finding("old-tls", flow.client, f"{flow.tls_version} negotiated ({where})"))
    if flow.protocol == "dns" and not dest.local and is_local(flow.client):
        found.append(Finding("clear-dns-outside", flow.client, f"DNS in clear to the outside resolver {flow.server}"))
    if dest.tracker:
        found.append(Finding("tracker", flow.client, f"{dest.name} is on the tracker list {dest.tracker}"))
    if not flow.encrypted and not dest.local and flow.protocol not in ("dns", "ntp", "other") and flow.transport_name == "tcp":
        found.append(Finding("cleartext-to-internet", flow.client, f"{where} unencrypted"))
    return found


def flow_rows(analysis: Analysis) -> list[dict[str, Any]]:
    """The flow table as plain rows (the ``--format json`` output): no payload, no credential."""
    rows = []
    for flow in analysis.table.sorted_flows():
        dest = analysis.destinations[flow.server]
        rows.append(
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
                "credentials_seen": sorted(flow.credentials),
                "fragments": flow.fragments,
            }
        )
    return rows


def hosts_rows(analysis: Analysis) -> list[dict[str, Any]]:
    """Each local host: MAC address, names (DHCP, mDNS) and the DNS names it asked for."""
    table = analysis.table
    rows = []
    for address in sorted(table.hosts, key=lambda a: (ipaddress.ip_address(a).version, int(ipaddress.ip_address(a)))):
        info = table.hosts[address]
        names = set(info.hostnames)
        if info.mac in table.dhcp_names:
            names.add(table.dhcp_names[info.mac])
        rows.append({"address": address, "mac": info.mac, "hostnames": sorted(names), "dns_asked": sorted(info.asked)})
    return rows


def document(analysis: Analysis) -> dict[str, Any]:
    """The whole result for ``--format json``: capture statistics, hosts, flows and findings."""
    stats, table = analysis.stats, analysis.table
    return {
        "capture": {
            "format": stats.format,
            "packets": stats.packets,
            "interfaces": stats.interfaces,
            "not_ip": table.not_ip,
            "ip_fragments": table.fragments,
            "packets_of_flows_over_limit": table.overflow_packets,
            "unknown_link_types": sorted(table.unknown_linktypes),
            "warnings": stats.warnings,
        },
        "hosts": hosts_rows(analysis),
        "flows": flow_rows(analysis),
        "findings": [{"kind": f.kind, "device": f.device, "detail": f.detail} for f in analysis.findings],
    }
