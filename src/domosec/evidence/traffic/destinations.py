"""Who a destination is: its registered domain (public suffix list), first or third party, and tracker lists.

The public suffix list ships with domosec (``data/public_suffix_list.dat``, a snapshot of the
Mozilla list, MPL-2.0) and is never fetched at run time. Tracker lists are local files the user
names: hosts files (``0.0.0.0 name``), Adblock filters (only ``||name^`` rules, which name whole
domains) and plain lists of names, one a line. The vendor table (``data/vendor_domains.yaml``) is
domosec's own: which registered domains belong to which device maker.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
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
def vendor_domains() -> dict[str, str]:
    """Registered domain → maker, from domosec's own table."""
    from ruamel.yaml import YAML

    text = resources.files("domosec.evidence.traffic").joinpath("data/vendor_domains.yaml").read_text(encoding="utf-8")
    data: Any = YAML(typ="safe").load(text)
    return {domain.lower(): str(vendor) for vendor, domains in data["vendors"].items() for domain in domains}


def party(domain: str, device_vendor: str) -> str:
    """``first`` when the domain's maker is the device's vendor, ``third`` when it is another known maker, else ``unknown``."""
    maker = vendor_domains().get(domain)
    if maker is None:
        return "unknown"
    if device_vendor and (maker.lower() in device_vendor.lower() or device_vendor.lower() in maker.lower()):
        return "first"
    return "third"


@dataclass(frozen=True)
class TrackerLists:
    """Names from the tracker lists the user gave, each with the list it came from."""

    names: dict[str, str]

    def match(self, name: str) -> str:
        """The list that names ``name`` or one of its parent domains, or ``""``."""
        labels = name.lower().rstrip(".").split(".")
        for i in range(len(labels) - 1):
            found = self.names.get(".".join(labels[i:]))
            if found:
                return found
        return ""


MAX_LIST_BYTES = 64 * 1024 * 1024


def load_tracker_lists(paths: list[Path]) -> TrackerLists:
    """Read hosts files, Adblock ``||name^`` rules and plain name lists; bad files are input errors."""
    names: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for path in paths:
        try:
            if path.stat().st_size > MAX_LIST_BYTES:
                problems.append(Diagnostic(str(path), None, None, "file-too-large", f"tracker list larger than {MAX_LIST_BYTES} bytes"))
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            problems.append(Diagnostic(str(path), None, None, "unreadable", exc.strerror or str(exc)))
            continue
        for line in text.splitlines():
            name = _list_entry(line)
            if name:
                names.setdefault(name, path.name)
    if problems:
        raise InputError(problems)
    return TrackerLists(names)


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
