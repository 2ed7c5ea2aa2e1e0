"""Build the shipped table of ``iot_class`` per integration from Home Assistant's own manifests.

    python -m domosec.evidence.homeassistant.manifest_table NEWEST.whl [OLDER.whl | OLDER_PACKAGE_DIR ...]

reads every ``homeassistant/components/<domain>/manifest.json`` of a release (a wheel, or an
installed ``homeassistant`` package directory) and writes ``data/iot_classes.json`` with the
release it came from. Integrations that only older releases have (removed since) are added from
the older sources, each marked with its release. The importer never imports Home Assistant: it
reads this table.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("data") / "iot_classes.json"
_MANIFEST = re.compile(r"^homeassistant/components/([a-z0-9_]+)/manifest\.json$")
_VERSION = re.compile(r"^(MAJOR_VERSION|MINOR_VERSION|PATCH_VERSION)(?:: Final)? = (\d+|\"[^\"]*\")", re.M)


def _files(source: Path) -> dict[str, bytes]:
    """Manifest files and ``const.py`` of a wheel or of a ``homeassistant`` package directory."""
    wanted: dict[str, bytes] = {}
    if source.is_file():
        with zipfile.ZipFile(source) as wheel:
            for name in wheel.namelist():
                if _MANIFEST.match(name) or name == "homeassistant/const.py":
                    wanted[name] = wheel.read(name)
        return wanted
    package = source if source.name == "homeassistant" else source / "homeassistant"
    for path in sorted(package.glob("components/*/manifest.json")):
        wanted[f"homeassistant/components/{path.parent.name}/manifest.json"] = path.read_bytes()
    wanted["homeassistant/const.py"] = (package / "const.py").read_bytes()
    return wanted


def build_table(source: Path) -> dict[str, Any]:
    files = _files(source)
    parts = dict(_VERSION.findall(files.get("homeassistant/const.py", b"").decode("utf-8")))
    version = ".".join(parts.get(k, "?").strip('"') for k in ("MAJOR_VERSION", "MINOR_VERSION", "PATCH_VERSION"))
    integrations: dict[str, list[str | None]] = {}
    for name in sorted(files):
        match = _MANIFEST.match(name)
        if not match:
            continue
        manifest = json.loads(files[name])
        integrations[match.group(1)] = [
            manifest.get("iot_class"),
            manifest.get("integration_type", "hub"),
            manifest.get("name") or match.group(1),
        ]
    return {
        "home_assistant": version,
        "source": f"homeassistant {version}: homeassistant/components/*/manifest.json (iot_class, integration_type, name)",
        "integrations": integrations,
    }


def render(table: dict[str, Any]) -> str:
    lines = [
        "{",
        f'  "home_assistant": {json.dumps(table["home_assistant"])},',
        f'  "source": {json.dumps(table["source"])},',
        '  "integrations": {',
    ]
    items = list(table["integrations"].items())
    for index, (domain, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"    {json.dumps(domain)}: {json.dumps(value)}{comma}")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def merge_older(table: dict[str, Any], older: dict[str, Any]) -> None:
    """Add integrations that only an older release has, marked with that release."""
    for domain, value in older["integrations"].items():
        if domain not in table["integrations"]:
            table["integrations"][domain] = [*value, older["home_assistant"]]
    table["integrations"] = dict(sorted(table["integrations"].items()))
    table["source"] += f"; removed integrations from homeassistant {older['home_assistant']}"


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m domosec.evidence.homeassistant.manifest_table NEWEST [OLDER ...]", file=sys.stderr)
        return 2
    table = build_table(Path(argv[0]))
    for older in argv[1:]:
        merge_older(table, build_table(Path(older)))
    TABLE.write_text(render(table), encoding="utf-8")
    print(f"wrote {TABLE}: {len(table['integrations'])} integrations from Home Assistant {table['home_assistant']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
