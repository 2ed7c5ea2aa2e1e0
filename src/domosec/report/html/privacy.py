"""The privacy view: which data categories flow where, to whom, and whether encrypted.

Flows of a home are gathered per data category and destination (with the same encryption,
authentication, consent and boundary facts), so a home with thousands of identical flows
gives a handful of rows; the sources are named up to ``NAMED`` and then counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from domosec.assessment import DataCategoryInfo, Element, Home

NAMED = 8
SENSITIVITY_ORDER = {"special": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class FlowRow:
    category: str
    category_title: str
    sensitivity: str
    sources: list[str]
    more_sources: int
    target: str
    target_kind: str
    operator: str
    jurisdiction: str
    leaves_home: bool
    encrypted: bool | None
    authenticated: bool | None
    consent: bool | None
    purposes: list[str]
    flows: int


@dataclass(frozen=True)
class HeldRow:
    category: str
    category_title: str
    sensitivity: str
    holders: list[str]
    more_holders: int


@dataclass(frozen=True)
class PrivacyView:
    home_id: str
    flows: list[FlowRow]
    held: list[HeldRow]


def privacy_view(home: Home, categories: list[DataCategoryInfo]) -> PrivacyView:
    info = {c.id: c for c in categories}
    elements = {e.id: e for e in home.elements}
    groups: dict[tuple[str, str, bool, bool | None, bool | None, bool | None], list[tuple[str, str]]] = defaultdict(list)
    for fl in home.flows:
        for cat in fl.data:
            key = (cat, fl.target, fl.leaves_home, fl.encrypted, fl.authenticated, fl.consent)
            groups[key].append((fl.source, fl.purpose))
    rows = []
    for (cat, target, leaves, enc, auth, consent), items in groups.items():
        sources = sorted({_name(elements, s) for s, _ in items}, key=str.lower)
        t = elements.get(target)
        rows.append(
            FlowRow(
                category=cat,
                category_title=info[cat].title if cat in info else cat.replace("_", " "),
                sensitivity=info[cat].sensitivity if cat in info else "",
                sources=sources[:NAMED],
                more_sources=max(0, len(sources) - NAMED),
                target=_name(elements, target),
                target_kind=t.kind if t else "",
                operator=t.operator if t else "",
                jurisdiction=t.jurisdiction if t else "",
                leaves_home=leaves,
                encrypted=enc,
                authenticated=auth,
                consent=consent,
                purposes=sorted({p for _, p in items if p})[:3],
                flows=len(items),
            )
        )
    rows.sort(key=lambda r: (SENSITIVITY_ORDER.get(r.sensitivity, 9), r.category_title.lower(), not r.leaves_home, r.target.lower()))
    held: dict[str, list[str]] = defaultdict(list)
    for e in home.elements:
        for cat in e.data:
            held[cat].append(e.name or e.id)
    held_rows = [
        HeldRow(
            category=cat,
            category_title=info[cat].title if cat in info else cat.replace("_", " "),
            sensitivity=info[cat].sensitivity if cat in info else "",
            holders=sorted(names, key=str.lower)[:NAMED],
            more_holders=max(0, len(names) - NAMED),
        )
        for cat, names in held.items()
    ]
    held_rows.sort(key=lambda r: (SENSITIVITY_ORDER.get(r.sensitivity, 9), r.category_title.lower()))
    return PrivacyView(home.home_id, rows, held_rows)


def _name(elements: dict[str, Element], element_id: str) -> str:
    e = elements.get(element_id)
    return (e.name if e is not None else "") or element_id
