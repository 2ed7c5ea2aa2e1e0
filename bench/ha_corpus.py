"""Import a corpus of real Home Assistant configuration directories and print one row per configuration.

The corpus is public configuration repositories with a committed ``.storage`` (their files are not
in this repository: ``bench/ha_corpus.txt`` lists each as ``owner/name@commit path``). Export each
to a directory of its own, then:

    .venv/bin/python bench/ha_corpus.py DIR...             # configuration directories
    .venv/bin/python bench/ha_corpus.py --root /tmp/ha-corpus   # every directory under it
    .venv/bin/python bench/ha_corpus.py --list bench/ha_holdout.txt --root /tmp/ha-holdout   # the list's entries, each
                                                           # exported to ROOT/owner+name

Each configuration is imported in a child process (so peak memory is its own). A row gives the
Home Assistant release, the device and entity registry formats, the devices of the registry
(``reg``: all; ``hw``: hardware, i.e. not service entries, not disabled and not what the importer
names as not hardware), devices imported (devices + bridges), bridges, devices dropped with their
reasons, silent drops (hardware devices neither imported nor given a reason), the type
distribution, warnings, time and peak memory. The last lines give the totals the targets of
docs/homeassistant.md are checked against.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def measure(config: Path) -> dict[str, Any]:
    """Import one configuration in this process; the facts of one row (without time and memory)."""
    from domosec.errors import InputError
    from domosec.evidence.homeassistant import import_homeassistant

    row: dict[str, Any] = {"name": config.name}
    storage = config / ".storage"
    version = config / ".HA_VERSION"
    row["ha"] = version.read_text(errors="replace").strip()[:12] if version.is_file() else "?"
    raw_devices: list[dict[str, Any]] = []
    for key in ("core.device_registry", "core.entity_registry"):
        try:
            envelope = json.loads((storage / key).read_text())
            row[key] = f"{envelope.get('version')}.{envelope.get('minor_version', 1)}"
            if key == "core.device_registry":
                raw_devices = [d for d in envelope["data"].get("devices", []) if isinstance(d, dict)]
        except (OSError, ValueError, KeyError, AttributeError):
            row[key] = "-"
    row["reg"] = len(raw_devices)
    candidates = [d for d in raw_devices if d.get("entry_type") != "service" and d.get("disabled_by") is None]
    start = time.perf_counter()
    try:
        result = import_homeassistant(config, allow_empty=True) if _takes_allow_empty() else import_homeassistant(config)
    except InputError as exc:
        row.update(error=exc.diagnostics[0].render()[:160], hw=len(candidates), imported=0, bridges=0, dropped={}, silent=len(candidates))
        row["seconds"] = time.perf_counter() - start
        return row
    row["seconds"] = time.perf_counter() - start
    data = result.model.model_dump(mode="json", exclude_none=True)
    devices = data.get("devices") or []
    bridges = [g for g in data.get("gateways") or [] if g.get("kind") == "bridge"]
    dropped: dict[str, int] = collections.Counter()
    not_hardware = 0
    explained: set[str] = set()
    for skip in getattr(result, "dropped", []):
        if skip.kind != "device":
            continue
        explained.add(skip.ha_id)
        dropped[skip.reason] += 1
        not_hardware += skip.not_hardware
    imported_ids = {_ha_id(e) for e in [*devices, *bridges]}
    hardware = [d for d in candidates if not any(s.ha_id == d["id"] and s.not_hardware for s in getattr(result, "dropped", []))]
    silent = [d for d in hardware if d["id"] not in imported_ids and d["id"] not in explained]
    row.update(
        hw=len(hardware),
        imported=len(devices) + len(bridges),
        bridges=len(bridges),
        dropped=dict(sorted(dropped.items())),
        silent=len(silent),
        types=dict(collections.Counter(d.get("type", "?") for d in devices).most_common()),
        warnings=len(result.warnings),
    )
    return row


def _takes_allow_empty() -> bool:
    import inspect

    from domosec.evidence.homeassistant import import_homeassistant

    return "allow_empty" in inspect.signature(import_homeassistant).parameters


def _ha_id(element: dict[str, Any]) -> str:
    """The Home Assistant device ID an imported element names in its provenance."""
    detail = str((element.get("provenance") or {}).get("detail", ""))
    words = detail.split()
    return words[3] if len(words) > 3 and words[:3] == ["Home", "Assistant", "device"] else ""


def run_child(config: Path) -> dict[str, Any]:
    """Measure one configuration in a child process; adds its peak resident memory (MiB)."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([sys.executable, __file__, "--one", str(config)], stdout=subprocess.PIPE, stderr=errors)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # not proc.wait(): wait4 gives this child's own peak memory
        errors.seek(0)
        err = errors.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        row: dict[str, Any] = json.loads(out)
    except ValueError:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        row = {"name": config.name, "error": f"crashed (exit {proc.returncode}): {last[0][:120]}", "hw": 0, "imported": 0, "silent": 0}
    row["peak_mib"] = usage.ru_maxrss / 1024
    return row


def show(rows: list[dict[str, Any]]) -> None:
    print(
        "| configuration | HA | dev reg | ent reg | reg | hw | imported | bridges | dropped (reasons) | silent | types | warnings | s | MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        types = ", ".join(f"{k} {v}" for k, v in (r.get("types") or {}).items())
        drops = "; ".join(f"{k}: {v}" for k, v in (r.get("dropped") or {}).items())
        if r.get("error"):
            types = f"ERROR {r['error']}"
        print(
            f"| {r['name']} | {r.get('ha', '?')} | {r.get('core.device_registry', '-')} | {r.get('core.entity_registry', '-')} | "
            f"{r.get('reg', 0)} | {r['hw']} | {r['imported']} | {r.get('bridges', 0)} | {drops} | {r['silent']} | {types} | "
            f"{r.get('warnings', '-')} | {r.get('seconds', 0):.2f} | {r.get('peak_mib', 0):.0f} |"
        )
    good = [r for r in rows if not r.get("error") and r["imported"] >= 0.95 * r["hw"]]
    print(
        f"\n{len(rows)} configurations; {len(good)} ({100 * len(good) / max(len(rows), 1):.0f} %) imported with >= 95 % of their "
        f"hardware devices; {sum(1 for r in rows if r.get('error'))} failed; "
        f"{sum(r['imported'] for r in rows)} of {sum(r['hw'] for r in rows)} hardware devices imported; "
        f"{sum(r['silent'] for r in rows)} silent drops"
    )


def _listed(path: Path) -> list[str]:
    """The ``owner/name`` of each entry of a ``owner/name@commit path`` list (comments and blank lines skipped)."""
    entries = [line.split("@", 1)[0] for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return sorted(entries, key=str.lower)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument("--root", type=Path, help="import every directory under this one (with --list: where the list's entries are)")
    parser.add_argument(
        "--list", type=Path, help="a repo@commit list (bench/ha_corpus.txt, bench/ha_holdout.txt): import ROOT/owner+name of each"
    )
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    if args.list:
        if not args.root:
            parser.error("--list needs --root, the directory its entries were exported to")
        dirs = list(args.dirs) + [args.root / name.replace("/", "+", 1) for name in _listed(args.list)]
    else:
        dirs = list(args.dirs) + (sorted(p for p in args.root.iterdir() if p.is_dir()) if args.root else [])
    if not dirs:
        parser.error("name configuration directories or --root")
    show([run_child(d) for d in dirs])


if __name__ == "__main__":
    main()
