"""Services and flows: the login to Home Assistant, cloud integrations and Home Assistant Cloud.

- ``home-assistant-app``: the web and mobile-app login every user has, with its two-factor and
  lock-out settings;
- ``cloud-<domain>``: one service per integration whose ``iot_class`` is ``cloud_polling`` or
  ``cloud_push``, with a flow from each of its devices (or from the Home Assistant host when the
  integration has no device) carrying the data categories of their entities. These flows are
  *inferred* from the iot_class, not observed: their provenance says so;
- ``nabu-casa``: Home Assistant Cloud when logged in (remote UI, voice assistants).
"""

from __future__ import annotations

import re
from typing import Any

from domosec.evidence.homeassistant import classify
from domosec.evidence.homeassistant.ids import slug
from domosec.evidence.homeassistant.mapping import APP_SERVICE_ID, GATEWAY_ID, LAN_ID, Mapped, provenance
from domosec.evidence.homeassistant.read import Snapshot

_KIND_BY_TYPE = {"hub": "cloud_backend", "device": "cloud_backend", "service": "third_party"}
_VOICE = {"alexa": ("amazon-alexa", "Amazon Alexa", "Amazon"), "google": ("google-assistant", "Google Assistant", "Google")}


def add_services(snap: Snapshot, mapped: Mapped) -> None:
    services: list[dict[str, Any]] = [_app_service(snap)]
    flows: list[dict[str, Any]] = []
    if snap.registries.entries_read:
        _cloud_integrations(snap, mapped, services, flows)
    else:
        _cloud_from_devices(snap, mapped, services, flows)
    _home_assistant_cloud(snap, services, flows)
    mapped.data["services"] = sorted(services, key=lambda s: s["id"])
    mapped.data["flows"] = sorted(({k: v for k, v in f.items() if v != []} for f in flows), key=lambda f: f["id"])


def _app_service(snap: Snapshot) -> dict[str, Any]:
    accounts = snap.accounts
    auth: dict[str, Any] = {"per_member_accounts": True, "brute_force_protection": snap.http.brute_force_protection}
    if accounts.known:
        auth["mfa"] = "optional" if accounts.mfa_modules else "none"
    return {
        "id": APP_SERVICE_ID,
        "name": "Home Assistant login (web and companion app)",
        "kind": "mobile_app",
        "subsystem": "access_communication",
        "operator": "the household",
        "auth": auth,
        "provenance": provenance(
            f"auth providers: {', '.join(accounts.providers)}; two-factor modules: {', '.join(accounts.mfa_modules) or 'none'}; "
            f"lock-out after failed logins: {'on' if snap.http.brute_force_protection else 'off'}"
        ),
    }


def _cloud_integrations(snap: Snapshot, mapped: Mapped, services: list[dict[str, Any]], flows: list[dict[str, Any]]) -> None:
    reg = snap.registries
    by_domain: dict[str, list[str]] = {}
    unknown: set[str] = set()
    for entry in reg.entries.values():
        if entry.disabled:
            continue
        integration = snap.integrations.get(entry.domain)
        if integration is None:
            unknown.add(entry.domain)
            continue
        if integration.is_cloud:
            by_domain.setdefault(entry.domain, []).append(entry.entry_id)
    if unknown:
        snap.config.warn(
            snap.config.show(".storage/core.config_entries"),
            "ha-unknown-integration",
            f"iot_class unknown for {', '.join(sorted(unknown))} (not in the Home Assistant {snap.integrations.release} table, "
            "no custom manifest); no cloud flows inferred for them",
        )
    for domain in sorted(by_domain):
        integration = snap.integrations.get(domain)
        if integration is None:
            continue
        entry_ids = sorted(by_domain[domain])
        service_id = f"cloud-{slug(domain)}"
        titles = sorted({reg.entries[e].title for e in entry_ids if _shareable(reg.entries[e].title)})
        services.append(
            {
                "id": service_id,
                "name": integration.name,
                "kind": _KIND_BY_TYPE.get(integration.integration_type, "cloud_backend"),
                "subsystem": "application_service",
                "provenance": provenance(
                    f"integration '{domain}' ({len(entry_ids)} config entr{'y' if len(entry_ids) == 1 else 'ies'}"
                    + (f": {', '.join(titles)}" if titles else "")
                    + f") has iot_class {integration.iot_class} ({integration.source})"
                ),
            }
        )
        inferred = f"inferred from iot_class {integration.iot_class} of integration '{domain}'; not observed"
        devices = {d_id for d_id, d in reg.devices.items() if set(d.config_entries) & set(entry_ids)}
        if not _device_flows(snap, mapped, domain, service_id, devices, flows):
            entities = [e for e in reg.entities if e.config_entry_id in entry_ids and not e.disabled]
            flows.append(
                {
                    "id": f"{GATEWAY_ID}-to-{service_id}",
                    "from": GATEWAY_ID,
                    "to": service_id,
                    "via": [LAN_ID],
                    "data": classify.flow_data(entities),
                    "purpose": f"cloud integration {domain}",
                    "provenance": provenance(inferred),
                }
            )


_IDENTIFYING = re.compile(r"@|\d{4,}|[0-9a-f]{8,}|[0-9a-f]{2}([:-][0-9a-f]{2}){3,}", re.IGNORECASE)


def _shareable(title: str) -> bool:
    """Whether a config entry's title may be shown: it names the account or the place, so a title holding an
    e-mail address, an account or serial number (SimpliSafe's is the account number), a hex ID or a MAC address stays out."""
    return bool(title) and _IDENTIFYING.search(title) is None


def _device_flows(snap: Snapshot, mapped: Mapped, domain: str, service_id: str, device_ids: set[str], flows: list[dict[str, Any]]) -> int:
    """A flow from each imported device of ``device_ids`` to the cloud service; how many there are."""
    integration = snap.integrations.get(domain)
    iot_class = integration.iot_class if integration is not None else None
    inferred = f"inferred from iot_class {iot_class} of integration '{domain}'; not observed"
    devices = sorted((d for d in device_ids if f"device:{d}" in mapped.ids), key=lambda d: mapped.ids[f"device:{d}"])
    for device_id in devices:
        element_id = mapped.ids[f"device:{device_id}"]
        flow: dict[str, Any] = {
            "id": f"{element_id}-to-{service_id}",
            "from": element_id,
            "to": service_id,
            "data": classify.flow_data(snap.registries.entities_of(device_id)),
            "purpose": f"cloud integration {domain}",
            "provenance": provenance(inferred),
        }
        if mapped.device_networks.get(device_id):
            flow["via"] = mapped.device_networks[device_id]
        flows.append(flow)
    return len(devices)


def _cloud_from_devices(snap: Snapshot, mapped: Mapped, services: list[dict[str, Any]], flows: list[dict[str, Any]]) -> None:
    """Without ``core.config_entries``: the cloud integrations named by the imported devices themselves."""
    by_domain: dict[str, set[str]] = {}
    for device_id, domains in mapped.selection.integrations.items():
        for domain in domains:
            integration = snap.integrations.get(domain)
            if integration is not None and integration.is_cloud:
                by_domain.setdefault(domain, set()).add(device_id)
    for domain in sorted(by_domain):
        integration = snap.integrations.get(domain)
        assert integration is not None
        service_id = f"cloud-{slug(domain)}"
        services.append(
            {
                "id": service_id,
                "name": integration.name,
                "kind": _KIND_BY_TYPE.get(integration.integration_type, "cloud_backend"),
                "subsystem": "application_service",
                "provenance": provenance(
                    f"integration '{domain}' of {len(by_domain[domain])} device(s) (no core.config_entries: found from the devices' "
                    f"identifiers and entities) has iot_class {integration.iot_class} ({integration.source})"
                ),
            }
        )
        _device_flows(snap, mapped, domain, service_id, by_domain[domain], flows)


def _home_assistant_cloud(snap: Snapshot, services: list[dict[str, Any]], flows: list[dict[str, Any]]) -> None:
    cloud = snap.cloud
    if not cloud.logged_in:
        return
    linked = [(key, *names) for key, names in _VOICE.items() if (cloud.alexa_enabled if key == "alexa" else cloud.google_enabled)]
    service: dict[str, Any] = {
        "id": "nabu-casa",
        "name": "Home Assistant Cloud",
        "kind": "cloud_backend",
        "subsystem": "access_communication",
        "operator": "Nabu Casa",
        "provenance": provenance(
            "logged in to Home Assistant Cloud (.cloud/ login present, not read); "
            f"remote UI {'on' if cloud.remote_enabled else 'off'}; voice: {', '.join(v[2] for v in linked) or 'none'}"
        ),
    }
    if linked:
        service["linked_accounts"] = [{"service": v[1]} for v in linked]
    services.append(service)
    flows.append(
        {
            "id": f"{GATEWAY_ID}-to-nabu-casa",
            "from": GATEWAY_ID,
            "to": "nabu-casa",
            "via": [LAN_ID],
            "data": ["credentials", "usage_patterns"] if cloud.remote_enabled else ["usage_patterns"],
            "purpose": "Home Assistant Cloud" + (" remote UI relay" if cloud.remote_enabled else ""),
            "provenance": provenance("Home Assistant Cloud login and preferences (.storage/cloud)"),
        }
    )
    for _, service_id, name, operator in linked:
        services.append(
            {
                "id": service_id,
                "name": name,
                "kind": "voice_platform",
                "operator": operator,
                "provenance": provenance(f"{name} enabled in Home Assistant Cloud preferences (.storage/cloud)"),
            }
        )
        flows.append(
            {
                "id": f"nabu-casa-to-{service_id}",
                "from": "nabu-casa",
                "to": service_id,
                "data": ["usage_patterns", "telemetry"],
                "purpose": f"voice control through {name}",
                "provenance": provenance("inferred from the voice assistant preferences of Home Assistant Cloud; not observed"),
            }
        )
