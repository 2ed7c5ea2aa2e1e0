"""The fleet summary: what a service provider reads first, as a JSON document.

Built from the added-up batch counts (:mod:`domosec.fleet.aggregate`); sorted and without
timestamps, so two runs over the same fleet give the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from domosec import __version__
from domosec.assessment import LEVELS
from domosec.catalog.load import Catalogue, clause_sort_key
from domosec.engine.ruleset import LoadedRule
from domosec.fleet.aggregate import Stats
from domosec.fleet.vulnerabilities import ranking

SUMMARY_VERSION = "1.0"
TOP_EQUIPMENT = 50
UPDATE_CONTROLS = ("7.2.17", "7.2.22")
"""Updates (7.2.17) and management of vulnerable devices (7.2.22): the clauses the equipment ranking serves."""


def build_summary(
    stats: Stats,
    *,
    rules: list[LoadedRule],
    catalogue: Catalogue,
    as_of: str,
    engine: str,
    homes_in: int,
    rejected: int,
) -> dict[str, Any]:
    assessed = stats["homes"]
    by_rule = []
    for lr in rules:
        r = lr.rule
        entry = stats["by_rule"].get(r.id, {"levels": {}, "open_levels": {}, "homes_open": 0})
        by_rule.append(
            {
                "rule_id": r.id,
                "title": r.title,
                "dimension": r.dimension,
                "part": r.part,
                "findings": sum(entry["levels"].values()),
                "open": sum(entry["open_levels"].values()),
                "by_level": {lvl: entry["levels"].get(lvl, 0) for lvl in LEVELS},
                "homes_affected": entry["homes_open"],
                "share_of_homes": _share(entry["homes_open"], assessed),
                "controls": list(r.mitigated_by),
            }
        )
    by_rule.sort(key=lambda e: (-e["homes_affected"], e["rule_id"]))
    by_level = {lvl: sum(e["by_level"][lvl] for e in by_rule) for lvl in LEVELS}
    worst = {lvl: stats["worst"].get(lvl, 0) for lvl in ("none", *LEVELS)}
    update_rules = {lr.rule.id for lr in rules if set(lr.rule.mitigated_by) & set(UPDATE_CONTROLS)}
    equipment = []
    for entry in stats["equipment"].values():
        if not entry["findings"]:
            continue
        top_rules = sorted(entry["rules"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        equipment.append(
            {
                "kind": entry["kind"],
                "type": entry["type"],
                "vendor": entry["vendor"],
                "model": entry["model"],
                "firmware": entry["firmware"],
                "units": entry["units"],
                "units_affected": entry["units_affected"],
                "homes": entry["homes"],
                "findings": entry["findings"],
                "risk": entry["risk"],
                "risk_per_unit": round(entry["risk"] / entry["units"], 3) if entry["units"] else None,
                "worst_level": LEVELS[entry["worst_rank"] - 1] if entry["worst_rank"] else None,
                "update_findings": sum(n for rid, n in entry["rules"].items() if rid in update_rules),
                "top_rules": [{"rule_id": rid, "findings": n} for rid, n in top_rules],
            }
        )
    equipment.sort(key=lambda e: (-e["risk"], e["kind"], e["vendor"], e["model"], e["firmware"]))
    controls = [
        {
            "control_id": cid,
            "title": catalogue.controls[cid].title if cid in catalogue.controls else "",
            "homes_contradicted": n,
            "share_of_homes": _share(n, assessed),
        }
        for cid, n in stats["controls_contradicted"].items()
    ]
    controls.sort(key=lambda c: (-c["homes_contradicted"], clause_sort_key(c["control_id"])))
    return {
        "version": SUMMARY_VERSION,
        "tool": "domosec",
        "tool_version": __version__,
        "catalogue_version": catalogue.standard.catalogue_version,
        "as_of": as_of,
        "engine": engine,
        "homes": {"in": homes_in, "assessed": assessed, "rejected": rejected},
        "findings": {
            "total": stats["findings"],
            "by_level": by_level,
            "by_treatment": dict(sorted(stats["treatments"].items())),
        },
        "homes_by_worst_level": worst,
        "rules": by_rule,
        "equipment": equipment[:TOP_EQUIPMENT],
        "equipment_ranked": len(equipment),
        "controls_contradicted": controls,
        "vulnerabilities": ranking(stats.get("software", {}), update_rules, {lr.rule.id: lr.rule.title for lr in rules}),
    }


def _share(n: int, total: int) -> float:
    return round(n / total, 6) if total else 0.0


def render_summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
