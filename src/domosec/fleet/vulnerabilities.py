"""Firmware × vulnerability across a fleet: which known vulnerabilities sit on which device model and firmware,
in how many homes, known-exploited first.

From the homes' own ``software`` and ``software_vulnerabilities`` tables (the SBOMs imported onto their gateways
and devices, matched offline); a match a VEX statement dismisses (``not_affected``, ``fixed``) is left out.
A fleet whose homes carry no components gets the same table from the findings instead: each device model and
firmware × each rule that updates (7.2.17) or the management of vulnerable devices (7.2.22) would treat.

Counts are kept per batch as small dictionaries and add up, because a home is in one batch only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb

from domosec.assessment import SEVERITY_ORDER

TOP = 50
VULNERABLE_TABLE = "fleet_vulnerable"
"""The batch's vulnerable components, one row per (home, asset, component, vulnerability)."""

VULNERABLE_SQL = """
select sw.home_id, sw.asset_kind, sw.asset_id, coalesce(eq.vendor, '') as vendor, coalesce(eq.model, '') as model,
  coalesce(eq.firmware, '') as firmware, sw.name as component, coalesce(sw.version, '') as version,
  sv.vulnerability_id, coalesce(sv.known_exploited, false) as known_exploited, coalesce(sv.severity, 'unknown') as severity,
  sv.cvss, coalesce(sv.fixed_version, '') as fixed_version
from software_vulnerabilities as sv
join software as sw on sw.home_id = sv.home_id and sw.asset_kind = sv.asset_kind and sw.asset_id = sv.asset_id
  and sw.component_index = sv.component_index
left join (
  select home_id, 'gateway' as asset_kind, gateway_id as asset_id, vendor, model, firmware from gateways
  union all
  select home_id, 'device' as asset_kind, device_id as asset_id, vendor, model, firmware from devices
) as eq on eq.home_id = sw.home_id and eq.asset_kind = sw.asset_kind and eq.asset_id = sw.asset_id
where coalesce(sv.vex_state, 'affected') not in ('not_affected', 'fixed')
"""
_SEP = "\x1f"


def vulnerable_rows(con: duckdb.DuckDBPyConnection, *, homes: str | None = None) -> duckdb.DuckDBPyRelation:
    """The vulnerable components of the homes in ``con`` (or only of those in the table named ``homes``)."""
    where = f" and sw.home_id in (select home_id from {homes})" if homes else ""
    return con.sql(VULNERABLE_SQL + where)


def batch_counts(con: duckdb.DuckDBPyConnection, *, by_rule: list[tuple[Any, ...]] | None = None) -> dict[str, Any]:
    """The batch's counts: per firmware × vulnerability, and per firmware × rule (the fallback ranking).

    ``con`` holds ``fleet_findings`` and either ``fleet_vulnerable`` (reused homes, :mod:`domosec.fleet.incremental`)
    or the model tables ``software`` and ``software_vulnerabilities``. ``by_rule``, when the caller has counted
    them, are the rows of the firmware × rule query below.
    """
    tables = {str(name) for (name,) in con.execute("select table_name from information_schema.tables").fetchall()}
    if VULNERABLE_TABLE in tables:
        source = VULNERABLE_TABLE
    elif {"software", "software_vulnerabilities", "gateways", "devices"} <= tables:
        source = f"({VULNERABLE_SQL})"
    else:
        source = ""
    vulnerable: dict[str, dict[str, Any]] = {}
    if source:
        rows = con.execute(
            f"""select vulnerability_id, component, version, asset_kind, vendor, model, firmware, bool_or(known_exploited),
                  min(list_position(['critical', 'high', 'medium', 'low', 'unknown'], severity)), max(cvss), max(fixed_version),
                  count(distinct home_id), count(distinct home_id || '@' || asset_kind || '@' || asset_id)
                from {source} as v group by all"""
        ).fetchall()
        for vid, component, version, kind, vendor, model, firmware, kev, severity_rank, cvss, fixed, homes, units in rows:
            key = _SEP.join((vid, component, version, kind, vendor, model, firmware))
            vulnerable[key] = {
                "known_exploited": bool(kev),
                "severity_rank": int(severity_rank or 5),
                "cvss": None if cvss is None else float(cvss),
                "fixed_version": fixed or "",
                "homes": int(homes),
                "units": int(units),
            }
    if by_rule is None:
        by_rule = con.execute(
            """select asset_kind, asset_vendor, asset_model, asset_firmware, rule_id, count(distinct home_id),
                 count(distinct home_id || '@' || asset_id)
               from fleet_findings where asset_vendor is not null and treatment <> 'accepted' group by all"""
        ).fetchall()
    firmware_rules = {
        _SEP.join((rule, kind, vendor or "", model or "", firmware or "")): {"homes": int(h), "units": int(u)}
        for kind, vendor, model, firmware, rule, h, u in by_rule
    }
    return {"vulnerable": vulnerable, "firmware_rules": firmware_rules}


def merge_counts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The counts of many batches added together (homes never span batches)."""
    vulnerable: dict[str, dict[str, Any]] = {}
    firmware_rules: dict[str, Counter[str]] = {}
    for part in parts:
        for key, entry in part.get("vulnerable", {}).items():
            target = vulnerable.setdefault(key, {**entry, "homes": 0, "units": 0})
            target["known_exploited"] = target["known_exploited"] or entry["known_exploited"]
            target["severity_rank"] = min(target["severity_rank"], entry["severity_rank"])
            target["cvss"] = max((c for c in (target["cvss"], entry["cvss"]) if c is not None), default=None)
            target["fixed_version"] = max(target["fixed_version"], entry["fixed_version"])
            target["homes"] += entry["homes"]
            target["units"] += entry["units"]
        for key, entry in part.get("firmware_rules", {}).items():
            firmware_rules.setdefault(key, Counter()).update(entry)
    return {"vulnerable": vulnerable, "firmware_rules": {k: dict(v) for k, v in firmware_rules.items()}}


def ranking(counts: dict[str, Any], update_rules: set[str], rule_titles: dict[str, str]) -> dict[str, Any]:
    """The summary's ``vulnerabilities`` entry: ``source`` (``sbom`` or ``findings``), the top rows and how many were ranked."""
    severities = list(SEVERITY_ORDER)
    if counts.get("vulnerable"):
        rows = []
        for key, e in counts["vulnerable"].items():
            vid, component, version, kind, vendor, model, firmware = key.split(_SEP)
            rows.append(
                {
                    "vulnerability_id": vid,
                    "known_exploited": e["known_exploited"],
                    "severity": severities[e["severity_rank"] - 1] if 1 <= e["severity_rank"] <= len(severities) else "unknown",
                    "cvss": e["cvss"],
                    "component": component,
                    "version": version,
                    "fixed_version": e["fixed_version"],
                    "kind": kind,
                    "vendor": vendor,
                    "model": model,
                    "firmware": firmware,
                    "homes": e["homes"],
                    "units": e["units"],
                }
            )
        rows.sort(
            key=lambda r: (not r["known_exploited"], -r["homes"], SEVERITY_ORDER.get(r["severity"], 9), -(r["cvss"] or 0.0), *_tail(r))
        )
        return {"source": "sbom", "ranked": len(rows), "rows": rows[:TOP]}
    rows = []
    for key, e in counts.get("firmware_rules", {}).items():
        rule, kind, vendor, model, firmware = key.split(_SEP)
        if rule in update_rules:
            row = {
                "rule_id": rule,
                "title": rule_titles.get(rule, ""),
                "kind": kind,
                "vendor": vendor,
                "model": model,
                "firmware": firmware,
            }
            rows.append(row | {"homes": e["homes"], "units": e["units"]})
    rows.sort(key=lambda r: (-r["homes"], r["kind"], r["vendor"], r["model"], r["firmware"], r["rule_id"]))
    return {"source": "findings", "ranked": len(rows), "rows": rows[:TOP]}


def _tail(r: dict[str, Any]) -> tuple[str, ...]:
    return (r["vulnerability_id"], r["component"], r["version"], r["kind"], r["vendor"], r["model"], r["firmware"])
