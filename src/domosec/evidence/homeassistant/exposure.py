"""How Home Assistant is reachable: its HTTP server and the Nabu Casa remote UI.

Where the HTTP settings live depends on the release:

- up to 2026.7, ``http:`` in ``configuration.yaml`` is authoritative; ``.storage/http`` (format 1)
  is a copy of the last configuration that worked, used here only when the YAML has no ``http:``;
- from 2026.8, ``.storage/http`` (formats 2 and 3) is authoritative once the YAML has been
  migrated into it: it holds a ``stable`` configuration and, while a change is on trial, a
  ``pending`` one that the server runs with; until the migration, ``http:`` in YAML still applies.

The cloud login itself (``.cloud/*_auth.json``) is a secret: only its presence is checked.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from domosec.evidence.homeassistant.files import ConfigDir
from domosec.evidence.homeassistant.storage import Store
from domosec.evidence.homeassistant.yaml_config import Secret

DEFAULT_PORT = 8123


@dataclass(frozen=True)
class HttpSettings:
    source: str
    hosts: tuple[str, ...]
    port: int
    tls: bool
    client_certificates: bool
    ip_ban_enabled: bool
    login_attempts_threshold: int
    forwarded_for: bool
    trusted_proxies: tuple[str, ...]
    ssl_profile: str

    @property
    def loopback_only(self) -> bool:
        return bool(self.hosts) and all(_is_loopback(h) for h in self.hosts)

    @property
    def exposure(self) -> str:
        return "local" if self.loopback_only else "lan"

    @property
    def brute_force_protection(self) -> bool:
        return self.ip_ban_enabled and self.login_attempts_threshold > 0


@dataclass(frozen=True)
class CloudState:
    configured: bool
    logged_in: bool
    remote_enabled: bool
    alexa_enabled: bool
    google_enabled: bool


def http_settings(config: ConfigDir, yaml_http: Any, store: Store | None) -> HttpSettings:
    """The HTTP settings the server runs with, and where they were read."""
    migrated = store is not None and isinstance(store.data, dict) and store.data.get("yaml_migration_done") is True
    if store is not None and store.version >= 2 and isinstance(store.data, dict) and (migrated or not isinstance(yaml_http, dict)):
        pending = store.data.get("pending")
        if isinstance(pending, dict):
            return _settings(pending, f"{store.file} (pending configuration, format {store.format})")
        stable = store.data.get("stable")
        if isinstance(stable, dict):
            return _settings(stable, f"{store.file} (stable configuration, format {store.format})")
    if isinstance(yaml_http, dict):
        return _settings(yaml_http, config.show("configuration.yaml") + " (http:)")
    if store is not None and isinstance(store.data, dict):
        return _settings(store.data, f"{store.file} (last working configuration, format {store.format})")
    return _settings({}, "Home Assistant's defaults (no http: settings found)")


def _settings(conf: dict[str, Any], source: str) -> HttpSettings:
    hosts = conf.get("server_host")
    host_list = [hosts] if isinstance(hosts, str) else hosts if isinstance(hosts, list) else []
    port = conf.get("server_port")
    threshold = conf.get("login_attempts_threshold")
    proxies = conf.get("trusted_proxies")
    return HttpSettings(
        source=source,
        hosts=tuple(str(h) for h in host_list if isinstance(h, str)),
        port=port if isinstance(port, int) else DEFAULT_PORT,
        tls=_is_set(conf.get("ssl_certificate")),
        client_certificates=_is_set(conf.get("ssl_peer_certificate")),
        ip_ban_enabled=conf.get("ip_ban_enabled", True) is not False,
        login_attempts_threshold=threshold if isinstance(threshold, int) else -1,
        forwarded_for=conf.get("use_x_forwarded_for") is True,
        trusted_proxies=tuple(str(p) for p in proxies) if isinstance(proxies, list) else (),
        ssl_profile=str(conf.get("ssl_profile") or ""),
    )


def _is_set(value: Any) -> bool:
    if isinstance(value, Secret):
        return value.is_set
    return isinstance(value, str) and bool(value.strip())


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cloud_state(config: ConfigDir, store: Store | None, yaml_config: dict[str, Any]) -> CloudState:
    prefs = store.data if store is not None and isinstance(store.data, dict) else {}
    logged_in = any(config.exists(f".cloud/{mode}_auth.json") for mode in ("production", "development"))
    configured = store is not None or "cloud" in yaml_config or "default_config" in yaml_config
    return CloudState(
        configured=configured,
        logged_in=logged_in,
        remote_enabled=prefs.get("remote_enabled") is True,
        alexa_enabled=logged_in and prefs.get("alexa_enabled", True) is True,
        google_enabled=logged_in and prefs.get("google_enabled", True) is True,
    )
