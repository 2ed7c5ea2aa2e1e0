"""Shared by the Home Assistant import tests: fixture paths, copies to change, and the secrets to look for."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
FAMILY = FIXTURES / "ha-2024.3.3-family"
REGISTRY_1_12 = FIXTURES / "ha-2025.12.0-registry-1.12"
REGISTRY_3_2 = FIXTURES / "ha-2026.8.0-registry-3.2"
REGISTRY_3_4 = FIXTURES / "ha-2026.11.0-registry-3.4"
QUIRKS = FIXTURES / "ha-2021.12-quirks"
ALL_FIXTURES = (FAMILY, REGISTRY_1_12, REGISTRY_3_2, REGISTRY_3_4)

_SECRET = re.compile(r"[A-Za-z0-9+/=$._:-]*SECRET[A-Za-z0-9+/=$._:-]*")


def copy_fixture(source: Path, tmp_path: Path, name: str = "config") -> Path:
    target = tmp_path / name
    shutil.copytree(source, target, symlinks=True)
    return target


def secret_values(config_dir: Path) -> set[str]:
    """Every secret planted in a fixture: strings containing SECRET, and base64 password hashes."""
    found: set[str] = set()
    for path in config_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8", errors="replace")
            found |= {m.strip(".:") for m in _SECRET.findall(text) if len(m) > 8}
            found |= set(re.findall(r'"password": "([^"]+)"', text))
    return found


def load_yaml(text: str) -> dict[str, Any]:
    data = YAML(typ="safe", pure=True).load(text)
    assert isinstance(data, dict)
    return data


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}
