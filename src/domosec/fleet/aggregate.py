"""Per-batch counts for the fleet summary, and how counts of many batches add up.

A batch's counts are plain dictionaries (JSON-able, small), so they travel back from worker
processes and Spark tasks cheaply. Homes never span batches, so every count simply adds up.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb

from domosec.assessment import LEVELS
from domosec.fleet.vulnerabilities import batch_counts, merge_counts

Stats = dict[str, Any]
LEVEL_ORDER = ", ".join(f"'{lvl}'" for lvl in LEVELS)


def batch_stats(con: duckdb.DuckDBPyConnection) -> Stats:
    """Counts over the batch in ``con`` (tables ``fleet_findings``, ``fleet_contradicted``, ``equipment``, ``homes``)."""
    by_rule = con.execute("select rule_id, level, treatment <> 'accepted' as is_open, count(*) from fleet_findings group by all").fetchall()
    homes_by_rule = con.execute(
        "select rule_id, count(distinct home_id) from fleet_findings where treatment <> 'accepted' group by all"
    ).fetchall()
    worst = con.execute(
        f"""select coalesce(w.worst, 'none'), count(*) from homes as h left join (
              select home_id, list_position([{LEVEL_ORDER}], level) as rank, level as worst from fleet_findings
              where treatment <> 'accepted' qualify row_number() over (partition by home_id order by rank desc) = 1
            ) as w on w.home_id = h.home_id group by all"""
    ).fetchall()
    risky = con.execute(
        f"""select asset_kind, asset_vendor, asset_model, asset_firmware,
              count(*) as findings, sum(score) as risk, count(distinct home_id || '@' || asset_id) as units_affected,
              count(distinct home_id) as homes, max(list_position([{LEVEL_ORDER}], level)) as worst_rank
            from fleet_findings where asset_vendor is not null and treatment <> 'accepted' group by all"""
    ).fetchall()
    rules_by_equipment = con.execute(
        "select asset_kind, asset_vendor, asset_model, asset_firmware, rule_id, count(*) from fleet_findings "
        "where asset_vendor is not null and treatment <> 'accepted' group by all"
    ).fetchall()
    units = con.execute(
        "select asset_kind, min(type), vendor, model, firmware, count(*) from ("
        "select asset_kind, type, coalesce(vendor, '') as vendor, coalesce(model, '') as model, coalesce(firmware, '') as firmware "
        "from equipment) group by asset_kind, vendor, model, firmware"
    ).fetchall()
    controls = con.execute("select control_id, count(distinct home_id) from fleet_contradicted group by all").fetchall()
    treatments = con.execute("select treatment, count(*) from fleet_findings group by all").fetchall()
    homes = int(con.execute("select count(*) from homes").fetchall()[0][0])
    findings = int(con.execute("select count(*) from fleet_findings").fetchall()[0][0])
    stats: Stats = {
        "homes": homes,
        "findings": findings,
        "by_rule": {},
        "worst": {str(k): int(v) for k, v in worst},
        "equipment": {},
        "controls_contradicted": {str(k): int(v) for k, v in controls},
        "treatments": {str(k): int(v) for k, v in treatments},
        "software": batch_counts(con),
    }
    for rule_id, level, is_open, count in by_rule:
        entry = stats["by_rule"].setdefault(rule_id, {"levels": {}, "open_levels": {}, "homes_open": 0})
        entry["levels"][level] = entry["levels"].get(level, 0) + int(count)
        if is_open:
            entry["open_levels"][level] = int(count)
    for rule_id, homes_with in homes_by_rule:
        stats["by_rule"][rule_id]["homes_open"] = int(homes_with)
    equipment_stats: dict[str, dict[str, Any]] = stats["equipment"]
    for kind, type_, vendor, model, firmware, n in units:
        key = _equipment_key(kind, vendor, model, firmware)
        entry = equipment_stats.setdefault(key, _new_equipment(kind, vendor, model, firmware))
        entry["type"] = type_
        entry["units"] += int(n)
    for kind, vendor, model, firmware, count, risk, affected, homes_with, worst_rank in risky:
        entry = equipment_stats.setdefault(_equipment_key(kind, vendor, model, firmware), _new_equipment(kind, vendor, model, firmware))
        entry["findings"] += int(count)
        entry["risk"] += int(risk)
        entry["units_affected"] += int(affected)
        entry["homes"] += int(homes_with)
        entry["worst_rank"] = max(entry["worst_rank"], int(worst_rank))
    for kind, vendor, model, firmware, rule_id, count in rules_by_equipment:
        entry = equipment_stats[_equipment_key(kind, vendor, model, firmware)]
        entry["rules"][rule_id] = entry["rules"].get(rule_id, 0) + int(count)
    return stats


def _equipment_key(kind: str, vendor: str, model: str, firmware: str) -> str:
    return "\x1f".join((kind, vendor or "", model or "", firmware or ""))


def _new_equipment(kind: str, vendor: str, model: str, firmware: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "type": "",
        "vendor": vendor or "",
        "model": model or "",
        "firmware": firmware or "",
        "units": 0,
        "findings": 0,
        "risk": 0,
        "units_affected": 0,
        "homes": 0,
        "worst_rank": 0,
        "rules": {},
    }


def merge_stats(parts: list[Stats]) -> Stats:
    """The counts of many batches added together."""
    out: Stats = {
        "homes": 0,
        "findings": 0,
        "by_rule": {},
        "worst": Counter(),
        "equipment": {},
        "controls_contradicted": Counter(),
        "treatments": Counter(),
    }
    for s in parts:
        out["homes"] += s["homes"]
        out["findings"] += s["findings"]
        out["worst"].update(s["worst"])
        out["controls_contradicted"].update(s["controls_contradicted"])
        out["treatments"].update(s["treatments"])
        for rule_id, entry in s["by_rule"].items():
            target = out["by_rule"].setdefault(rule_id, {"levels": Counter(), "open_levels": Counter(), "homes_open": 0})
            target["levels"].update(entry["levels"])
            target["open_levels"].update(entry["open_levels"])
            target["homes_open"] += entry["homes_open"]
        for key, entry in s["equipment"].items():
            target = out["equipment"].setdefault(
                key, {**entry, "rules": Counter(), "units": 0, "findings": 0, "risk": 0, "units_affected": 0, "homes": 0, "worst_rank": 0}
            )
            # The smallest type, as one batch's count takes it: the same whichever way the homes are split into batches
            # (or, in a --since run, into reused and assessed homes).
            target["type"] = min((t for t in (target["type"], entry["type"]) if t), default="")
            for field in ("units", "findings", "risk", "units_affected", "homes"):
                target[field] += entry[field]
            target["worst_rank"] = max(target["worst_rank"], entry["worst_rank"])
            target["rules"].update(entry["rules"])
    out["software"] = merge_counts([s.get("software", {}) for s in parts])
    out["worst"] = dict(out["worst"])
    out["controls_contradicted"] = dict(out["controls_contradicted"])
    out["treatments"] = dict(out["treatments"])
    for entry in out["by_rule"].values():
        entry["levels"] = dict(entry["levels"])
        entry["open_levels"] = dict(entry["open_levels"])
    for entry in out["equipment"].values():
        entry["rules"] = dict(entry["rules"])
    return out
