"""Read the facts of a running Home Assistant through its WebSocket API, into the same snapshot the files give.

The answers are put into the shape of the ``.storage`` files (device, entity, area, floor and
config-entry registries; users, credentials and long-lived tokens of ``auth``; TOTP and notify
state; people) and read by the same functions, so :mod:`mapping` and :mod:`services` build the
same model. What the API does not show is left unknown, never guessed:

- the two-factor state of users other than the token's own user (``auth/current_user`` is the only
  command that tells it): their ``mfa`` is left unset;
- long-lived tokens of other users (``auth/refresh_tokens`` lists the caller's own only);
- the ``http:`` settings (listening address, lock-out after failed logins): the endpoint's port and
  TLS come from the URL, its exposure is Home Assistant's default (``lan``), its brute-force
  protection is left unset;
- with a non-administrator's token, all users (``config/auth/list`` needs an administrator).

Only the fields used are kept from each answer: ``get_config`` also holds the home's coordinates,
``cloud/status`` the account's e-mail address and webhook URLs; neither is kept.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from domosec.evidence.homeassistant.accounts import read_accounts
from domosec.evidence.homeassistant.exposure import CloudState, HttpSettings
from domosec.evidence.homeassistant.files import ConfigDir, HomeAssistantInputError, problem
from domosec.evidence.homeassistant.iot_classes import Integration, IntegrationCatalogue
from domosec.evidence.homeassistant.read import Snapshot
from domosec.evidence.homeassistant.registries import Registries, read_areas, read_devices, read_entities, read_entries, read_floors
from domosec.evidence.homeassistant.storage import Store
from domosec.evidence.homeassistant.websocket_client import (
    DEFAULT_MAX_MESSAGE,
    DEFAULT_TIMEOUT,
    CommandRefused,
    Connection,
    Endpoint,
    connect,
    parse_url,
    tls_context,
)
from domosec.evidence.homeassistant.yaml_config import HaYaml

ENTITY_BATCH = 500
"""Entity IDs per ``config/entity_registry/get_entries`` (the list lacks device classes)."""

COMMAND_OF = {
    ".storage/core.device_registry": "config/device_registry/list",
    ".storage/core.entity_registry": "config/entity_registry/list",
    ".storage/core.config_entries": "config_entries/get",
    ".storage/core.area_registry": "config/area_registry/list",
    ".storage/core.floor_registry": "config/floor_registry/list",
    ".storage/auth": "config/auth/list",
    ".storage/cloud": "cloud/status",
}


class LiveOrigin(ConfigDir):
    """Stands where the configuration directory stands for a file import: names places, records warnings, reads no file."""

    @classmethod
    def of(cls, endpoint: Endpoint) -> LiveOrigin:
        return cls(Path("/nonexistent-live-home-assistant"), shown_root=endpoint.shown)

    def show(self, relative: str) -> str:
        return f"{self.shown_root} ({COMMAND_OF.get(relative, relative)})" if relative else self.shown_root

    def exists(self, relative: str) -> bool:
        return False

    def resolve(self, relative: str, *, referrer: str = "", position: tuple[int, int] | None = None) -> Path:
        raise problem(self.show(relative), "ha-not-found", "a running instance is read through its API, not its files")


class LiveIntegrations(IntegrationCatalogue):
    """The shipped iot_class table, with custom integrations' manifests from ``manifest/list``."""

    def __init__(self, config: ConfigDir, custom: dict[str, Integration]) -> None:
        super().__init__(config)
        self.live_custom = custom

    def _custom(self, domain: str) -> Integration | None:
        return self.live_custom.get(domain)


@dataclass
class LiveFacts:
    """What the instance answered, reduced to the fields the importer uses."""

    ha_version: str = ""
    core: dict[str, Any] = field(default_factory=dict)
    components: set[str] = field(default_factory=set)
    stores: dict[str, Any] = field(default_factory=dict)
    current_user: dict[str, Any] = field(default_factory=dict)
    users_readable: bool = False
    cloud: CloudState = field(default_factory=lambda: CloudState(False, False, False, False, False))
    custom: dict[str, Integration] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)


async def _optional(conn: Connection, command: str, **payload: Any) -> Any:
    """The result, or None when this release lacks the command or the token may not use it."""
    try:
        return await conn.call(command, **payload)
    except CommandRefused as exc:
        if exc.code in ("unknown_command", "unauthorized", "not_found", "not_allowed"):
            return None
        raise


async def _required(conn: Connection, command: str, **payload: Any) -> Any:
    try:
        return await conn.call(command, **payload)
    except CommandRefused as exc:
        raise problem(conn.endpoint.shown, "ha-command-failed", f"{command} failed: {exc.code}: {exc.message[:200]}") from None


async def _entities(conn: Connection) -> list[dict[str, Any]]:
    listed = [e for e in await _required(conn, "config/entity_registry/list") or [] if isinstance(e, dict)]
    ids = sorted(str(e["entity_id"]) for e in listed if isinstance(e.get("entity_id"), str))
    extended: dict[str, Any] = {}
    for start in range(0, len(ids), ENTITY_BATCH):
        extended.update(await _optional(conn, "config/entity_registry/get_entries", entity_ids=ids[start : start + ENTITY_BATCH]) or {})
    for entity in listed:
        more = extended.get(str(entity.get("entity_id")))
        if isinstance(more, dict):
            entity["device_class"] = more.get("device_class")
            entity["original_device_class"] = more.get("original_device_class")
    return listed


async def _auth_providers(session: aiohttp.ClientSession, endpoint: Endpoint, tls: ssl.SSLContext | bool) -> list[str]:
    """The types of the login providers (``GET /auth/providers``, which needs no token)."""
    try:
        async with session.get(f"{endpoint.shown}/auth/providers", ssl=tls if endpoint.secure else False) as resp:
            if resp.status != 200:
                return []
            body = await resp.content.read(1024 * 1024)
    except (aiohttp.ClientError, OSError, TimeoutError):
        return []
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return []
    providers = data.get("providers") if isinstance(data, dict) else data
    return sorted({str(p.get("type")) for p in providers if isinstance(p, dict) and p.get("type")}) if isinstance(providers, list) else []


async def fetch(
    endpoint: Endpoint,
    token: str,
    *,
    timeout: float,
    tls: ssl.SSLContext | bool,
    max_message: int,
    socket_factory: Callable[[Any], socket.socket] | None = None,
) -> LiveFacts:
    """Ask the instance for every fact the importer reads; ``socket_factory`` (aiohttp's) may refuse addresses."""
    facts = LiveFacts()
    client_timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
    connector = aiohttp.TCPConnector(socket_factory=socket_factory) if socket_factory is not None else None
    async with aiohttp.ClientSession(timeout=client_timeout, connector=connector) as session:
        conn = await connect(session, endpoint, token, timeout=timeout, tls=tls, max_message=max_message)
        try:
            config = await _required(conn, "get_config") or {}
            facts.ha_version = str(config.get("version") or conn.ha_version)
            facts.core = {k: config.get(k) for k in ("location_name", "country") if isinstance(config.get(k), str)}
            facts.components = {str(c) for c in config.get("components") or []}
            stores = facts.stores
            stores["core.device_registry"] = {"devices": await _required(conn, "config/device_registry/list")}
            stores["core.entity_registry"] = {"entities": await _entities(conn)}
            stores["core.config_entries"] = {"entries": await _required(conn, "config_entries/get")}
            areas = await _required(conn, "config/area_registry/list") or []
            stores["core.area_registry"] = {"areas": [{**a, "id": a.get("area_id")} for a in areas if isinstance(a, dict)]}
            stores["core.floor_registry"] = {"floors": await _optional(conn, "config/floor_registry/list") or []}
            facts.current_user = await _required(conn, "auth/current_user") or {}
            users = await _optional(conn, "config/auth/list") if facts.current_user.get("is_admin") else None
            facts.users_readable = isinstance(users, list)
            tokens = await _optional(conn, "auth/refresh_tokens") or []
            people = await _optional(conn, "person/list") or {}
            stores["auth"] = _auth_store(users or [], tokens, str(facts.current_user.get("id") or "")) if facts.users_readable else None
            stores["person"] = {"items": [p for part in ("storage", "config") for p in people.get(part) or [] if isinstance(p, dict)]}
            manifests = await _optional(conn, "manifest/list") or []
            facts.custom = {
                str(m["domain"]): Integration(
                    str(m["domain"]),
                    m.get("iot_class") if isinstance(m.get("iot_class"), str) else None,
                    str(m.get("integration_type") or "hub"),
                    str(m.get("name") or m["domain"]),
                    f"custom integration manifest (manifest/list of {endpoint.shown})",
                )
                for m in manifests
                if isinstance(m, dict) and m.get("is_built_in") is False and isinstance(m.get("domain"), str)
            }
            if "cloud" in facts.components:
                status = await _optional(conn, "cloud/status") or {}
                prefs = status.get("prefs")
                if not isinstance(prefs, dict):
                    prefs = {}
                logged_in = status.get("logged_in") is True
                facts.cloud = CloudState(
                    configured=True,
                    logged_in=logged_in,
                    remote_enabled=prefs.get("remote_enabled") is True,
                    alexa_enabled=logged_in and prefs.get("alexa_enabled", True) is True,
                    google_enabled=logged_in and prefs.get("google_enabled", True) is True,
                )
            facts.core["auth_providers"] = [{"type": t} for t in await _auth_providers(session, endpoint, tls)] or None
            modules = facts.current_user.get("mfa_modules") or []
            facts.core["auth_mfa_modules"] = [{"type": m.get("id")} for m in modules if isinstance(m, dict)]
        finally:
            facts.commands = conn.commands
            await conn.ws.close()
    return facts


def _auth_store(users: list[Any], tokens: list[Any], current: str) -> dict[str, Any]:
    """``auth`` as the file has it, from ``config/auth/list`` and the caller's ``auth/refresh_tokens`` (no token values)."""
    records = [u for u in users if isinstance(u, dict)]
    return {
        "users": records,
        "credentials": [
            {"auth_provider_type": "homeassistant", "user_id": u.get("id"), "data": {"username": u["username"]}}
            for u in records
            if isinstance(u.get("username"), str)
        ],
        "refresh_tokens": [
            {"token_type": t.get("type"), "user_id": current, **{k: t.get(k) for k in ("client_name", "created_at", "last_used_at")}}
            for t in tokens
            if isinstance(t, dict)
        ],
    }


def _format_of(key: str, data: dict[str, Any]) -> int:
    """The major format whose fields the answer has: devices with one ``config_entry_id`` (2026.8 on) read as format 3."""
    if key == "core.device_registry":
        devices = [d for d in data.get("devices") or [] if isinstance(d, dict)]
        if any("config_entry_id" in d and "config_entries" not in d for d in devices):
            return 3
    return 1


def snapshot_of(facts: LiveFacts, endpoint: Endpoint) -> Snapshot:
    """The facts as the :class:`Snapshot` the file importer would have read."""
    origin = LiveOrigin.of(endpoint)

    def store(key: str) -> Store | None:
        data = facts.stores.get(key)
        return None if data is None else Store(key, _format_of(key, data), 1, data, origin.show(f".storage/{key}"))

    current = str(facts.current_user.get("id") or "")
    enabled = {str(m.get("id")) for m in facts.current_user.get("mfa_modules") or [] if isinstance(m, dict) and m.get("enabled")}
    second_factor = {m: Store(f"auth_module.{m}", 1, 1, {"users": {current: None} if m in enabled else {}}, "") for m in ("totp", "notify")}
    devices, aliases = read_devices(store("core.device_registry"))
    registries = Registries(
        devices=devices,
        device_aliases=aliases,
        entities=read_entities(store("core.entity_registry")),
        entries=read_entries(store("core.config_entries")),
        areas=read_areas(store("core.area_registry")),
        floors=read_floors(store("core.floor_registry")),
    )
    accounts = read_accounts(store("auth"), second_factor["totp"], second_factor["notify"], store("person"), facts.core)
    http = HttpSettings(
        source=f"the URL {endpoint.shown}",
        hosts=(),
        port=endpoint.port,
        tls=endpoint.secure,
        client_certificates=False,
        ip_ban_enabled=False,
        login_attempts_threshold=-1,
        forwarded_for=False,
        trusted_proxies=(),
        ssl_profile="",
    )
    return Snapshot(
        config=origin,
        ha_version=facts.ha_version,
        yaml=HaYaml({}),
        stores={},
        registries=registries,
        accounts=accounts,
        http=http,
        cloud=facts.cloud,
        integrations=LiveIntegrations(origin, facts.custom),
        core=facts.core,
    )


def read_live(
    url: str,
    token: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    insecure: bool = False,
    ca_file: Path | None = None,
    max_message: int = DEFAULT_MAX_MESSAGE,
) -> tuple[LiveFacts, Snapshot]:
    """Connect, read every fact, and give them as a snapshot; raises :class:`HomeAssistantInputError` on failure."""
    endpoint = parse_url(url)
    tls = tls_context(insecure, ca_file) if endpoint.secure else False
    try:
        facts = asyncio.run(fetch(endpoint, token, timeout=timeout, tls=tls, max_message=max_message))
    except HomeAssistantInputError:
        raise
    except TimeoutError:
        raise problem(endpoint.shown, "ha-timeout", f"no answer within {timeout:g} s; nothing was imported") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise problem(endpoint.shown, "ha-connection-failed", f"the connection failed ({type(exc).__name__})") from None
    return facts, snapshot_of(facts, endpoint)
