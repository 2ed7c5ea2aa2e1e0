"""Per-batch counts for the fleet summary, and how counts of many batches add up.

A batch's counts are plain dictionaries (JSON-able, small), so they travel back from worker
processes and Spark tasks cheaply. Homes never span batches, so every count simply adds up.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from domosec.assessment import LEVELS
from domosec.fleet.vulnerabilities import batch_counts, merge_counts

Stats = dict[str, Any]


FINDING_COLUMNS = (
    "home_id",
    "rule_id",
    "level",
    "treatment",
    "score",
    "asset_kind",
    "asset_id",
    "asset_vendor",
    "asset_model",
    "asset_firmware",
)
"""The columns of the findings the counts read."""
EQUIPMENT = ["asset_kind", "asset_vendor", "asset_model", "asset_firmware"]


def batch_stats(con: duckdb.DuckDBPyConnection, findings: pa.Table | None = None) -> Stats:
    """Counts over the batch in ``con`` (tables ``fleet_findings``, ``fleet_contradicted``, ``equipment``, ``homes``).

    The counts over the findings are grouped in Arrow, on ``findings`` when the caller holds them as a table (the
    engine does), else on ``fleet_findings`` fetched once: a few grouped passes over one table cost less than as
    many DuckDB queries, each of which converts the Arrow columns it reads again.
    """
    if findings is None:
        findings = con.sql(f"select {', '.join(FINDING_COLUMNS)} from fleet_findings").to_arrow_table()
    findings = findings.select(list(FINDING_COLUMNS))
    # As SQL's `treatment <> 'accepted'`: a finding without a treatment is neither open nor accepted.
    open_ = findings.filter(pc.not_equal(findings["treatment"], "accepted"))
    rank = pc.add(pc.index_in(open_["level"], value_set=pa.array(LEVELS, pa.string())), 1)
    open_ = open_.append_column("rank", rank)
    by_level = _groups(findings, ["rule_id", "level", "treatment"], [([], "count_all")])
    homes_by_rule = _groups(open_, ["rule_id"], [("home_id", "count_distinct")])
    worst_rank = dict(_groups(open_, ["home_id"], [("rank", "max")]))
    equipment = open_.filter(pc.is_valid(open_["asset_vendor"]))
    # One unit is one home and asset, counted by its text as SQL's count(distinct home_id || '@' || asset_id) does.
    equipment = equipment.append_column("unit", pc.binary_join_element_wise(equipment["home_id"], equipment["asset_id"], "@"))
    risky = _groups(
        equipment,
        EQUIPMENT,
        [([], "count_all"), ("score", "sum"), ("unit", "count_distinct"), ("home_id", "count_distinct"), ("rank", "max")],
    )
    by_equipment_rule = _groups(
        equipment, [*EQUIPMENT, "rule_id"], [([], "count_all"), ("home_id", "count_distinct"), ("unit", "count_distinct")]
    )
    units = con.execute(
        "select asset_kind, min(type), vendor, model, firmware, count(*) from ("
        "select asset_kind, type, coalesce(vendor, '') as vendor, coalesce(model, '') as model, coalesce(firmware, '') as firmware "
        "from equipment) group by asset_kind, vendor, model, firmware"
    ).fetchall()
    controls = con.execute("select control_id, count(distinct home_id) from fleet_contradicted group by all").fetchall()
    worst: Counter[str] = Counter()
    for (home,) in con.execute("select home_id from homes").fetchall():
        ranked = worst_rank.get(home)
        worst["none" if ranked is None else LEVELS[ranked[0] - 1]] += 1
    treatments: Counter[str] = Counter()
    stats: Stats = {
        "homes": sum(worst.values()),
        "findings": findings.num_rows,
        "by_rule": {},
        "worst": dict(worst),
        "equipment": {},
        "controls_contradicted": {str(k): int(v) for k, v in controls},
        "treatments": treatments,
        "software": batch_counts(con, by_rule=[(*key, h, u) for *key, (_, h, u) in by_equipment_rule]),
    }
    for rule_id, level, treatment, (count,) in by_level:
        entry = stats["by_rule"].setdefault(rule_id, {"levels": {}, "open_levels": {}, "homes_open": 0})
        entry["levels"][level] = entry["levels"].get(level, 0) + count
        if treatment is not None and treatment != "accepted":
            entry["open_levels"][level] = entry["open_levels"].get(level, 0) + count
        treatments[str(treatment)] += count
    stats["treatments"] = dict(treatments)
    for rule_id, (homes_with,) in homes_by_rule:
        stats["by_rule"][rule_id]["homes_open"] = homes_with
    equipment_stats: dict[str, dict[str, Any]] = stats["equipment"]
    for kind, type_, vendor, model, firmware, n in units:
        key = _equipment_key(kind, vendor, model, firmware)
        entry = equipment_stats.setdefault(key, _new_equipment(kind, vendor, model, firmware))
        entry["type"] = type_
        entry["units"] += int(n)
    for kind, vendor, model, firmware, (count, risk, affected, homes_with, top_rank) in risky:
        entry = equipment_stats.setdefault(_equipment_key(kind, vendor, model, firmware), _new_equipment(kind, vendor, model, firmware))
        entry["findings"] += count
        entry["risk"] += risk
        entry["units_affected"] += affected
        entry["homes"] += homes_with
        entry["worst_rank"] = max(entry["worst_rank"], top_rank)
    for kind, vendor, model, firmware, rule_id, (count, _, _) in by_equipment_rule:
        entry = equipment_stats[_equipment_key(kind, vendor, model, firmware)]
        entry["rules"][rule_id] = entry["rules"].get(rule_id, 0) + count
    return stats


def _groups(table: pa.Table, keys: list[str], aggregates: list[tuple[Any, str]]) -> list[tuple[Any, ...]]:
    """``table`` grouped by ``keys``: one tuple per group, its keys then a tuple of the aggregates (ints)."""
    grouped = table.group_by(keys, use_threads=False).aggregate(aggregates)
    columns = [grouped.column(k).to_pylist() for k in keys]
    values = [grouped.column(i).to_pylist() for i in range(len(grouped.column_names)) if grouped.column_names[i] not in keys]
    return [(*row[: len(keys)], tuple(int(v or 0) for v in row[len(keys) :])) for row in zip(*columns, *values, strict=True)]


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
