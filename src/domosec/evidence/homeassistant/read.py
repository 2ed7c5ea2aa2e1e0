"""Read everything the importer uses from a configuration directory, once, into one snapshot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domosec.evidence.homeassistant.accounts import Accounts, read_accounts
from domosec.evidence.homeassistant.exposure import CloudState, HttpSettings, cloud_state, http_settings
from domosec.evidence.homeassistant.files import DEFAULT_MAX_BYTES, ConfigDir, problem
from domosec.evidence.homeassistant.iot_classes import IntegrationCatalogue
from domosec.evidence.homeassistant.registries import (
    Registries,
    read_areas,
    read_devices,
    read_entities,
    read_entries,
    read_floors,
)
from domosec.evidence.homeassistant.storage import KNOWN_VERSIONS, Store, read_store
from domosec.evidence.homeassistant.yaml_config import HaYaml, load_configuration

_VERSION = re.compile(r"^(\d{4}\.\d{1,2}|0\.\d{1,3})\.\d+\S*$")
"""Calendar releases (2021.7.3, 2026.11.0b1) and the 0.x releases before them (0.86.0, 0.118.5)."""


@dataclass
class Snapshot:
    """The facts of one Home Assistant installation, as read from its files."""

    config: ConfigDir
    ha_version: str
    yaml: HaYaml
    stores: dict[str, Store | None]
    registries: Registries
    accounts: Accounts
    http: HttpSettings
    cloud: CloudState
    integrations: IntegrationCatalogue
    core: dict[str, Any]


def read_snapshot(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Snapshot:
    config = ConfigDir.open(path, max_bytes=max_bytes)
    if not config.exists(".storage"):
        hint = "a Home Assistant configuration directory holds configuration.yaml and .storage/"
        raise problem(config.show(".storage"), "ha-no-storage", "no .storage directory, so there are no registries to import", hint=hint)
    storage = config.resolve(".storage")
    if not storage.is_dir():
        raise problem(config.show(".storage"), "ha-no-storage", "is not a directory")
    yaml = load_configuration(config)
    stores = {key: read_store(config, key) for key in sorted(KNOWN_VERSIONS)}
    if all(stores[key] is None for key in ("core.device_registry", "core.entity_registry", "core.config_entries", "auth")):
        config.warn(
            config.show(".storage"),
            "ha-empty-storage",
            "no registries were found or readable; the model holds only the Home Assistant host",
        )
    core_yaml = yaml.data.get("homeassistant")
    core: dict[str, Any] = dict(core_yaml) if isinstance(core_yaml, dict) else {}
    core_store = stores["core.config"]
    if core_store is not None and isinstance(core_store.data, dict):
        for key in ("location_name", "country"):
            core.setdefault(key, core_store.data.get(key))
    devices, aliases = read_devices(stores["core.device_registry"])
    registries = Registries(
        devices=devices,
        device_aliases=aliases,
        entities=read_entities(stores["core.entity_registry"]),
        entries=read_entries(stores["core.config_entries"]),
        areas=read_areas(stores["core.area_registry"]),
        floors=read_floors(stores["core.floor_registry"]),
        entries_read=stores["core.config_entries"] is not None,
    )
    accounts = read_accounts(stores["auth"], stores["auth_module.totp"], stores["auth_module.notify"], stores["person"], core)
    return Snapshot(
        config=config,
        ha_version=_ha_version(config),
        yaml=yaml,
        stores=stores,
        registries=registries,
        accounts=accounts,
        http=http_settings(config, yaml.data.get("http"), stores["http"]),
        cloud=cloud_state(config, stores["cloud"], yaml.data),
        integrations=IntegrationCatalogue(config),
        core=core,
    )


def _ha_version(config: ConfigDir) -> str:
    if not config.exists(".HA_VERSION"):
        return ""
    text = config.read_text(".HA_VERSION").strip()
    if _VERSION.match(text) and len(text) < 40:
        return text
    config.warn(config.show(".HA_VERSION"), "ha-bad-version-file", "does not hold a Home Assistant version; the release is unknown")
    return ""
