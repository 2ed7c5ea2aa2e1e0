"""Who a destination is: its registered domain (public suffix list), first or third party, and tracker lists.

The public suffix list ships with domosec (``data/public_suffix_list.dat``, a snapshot of the
Mozilla list, MPL-2.0) and is never fetched at run time. Tracker lists are local files the user
names: hosts files (``0.0.0.0 name``), Adblock filters (only ``||name^`` rules, which name whole
domains) and plain lists of names, one a line. The vendor table (``data/vendor_domains.yaml``) is
domosec's own: which registered domains belong to which device maker.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from domosec.errors import Diagnostic, InputError


@functools.cache
def _suffix_rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Normal rules, wildcard rules (without ``*.``) and exception rules (without ``!``)."""
    text = resources.files("domosec.evidence.traffic").joinpath("data/public_suffix_list.dat").read_text(encoding="utf-8")
    normal: set[str] = set()
    wildcard: set[str] = set()
    exception: set[str] = set()
    for line in text.splitlines():
        rule = line.strip().split(" ", 1)[0]
        if not rule or rule.startswith("//"):
            continue
        rule = rule.encode("idna").decode("ascii") if not rule.isascii() else rule
        if rule.startswith("!"):
            exception.add(rule[1:])
        elif rule.startswith("*."):
            wildcard.add(rule[2:])
        else:
            normal.add(rule)
    return frozenset(normal), frozenset(wildcard), frozenset(exception)


def registered_domain(name: str) -> str:
    """The registrable domain of ``name`` (``a.b.example.co.uk`` → ``example.co.uk``); ``name`` when it has none."""
    name = name.strip().lower().rstrip(".")
    labels = name.split(".")
    if len(labels) < 2:
        return name
    normal, wildcard, exception = _suffix_rules()
    suffix_len = 1  # the default rule "*"
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in exception:
            suffix_len = len(labels) - i - 1
            break
        if candidate in normal:
            suffix_len = max(suffix_len, len(labels) - i)
        parent = ".".join(labels[i + 1 :])
        if parent and parent in wildcard:
            suffix_len = max(suffix_len, len(labels) - i)
    if suffix_len >= len(labels):
        return name
    return ".".join(labels[-(suffix_len + 1) :])


@functools.cache
def vendor_domains() -> dict[str, tuple[str, ...]]:
    """Registered domain → its makers (a brand and its company may share one), from domosec's own table."""
    from ruamel.yaml import YAML

    text = resources.files("domosec.evidence.traffic").joinpath("data/vendor_domains.yaml").read_text(encoding="utf-8")
    data: Any = YAML(typ="safe").load(text)
    makers: dict[str, tuple[str, ...]] = {}
    for vendor, domains in data["vendors"].items():
        for domain in domains:
            makers[domain.lower()] = (*makers.get(domain.lower(), ()), str(vendor))
    return makers


COMPANY_SUFFIXES = frozenset(
    {"inc", "inc.", "llc", "ltd", "ltd.", "limited", "corp", "corp.", "corporation", "co", "co.", "gmbh", "ag", "sa", "bv", "plc"}
)


def _company(name: str) -> str:
    words = name.lower().replace(",", " ").split()
    while words and words[-1] in COMPANY_SUFFIXES:
        words.pop()
    return " ".join(words)


def party(domain: str, device_vendor: str, owner: str = "") -> str:
    """``first`` when the domain's maker is the device's vendor, ``third`` when it is another known company, else ``unknown``.

    The makers come from domosec's vendor table, else from the owner a Tracker Radar or blocklist file gave.
    """
    makers = [_company(m) for m in vendor_domains().get(domain) or (owner,) if _company(m)]
    if not makers:
        return "unknown"
    vendor = _company(device_vendor)
    if vendor and any(maker in vendor or vendor in maker for maker in makers):
        return "first"
    return "third"


@dataclass(frozen=True)
class TrackerLists:
    """Names from the tracker lists the user gave, each with the list it came from; owners and categories from Tracker Radar."""

    names: dict[str, str]
    owners: dict[str, str] = field(default_factory=dict)  # domain → owning company (Tracker Radar, TDS entities)
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)  # domain → Tracker Radar categories

    def _lookup(self, table: dict[str, Any], name: str) -> Any:
        labels = name.lower().rstrip(".").split(".")
        for i in range(len(labels) - 1):
            found = table.get(".".join(labels[i:]))
            if found:
                return found
        return None

    def match(self, name: str) -> str:
        """The list that names ``name`` or one of its parent domains, or ``""``."""
        return self._lookup(self.names, name) or ""

    def owner(self, name: str) -> str:
        """The company that owns ``name`` (or a parent domain) according to the lists, or ``""``."""
        return self._lookup(self.owners, name) or ""

    def categories_of(self, name: str) -> tuple[str, ...]:
        """Tracker Radar categories of ``name`` (or a parent domain)."""
        return self._lookup(self.categories, name) or ()


MAX_LIST_BYTES = 64 * 1024 * 1024
MAX_RADAR_FILES = 100_000
TRACKING_CATEGORIES = frozenset(
    {
        "Ad Motivated Tracking",
        "Advertising",
        "Analytics",
        "Audience Measurement",
        "Third-Party Analytics Marketing",
        "Session Replay",
        "Action Pixels",
        "Ad Fraud",
    }
)
"""Tracker Radar categories that make a domain a tracker; a domain with only others (CDN, Embedded Content…) gives its owner only."""


def load_tracker_lists(paths: list[Path]) -> TrackerLists:
    """Read hosts files, Adblock ``||name^`` rules, plain name lists and DuckDuckGo Tracker Radar JSON; bad files are input errors.

    A directory is a Tracker Radar checkout (``domains/**/*.json`` and ``entities/*.json``); a ``.json`` file
    is one Tracker Radar domain or entity file, or a tracker blocklist (``tds.json``) with ``trackers``,
    ``entities`` and ``domains``.
    """
    lists = TrackerLists({})
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            files = sorted([*path.glob("domains/**/*.json"), *path.glob("entities/*.json")]) or sorted(path.glob("*.json"))
            if not files:
                why = "a directory must be a Tracker Radar checkout (domains/, entities/) or hold its .json files (domains/US)"
                problems.append(Diagnostic(str(path), None, None, "not-a-tracker-list", why))
            for file in files[:MAX_RADAR_FILES]:
                _read_radar_file(file, path.name, lists, problems)
            continue
        if path.suffix.lower() == ".json":
            _read_radar_file(path, path.name, lists, problems)
            continue
        text = _read_text(path, problems)
        for line in (text or "").splitlines():
            name = _list_entry(line)
            if name:
                lists.names.setdefault(name, path.name)
    if problems:
        raise InputError(problems)
    return lists


def _read_text(path: Path, problems: list[Diagnostic]) -> str | None:
    try:
        if path.stat().st_size > MAX_LIST_BYTES:
            problems.append(Diagnostic(str(path), None, None, "file-too-large", f"tracker list larger than {MAX_LIST_BYTES} bytes"))
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        problems.append(Diagnostic(str(path), None, None, "unreadable", exc.strerror or str(exc)))
        return None


def _read_radar_file(path: Path, list_name: str, lists: TrackerLists, problems: list[Diagnostic]) -> None:
    text = _read_text(path, problems)
    if text is None:
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Diagnostic(str(path), exc.lineno, exc.colno, "bad-json", exc.msg))
        return
    if not isinstance(data, dict):
        problems.append(
            Diagnostic(str(path), 1, 1, "not-a-tracker-list", "expected a JSON object (Tracker Radar domain or entity, or tds.json)")
        )
        return
    if isinstance(data.get("trackers"), dict):  # a tracker blocklist (tds.json): every entry is a tracker
        for domain, entry in data["trackers"].items():
            _radar_domain(domain, entry if isinstance(entry, dict) else {}, list_name, lists, blocklist=True)
        for name, entity in (data.get("entities") or {}).items():
            if isinstance(entity, dict):
                _radar_entity(entity.get("displayName") or name, entity.get("domains"), lists)
        for domain, name in (data.get("domains") or {}).items():
            if isinstance(name, str) and isinstance(domain, str):
                lists.owners.setdefault(domain.lower(), name)
    elif isinstance(data.get("domain"), str):
        _radar_domain(data["domain"], data, list_name, lists, blocklist=False)
    elif isinstance(data.get("properties"), list):
        _radar_entity(data.get("displayName") or data.get("name") or "", data["properties"], lists)
    else:
        problems.append(
            Diagnostic(
                str(path),
                1,
                1,
                "not-a-tracker-list",
                "neither a Tracker Radar domain (domain, owner) nor entity (name, properties) nor tds.json (trackers)",
            )
        )


def _radar_domain(domain: str, entry: dict[str, Any], list_name: str, lists: TrackerLists, *, blocklist: bool) -> None:
    name = _name(domain)
    if not name:
        return
    owner = entry.get("owner")
    if isinstance(owner, dict) and (owner.get("displayName") or owner.get("name")):
        lists.owners.setdefault(name, str(owner.get("displayName") or owner.get("name")))
    categories = tuple(sorted(str(c) for c in entry.get("categories") or [] if isinstance(c, str)))
    if categories:
        lists.categories.setdefault(name, categories)
    if blocklist or TRACKING_CATEGORIES.intersection(categories):
        lists.names.setdefault(name, list_name)


def _radar_entity(owner: str, domains: Any, lists: TrackerLists) -> None:
    if not owner or not isinstance(domains, list):
        return
    for domain in domains:
        name = _name(domain) if isinstance(domain, str) else ""
        if name:
            lists.owners.setdefault(name, str(owner))


def _list_entry(line: str) -> str:
    line = line.strip()
    if not line or line[0] in "#!;[" or line.startswith("@@"):
        return ""
    if line.startswith("||"):
        rule = line[2:]
        end = len(rule)
        for stop in "^/$*":
            if stop in rule:
                end = min(end, rule.index(stop))
        if rule[end : end + 1] not in ("^", "") or "$" in rule:  # options or paths: not a whole-domain rule
            return ""
        return _name(rule[:end])
    parts = line.split("#", 1)[0].split()
    if len(parts) >= 2 and parts[0] in ("0.0.0.0", "127.0.0.1", "::", "::1"):
        return _name(parts[1])
    return _name(parts[0]) if len(parts) == 1 else ""


def _name(text: str) -> str:
    text = text.strip().lower().rstrip(".")
    if "." not in text or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-._" for c in text) or text in ("localhost", "local"):
        return ""
    return text
