"""The summary counts of the homes a ``--since`` run reuses, without counting all their findings again.

A batch's counts (:func:`domosec.fleet.aggregate.batch_stats`) add up over its homes, and the earlier
run kept each batch's counts in ``state/part-NNNNN.json``. The homes a batch reuses from the batch it
was tonight too are that earlier batch's homes less a few (changed, gone, moved away, or with an
acceptance ending), so their counts from findings are the earlier batch's counts less those few
homes' (whose earlier rows are counted). What comes from the homes' tables rather than their findings
(units, device types, vulnerable components, contradicted items) is counted from the tables, which
hold the reused homes before they are taken out; the worst level per device model and firmware, a
maximum that cannot be subtracted, is taken in one pass over the reused rows. Homes reused from
another batch (they moved) are counted from their rows. The result is what ``batch_stats`` gives for
the reused homes, so a ``--since`` run writes the bytes of a full run (``tests/fleet/test_incremental.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from domosec.assessment import LEVELS
from domosec.fleet.aggregate import Stats, batch_stats, merge_stats
from domosec.fleet.vulnerabilities import VULNERABLE_TABLE

NOT_COUNTED = ["finding_id", "key", "reason", "explain", "factors"]
"""Columns of a findings part that no count reads: left out of the rows that are counted."""
_EQUIPMENT_COUNTS = ("findings", "risk", "units_affected", "homes")
_LEVELS = "[" + ", ".join(f"'{level}'" for level in LEVELS) + "]"


@dataclass(frozen=True)
class Earlier:
    """An earlier findings part and the homes reused from it.

    ``stats`` and ``homes`` are that part's counts and assessed homes, given when the part is the batch's own
    (most of its homes are reused); otherwise the reused homes' rows are counted.
    """

    table: pa.Table
    keep: set[str]
    stats: Stats | None = None
    homes: tuple[str, ...] = ()


def reused_stats(homes: list[str], earlier: list[Earlier], *, contradicted: pa.Table, equipment: pa.Table, vulnerable: pa.Table) -> Stats:
    """The counts of the reused ``homes``, as :func:`batch_stats` gives them; ``equipment`` and ``vulnerable`` are
    their rows as :mod:`domosec.fleet.incremental` reads them from the tables."""
    empty = _narrow(earlier[0].table).schema.empty_table()
    tables = _count(empty, homes, contradicted=contradicted, equipment=equipment, vulnerable=vulnerable)
    found: list[Stats] = []
    for part in earlier:
        gone = sorted(set(part.homes) - part.keep)
        if part.stats is not None and len(gone) < len(part.keep):
            found.append(_less(part.stats, _count(_rows(part.table, gone), gone, vulnerable=vulnerable.schema.empty_table())))
        else:
            keep = sorted(part.keep)
            found.append(_count(_rows(part.table, keep), keep, vulnerable=vulnerable.schema.empty_table()))
    return _assemble(len(homes), tables, merge_stats(found), _worst_ranks(earlier))


def _narrow(table: pa.Table) -> pa.Table:
    return table.drop_columns([c for c in NOT_COUNTED if c in table.column_names])


def _rows(table: pa.Table, homes: list[str]) -> pa.Table:
    narrow = _narrow(table)
    return narrow.filter(pc.is_in(narrow.column("home_id"), value_set=pa.array(homes, pa.string())))


def _count(
    findings: pa.Table,
    homes: list[str],
    *,
    contradicted: pa.Table | None = None,
    equipment: pa.Table | None = None,
    vulnerable: pa.Table,
) -> Stats:
    """:func:`batch_stats` over these rows and tables (none given: empty)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("set threads = 1")
        con.register("homes", pa.table({"home_id": pa.array(homes, pa.string())}))
        con.register("fleet_findings", findings)
        con.register("fleet_contradicted", contradicted if contradicted is not None else _CONTRADICTED.empty_table())
        con.register("equipment", equipment if equipment is not None else _EQUIPMENT.empty_table())
        con.register(VULNERABLE_TABLE, vulnerable)
        return batch_stats(con)
    finally:
        con.close()


_EQUIPMENT = pa.schema([(name, pa.string()) for name in ("home_id", "asset_kind", "type", "vendor", "model", "firmware")])
_CONTRADICTED = pa.schema([("home_id", pa.string()), ("control_id", pa.string())])


def _minus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """``a - b`` per key, leaving out the keys that become 0 (a count of nothing is not listed)."""
    return {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}


def _less(total: Stats, part: Stats) -> Stats:
    """The counts from findings of ``total``'s homes less ``part``'s (a subset of them); the rest is left empty."""
    by_rule: dict[str, Any] = {}
    for rule, entry in total["by_rule"].items():
        other = part["by_rule"].get(rule, {"levels": {}, "open_levels": {}, "homes_open": 0})
        levels = _minus(entry["levels"], other["levels"])
        if levels:
            open_levels = _minus(entry["open_levels"], other["open_levels"])
            by_rule[rule] = {"levels": levels, "open_levels": open_levels, "homes_open": entry["homes_open"] - other["homes_open"]}
    equipment: dict[str, Any] = {}
    for key, entry in total["equipment"].items():
        other = part["equipment"].get(key)
        counts = {f: entry[f] - (other[f] if other else 0) for f in _EQUIPMENT_COUNTS}
        equipment[key] = {**entry, **counts, "rules": _minus(entry["rules"], other["rules"] if other else {}), "units": 0, "type": ""}
    rules: dict[str, Any] = {}
    for key, entry in total["software"]["firmware_rules"].items():
        other = part["software"]["firmware_rules"].get(key, {"homes": 0, "units": 0})
        if entry["homes"] - other["homes"]:
            rules[key] = {"homes": entry["homes"] - other["homes"], "units": entry["units"] - other["units"]}
    return {
        "homes": total["homes"] - part["homes"],
        "findings": total["findings"] - part["findings"],
        "by_rule": by_rule,
        "worst": _minus(total["worst"], part["worst"]),
        "equipment": equipment,
        "controls_contradicted": {},
        "treatments": _minus(total["treatments"], part["treatments"]),
        "software": {"vulnerable": {}, "firmware_rules": rules},
    }


def _worst_ranks(earlier: list[Earlier]) -> dict[str, int]:
    """Per device model and firmware, the worst level of the reused homes' open findings (as ``batch_stats`` ranks it)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("set threads = 1")
        selects = []
        for i, part in enumerate(earlier):
            columns = ["home_id", "asset_kind", "asset_vendor", "asset_model", "asset_firmware", "level", "treatment"]
            con.register(f"_rows_{i}", part.table.select(columns))
            con.register(f"_keep_{i}", pa.table({"home_id": pa.array(sorted(part.keep), pa.string())}))
            selects.append(f"select * from _rows_{i} where home_id in (select home_id from _keep_{i})")
        rows = con.execute(
            f"""select asset_kind, asset_vendor, asset_model, asset_firmware, max(list_position({_LEVELS}, level))
                from ({" union all ".join(selects)}) where asset_vendor is not null and treatment <> 'accepted' group by all"""
        ).fetchall()
    finally:
        con.close()
    ranks: dict[str, int] = {}
    for kind, vendor, model, firmware, rank in rows:
        key = "\x1f".join((kind, vendor or "", model or "", firmware or ""))
        ranks[key] = max(ranks.get(key, 0), int(rank))
    return ranks


def _assemble(homes: int, tables: Stats, found: Stats, ranks: dict[str, int]) -> Stats:
    """The counts from the tables and the counts from findings as one batch's counts."""
    equipment: dict[str, Any] = {}
    for key in dict.fromkeys([*tables["equipment"], *found["equipment"]]):
        base = tables["equipment"].get(key)
        extra = found["equipment"].get(key)
        if base is None and (extra is None or not (extra["findings"] or extra["rules"])):
            continue  # a model and firmware none of the reused homes has
        entry = dict(base) if base is not None else {**extra, "units": 0, "type": ""}
        if extra is not None:
            entry |= {f: extra[f] for f in _EQUIPMENT_COUNTS} | {"rules": dict(extra["rules"])}
        entry["worst_rank"] = ranks.get(key, 0)
        equipment[key] = entry
    return {
        "homes": homes,
        "findings": found["findings"],
        "by_rule": found["by_rule"],
        "worst": found["worst"],
        "equipment": equipment,
        "controls_contradicted": tables["controls_contradicted"],
        "treatments": found["treatments"],
        "software": {"vulnerable": tables["software"]["vulnerable"], "firmware_rules": found["software"]["firmware_rules"]},
    }
