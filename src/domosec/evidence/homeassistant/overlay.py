"""Merge a hand-written partial model (the overlay) over an imported one.

The overlay adds what Home Assistant cannot know (a service's retention and privacy notice, a
child in the household, the Wi-Fi's encryption) and corrects what the import guessed:

- ``system``: keys of the overlay replace the imported ones;
- an element with the ID of an imported element of the same section is merged into it:
  mappings key by key, other values (lists included) replaced;
- an element with a new ID is added; it must then be complete;
- ``controls`` replace imported ones with the same clause ID; ``accepted_risks`` are added.

An overlay element whose ID is already used by an imported element of another section, or that
appears twice in the overlay, is an error (``ha-overlay-conflict``) at its position in the overlay.
Because the overlay is a separate file applied at every import, re-importing keeps it.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

from domosec.errors import Diagnostic, InputError
from domosec.model.references import ELEMENT_SECTIONS
from domosec.model.source import Path_, SourceDocument, read_document

TOP_KEYS = ("domosec", "system", *ELEMENT_SECTIONS, "controls", "accepted_risks")


def read_overlay(path: str | Path) -> SourceDocument:
    doc = read_document(path)
    if not isinstance(doc.data, dict):
        raise InputError(
            [Diagnostic.at(doc.file, doc.position(()), "ha-overlay-not-a-mapping", "an overlay is a mapping of model sections")]
        )
    unknown = [k for k in doc.data if k not in TOP_KEYS]
    if unknown:
        raise InputError(
            [
                Diagnostic.at(
                    doc.file,
                    doc.key_positions.get((k,)) or doc.position((k,)),
                    "unknown-key",
                    f"unknown key '{k}'",
                    hint=f"allowed: {', '.join(TOP_KEYS)}",
                )
                for k in unknown
            ]
        )
    return doc


def merge_overlay(imported: dict[str, Any], overlay: SourceDocument) -> tuple[dict[str, Any], SourceDocument, dict[str, str]]:
    """The merged model data, a document that places overlay-written nodes at their overlay positions,
    and how merged paths (``devices[6]``) read in the overlay (``devices[0]``)."""
    merged = copy.deepcopy(imported)
    data: dict[str, Any] = overlay.data
    moves: dict[Path_, Path_] = {}
    problems: list[Diagnostic] = []
    owner: dict[str, str] = {}
    for section in ELEMENT_SECTIONS:
        for item in merged.get(section) or []:
            owner[str(item.get("id"))] = section
    if isinstance(data.get("system"), dict):
        merged.setdefault("system", {}).update(copy.deepcopy(data["system"]))
        moves[("system",)] = ("system",)
    seen: dict[str, Path_] = {}
    for section in ELEMENT_SECTIONS:
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(Diagnostic.at(overlay.file, overlay.position((section,)), "wrong-type", f"'{section}' must be a list"))
            continue
        target = merged.setdefault(section, [])
        index = {str(item.get("id")): n for n, item in enumerate(target)}
        for n, item in enumerate(items):
            where = (section, n)
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, str):
                problems.append(Diagnostic.at(overlay.file, overlay.position(where), "missing-key", f"{section}[{n}] needs an 'id'"))
                continue
            if ident in seen:
                first = overlay.position(seen[ident])
                at = f" (first at line {first[0]})" if first else ""
                problems.append(
                    Diagnostic.at(
                        overlay.file, overlay.position(where), "ha-overlay-conflict", f"'{ident}' appears twice in the overlay{at}"
                    )
                )
                continue
            seen[ident] = where
            if ident in owner and owner[ident] != section:
                problems.append(
                    Diagnostic.at(
                        overlay.file,
                        overlay.position((*where, "id")),
                        "ha-overlay-conflict",
                        f"{section}[{n}] '{ident}' has the ID of an imported {owner[ident][:-1]}; IDs are unique across the model",
                        hint="choose another ID, or move the entry to the section of the imported element",
                    )
                )
                continue
            if ident in index:
                _merge_into(target[index[ident]], item)
                moves[where] = (section, index[ident])
            else:
                target.append(copy.deepcopy(item))
                moves[where] = (section, len(target) - 1)
    for section in ("controls", "accepted_risks"):
        items = data.get(section)
        if not isinstance(items, list):
            continue
        target = merged.setdefault(section, [])
        for n, item in enumerate(items):
            replaced = section == "controls" and isinstance(item, dict) and item.get("id") in {c.get("id") for c in target}
            if replaced:
                target[:] = [c for c in target if c.get("id") != item.get("id")]
            target.append(copy.deepcopy(item))
            moves[(section, n)] = (section, len(target) - 1)
    if problems:
        raise InputError(problems)
    renames = {f"{t[0]}[{t[1]}]": f"{o[0]}[{o[1]}]" for o, t in moves.items() if len(o) == 2}
    return merged, _placed(overlay, merged, moves), renames


def in_overlay_terms(problems: list[Diagnostic], overlay_file: str, renames: dict[str, str]) -> list[Diagnostic]:
    """Diagnostics of the merged model, with element paths as the overlay numbers them."""
    out = []
    for d in problems:
        head, dot, rest = d.path.partition(".")
        if d.file == overlay_file and head in renames:
            d = dataclasses.replace(d, path=renames[head] + dot + rest)
        out.append(d)
    return out


def _merge_into(base: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge_into(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _placed(overlay: SourceDocument, merged: dict[str, Any], moves: dict[Path_, Path_]) -> SourceDocument:
    doc = SourceDocument(overlay.file, merged)
    for source, target in moves.items():
        for path, pos in overlay.positions.items():
            if path[: len(source)] == source:
                doc.positions[target + path[len(source) :]] = pos
        for path, pos in overlay.key_positions.items():
            if path[: len(source)] == source:
                doc.key_positions[target + path[len(source) :]] = pos
    return doc
