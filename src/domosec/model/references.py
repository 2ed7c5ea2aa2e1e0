"""Check references between elements: every ID a model names must be defined, once.

Works on the raw parsed data, so it runs even when some elements failed validation and
every problem of a file is reported in one run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from domosec.errors import Diagnostic, did_you_mean
from domosec.model.diagnose import format_path
from domosec.model.source import Path_, SourceDocument

ELEMENT_SECTIONS = ("users", "zones", "networks", "gateways", "devices", "services", "flows")


def check_references(doc: SourceDocument) -> list[Diagnostic]:
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[Diagnostic] = []
    ids: dict[str, dict[str, Path_]] = {section: {} for section in ELEMENT_SECTIONS}
    first_seen: dict[str, Path_] = {}
    for section, index, item in _items(data, ELEMENT_SECTIONS):
        ident = item.get("id")
        if not isinstance(ident, str):
            continue
        path: Path_ = (section, index, "id")
        if ident in first_seen:
            where = doc.position(first_seen[ident])
            at = f" (first defined at line {where[0]})" if where else ""
            problems.append(_diag(doc, path, "duplicate-id", f"the ID '{ident}' is already used{at}; IDs must be unique across the model"))
            continue
        first_seen[ident] = path
        ids[section][ident] = path

    known_by_sections: dict[tuple[str, ...], set[str]] = {}

    def ref(path: Path_, value: Any, sections: tuple[str, ...], what: str) -> None:
        if not isinstance(value, str):
            return
        known = known_by_sections.get(sections)
        if known is None:
            known = known_by_sections[sections] = {i for s in sections for i in ids[s]}
        if value in known:
            return
        hint = did_you_mean(value, known)
        if value in first_seen:
            message = f"'{value}' is not a {what} (it is defined in {first_seen[value][0]})"
        else:
            message = f"{what} '{value}' is not defined"
        problems.append(_diag(doc, path, "unknown-reference", message, hint))

    for section in ("gateways", "devices"):
        for _, index, item in _items(data, (section,)):
            ref((section, index, "zone"), item.get("zone"), ("zones",), "zone")
            for n, net in _list(item.get("networks")):
                ref((section, index, "networks", n), net, ("networks",), "network")
            if section == "devices":
                ref((section, index, "gateway"), item.get("gateway"), ("gateways",), "gateway")
            for n, bridge in _list(item.get("bridges")):
                if isinstance(bridge, dict):
                    ref((section, index, "bridges", n, "service"), bridge.get("service"), ("services",), "service")
            for n, forward in _list(item.get("port_forwards")):
                if isinstance(forward, dict):
                    ref((section, index, "port_forwards", n, "target"), forward.get("target"), ("devices", "gateways"), "device or gateway")
    for _, index, item in _items(data, ("networks",)):
        ref(("networks", index, "gateway"), item.get("gateway"), ("gateways",), "gateway")
    for _, index, item in _items(data, ("users",)):
        for n, svc in _list(item.get("services")):
            ref(("users", index, "services", n), svc, ("services",), "service")
        for n, dev in _list(item.get("devices")):
            if isinstance(dev, dict):
                ref(("users", index, "devices", n, "device"), dev.get("device"), ("devices",), "device")
            else:
                ref(("users", index, "devices", n), dev, ("devices",), "device")
    for _, index, item in _items(data, ("services",)):
        for n, link in _list(item.get("linked_accounts")):
            if isinstance(link, dict):
                ref(("services", index, "linked_accounts", n, "service"), link.get("service"), ("services",), "service")
    endpoints = ("users", "gateways", "devices", "services")
    for _, index, item in _items(data, ("flows",)):
        ref(("flows", index, "from"), item.get("from"), endpoints, "user, gateway, device or service")
        ref(("flows", index, "to"), item.get("to"), endpoints, "user, gateway, device or service")
        if isinstance(item.get("from"), str) and item.get("from") == item.get("to"):
            problems.append(_diag(doc, ("flows", index, "to"), "self-flow", f"flow goes from '{item['to']}' to itself"))
        for n, net in _list(item.get("via")):
            ref(("flows", index, "via", n), net, ("networks",), "network")
    seen_controls: dict[str, Path_] = {}
    for _, index, item in _items(data, ("controls",)):
        cid = item.get("id")
        if isinstance(cid, str) and cid in seen_controls:
            problems.append(_diag(doc, ("controls", index, "id"), "duplicate-id", f"control {cid} is declared twice"))
        elif isinstance(cid, str):
            seen_controls[cid] = ("controls", index)
    all_ids = set(first_seen)
    system = data.get("system")
    if isinstance(system, dict) and isinstance(system.get("id"), str):
        all_ids.add(system["id"])
    for _, index, item in _items(data, ("automations",)):
        ref(("automations", index, "runs_on"), item.get("runs_on"), ("gateways", "services"), "gateway or service")
        ref(("automations", index, "source"), item.get("source"), ("devices", "users"), "device or user")
        ref(("automations", index, "target"), item.get("target"), ("devices",), "device")
    for _, index, item in _items(data, ("accepted_risks",)):
        asset = item.get("asset", "*")
        if isinstance(asset, str) and asset != "*" and asset not in all_ids:
            problems.append(
                _diag(
                    doc,
                    ("accepted_risks", index, "asset"),
                    "unknown-reference",
                    f"asset '{asset}' is not defined",
                    did_you_mean(asset, all_ids),
                )
            )
    return problems


def _items(data: dict[str, Any], sections: tuple[str, ...]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    for section in sections:
        for index, item in _list(data.get(section)):
            if isinstance(item, dict):
                yield section, index, item


def _list(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def _diag(doc: SourceDocument, path: Path_, code: str, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic.at(doc.file, doc.position(path), code, message, path=format_path(path[:-1] if path[-1] == "id" else path), hint=hint)
