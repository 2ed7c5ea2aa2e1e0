"""What a running instance answers, mapped as a file import would be: the parts the live Home Assistant test cannot reach.

The test instance runs without network, so it is never logged in to Home Assistant Cloud; here the
answers of ``cloud/status`` (reduced to what :mod:`live` keeps) are given directly.
"""

from __future__ import annotations

from domosec.evidence.homeassistant.exposure import CloudState
from domosec.evidence.homeassistant.live import LiveFacts, snapshot_of
from domosec.evidence.homeassistant.live_import import import_facts
from domosec.evidence.homeassistant.websocket_client import parse_url
from tests.evidence.homeassistant.helpers import by_id, load_yaml

OWNER = {"id": "u1", "name": "Olivia Owner", "is_owner": True, "is_active": True, "system_generated": False, "group_ids": ["system-admin"]}


def facts(cloud: CloudState) -> LiveFacts:
    return LiveFacts(
        ha_version="2024.3.3",
        core={"location_name": "Cloud Home", "country": "NL", "auth_mfa_modules": [{"type": "totp"}]},
        components={"cloud"},
        stores={
            "core.device_registry": {"devices": []},
            "core.entity_registry": {"entities": []},
            "core.config_entries": {"entries": []},
            "core.area_registry": {"areas": []},
            "core.floor_registry": {"floors": []},
            "auth": {"users": [{**OWNER, "username": "olivia"}], "credentials": [], "refresh_tokens": []},
            "person": {"items": []},
        },
        current_user={"id": "u1", "name": "Olivia Owner", "is_admin": True, "mfa_modules": [{"id": "totp", "enabled": True}]},
        users_readable=True,
        cloud=cloud,
    )


def test_home_assistant_cloud_read_through_the_api_names_the_command() -> None:
    live = facts(CloudState(configured=True, logged_in=True, remote_enabled=True, alexa_enabled=True, google_enabled=False))
    result = import_facts(live, snapshot_of(live, parse_url("https://ha.example.test:8123")))
    model = load_yaml(result.text)
    services = by_id(model["services"])
    assert services["nabu-casa"]["linked_accounts"] == [{"service": "amazon-alexa"}] and "google-assistant" not in services
    endpoints = by_id(model["gateways"])["home-assistant"]["endpoints"]
    assert [(e["protocol"], e["port"], e["exposure"]) for e in endpoints] == [("https", 8123, "lan"), ("https", 443, "internet")]
    assert "tls" in endpoints[0] and endpoints[0]["tls"] != "none"
    details = [e["provenance"]["detail"] for e in [*model["services"], *model["flows"], *endpoints]]
    assert any("cloud/status" in d for d in details)
    assert [d for d in details if ".storage" in d or ".cloud/" in d] == []
    assert [u["mfa"] for u in model["users"]] == [True]  # the token's own user: its two-factor state is known


def test_not_logged_in_to_the_cloud_gives_no_cloud_service() -> None:
    live = facts(CloudState(configured=True, logged_in=False, remote_enabled=False, alexa_enabled=False, google_enabled=False))
    model = load_yaml(import_facts(live, snapshot_of(live, parse_url("http://127.0.0.1:8123"))).text)
    assert "nabu-casa" not in by_id(model["services"])
    assert [e["port"] for e in by_id(model["gateways"])["home-assistant"]["endpoints"]] == [8123]
