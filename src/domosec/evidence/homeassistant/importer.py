"""``import_homeassistant``: a configuration directory (and an optional overlay) in, a valid model out."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domosec.errors import Diagnostic, ModelError
from domosec.evidence.homeassistant.files import DEFAULT_MAX_BYTES, problem
from domosec.evidence.homeassistant.mapping import build_core
from domosec.evidence.homeassistant.overlay import TOP_KEYS, in_overlay_terms, merge_overlay, read_overlay
from domosec.evidence.homeassistant.read import Snapshot, read_snapshot
from domosec.evidence.homeassistant.selection import Drop, drop_summary
from domosec.evidence.homeassistant.services import add_services
from domosec.model.elements import SystemModel
from domosec.model.load import load_model_text, model_from_document
from domosec.model.source import SourceDocument
from domosec.wording import plural


@dataclass
class ImportResult:
    """The imported model, its YAML text, and what the user should know about the import."""

    model: SystemModel
    text: str
    warnings: list[Diagnostic] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    dropped: list[Drop] = field(default_factory=list)
    """Every registry device (and group of entities) left out, with its reason: listed by ``-v``."""


def import_homeassistant(
    config_dir: str | Path, *, overlay: str | Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES, allow_empty: bool = False
) -> ImportResult:
    """Read a Home Assistant configuration directory; raises :class:`domosec.errors.InputError` on bad input.

    A registry with hardware devices of which none could be imported is an error unless ``allow_empty``.
    """
    snap = read_snapshot(config_dir, max_bytes=max_bytes)
    drops: list[Drop] = []
    data, skipped = map_snapshot(snap, drops)
    if not allow_empty:
        check_not_empty(snap, data, drops)
    result = finish_import(snap, data, skipped, overlay=overlay, origin=f"the Home Assistant configuration {snap.config.show('')}")
    result.dropped = drops
    return result


def map_snapshot(snap: Snapshot, drops: list[Drop] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The model data of a snapshot (from files or from a running instance), and what was left out.

    The devices left out, each with its reason, are added to ``drops`` when it is given.
    """
    mapped = build_core(snap)
    add_services(snap, mapped)
    if drops is not None:
        drops.extend(mapped.selection.drops)
    return {"domosec": 1, **{k: mapped.data[k] for k in TOP_KEYS if mapped.data.get(k)}}, mapped.skipped


def check_not_empty(snap: Snapshot, data: dict[str, Any], drops: list[Drop]) -> None:
    """Refuse "0 devices imported from a registry of N": an import that lost everything must not pass as a home without devices."""
    hardware = [d for d in snap.registries.devices.values() if not d.is_service]
    services = {d.id for d in snap.registries.devices.values() if d.is_service}
    imported = len(data.get("devices") or []) + len(data.get("gateways") or []) - 1
    if hardware and imported <= 0:
        store = snap.stores.get("core.device_registry")
        raise problem(
            store.file if store is not None else snap.config.show(".storage/core.device_registry"),
            "ha-nothing-imported",
            f"0 devices imported from a registry of {len(hardware)}: left out {drop_summary([d for d in drops if d.ha_id not in services])}",
            hint="--allow-empty accepts an import without devices",
        )


def finish_import(snap: Snapshot, data: dict[str, Any], skipped: list[str], *, overlay: str | Path | None, origin: str) -> ImportResult:
    """Validate the mapped data, merge the overlay, and give the model's text with its header and the summary."""
    model_from_document(SourceDocument(snap.config.show(""), data))
    overlay_note = ""
    if overlay is not None:
        merged, placed, renames = merge_overlay(data, read_overlay(overlay))
        try:
            model_from_document(placed)
        except ModelError as exc:
            raise ModelError(in_overlay_terms(exc.diagnostics, placed.file, renames)) from None
        data = {k: merged[k] for k in TOP_KEYS if merged.get(k) or k in ("domosec", "system")}
        overlay_note = f"# Overlay merged over the import: {overlay}\n"
    header = (
        f"# Imported from {origin} by domosec import homeassistant.\n"
        "# Facts carry provenance 'imported'; flows to cloud services are inferred from each integration's iot_class.\n"
        "# Add what Home Assistant cannot know with --overlay FILE rather than by editing this file, so a re-import keeps it.\n"
        + overlay_note
    )
    text = header + _dump(data)
    loaded = load_model_text(text, snap.config.show("") + " (imported model)")
    return ImportResult(loaded.model, text, list(snap.config.warnings), _summary(snap, data, skipped))


def _dump(data: dict[str, Any]) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _count(data: dict[str, Any], kind: str) -> str:
    """``1 device``, ``3 devices``: how many items of the section ``kind + "s"`` the model has."""
    return plural(len(data.get(kind + "s") or []), kind)


def _summary(snap: Snapshot, data: dict[str, Any], skipped: list[str]) -> list[str]:
    users = data.get("users") or []
    flows = data.get("flows") or []
    release = snap.ha_version or "release unknown"
    lines = [
        f"imported Home Assistant {release} from {snap.config.show('')}: {_count(data, 'device')}, {_count(data, 'gateway')}, "
        f"{_count(data, 'zone')}, {_count(data, 'network')}, {plural(len(users), 'user')} "
        f"({plural(sum(1 for u in users if u.get('admin')), 'admin')}, {sum(1 for u in users if u.get('mfa')):,} with two-factor), "
        f"{_count(data, 'service')}, {plural(len(flows), 'flow')}",
    ]
    if snap.stores:  # a running instance has no stores: live.py says what it read instead
        lines.append(
            "formats read: " + ", ".join(f"{key} {store.format}" for key, store in sorted(snap.stores.items()) if store is not None)
        )
    accounts = snap.accounts
    left_out = list(skipped)
    services = [d for d in snap.registries.devices.values() if d.is_service]
    if services:
        left_out.append(f"{len(services)} service entr{'y' if len(services) == 1 else 'ies'} of integrations (not hardware)")
    if accounts.system_users:
        left_out.append(f"{len(accounts.system_users)} system user(s): {', '.join(accounts.system_users)}")
    if accounts.inactive_users:
        left_out.append(f"{len(accounts.inactive_users)} deactivated user(s)")
    if left_out:
        lines.append("left out: " + "; ".join(left_out))
    return lines
