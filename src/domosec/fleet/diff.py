"""What changed between two fleet runs: new and resolved findings, per rule and per device model and firmware.

Findings are matched by their stable ID; a finding in both runs whose inherent level moved is
counted as changed. Both runs' findings are read by DuckDB straight from their Parquet parts.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import duckdb

from domosec.errors import Diagnostic, InputError
from domosec.fleet.outdir import FINDINGS_DIR, SUMMARY_JSON, recover


def _findings_glob(run: Path) -> str:
    with contextlib.suppress(OSError):  # a directory this user cannot write is read as it is
        recover(run)  # a run killed while publishing: finish its publication first, so old and new never mix
    folder = run / FINDINGS_DIR
    if not (run / SUMMARY_JSON).is_file() or not folder.is_dir():
        raise InputError([Diagnostic(str(run), None, None, "not-a-fleet-run", "expected the output directory of `domosec fleet assess`")])
    return str(folder / "part-*.parquet").replace("'", "''")


def diff_runs(old: Path, new: Path, *, top: int = 50) -> dict[str, Any]:
    """New, resolved and changed findings, per rule and per (vendor, model, firmware)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"create view old as select * from read_parquet('{_findings_glob(old)}')")
        con.execute(f"create view new as select * from read_parquet('{_findings_glob(new)}')")
        con.execute(
            """create table changes as
            select coalesce(n.finding_id, o.finding_id) as finding_id,
              coalesce(n.rule_id, o.rule_id) as rule_id,
              case when o.finding_id is null then 'new' when n.finding_id is null then 'resolved'
                   when o.level <> n.level then 'changed' else 'same' end as change,
              o.asset_vendor as old_vendor, o.asset_model as old_model, o.asset_firmware as old_firmware,
              n.asset_vendor as new_vendor, n.asset_model as new_model, n.asset_firmware as new_firmware,
              o.level as old_level, n.level as new_level
            from old as o full outer join new as n on n.finding_id = o.finding_id"""
        )
        totals = dict(con.execute("select change, count(*) from changes group by all").fetchall())
        rules = con.execute(
            """select rule_id, count(*) filter (where change = 'new'), count(*) filter (where change = 'resolved'),
                 count(*) filter (where change = 'changed')
               from changes where change <> 'same' group by rule_id order by rule_id"""
        ).fetchall()
        equipment = con.execute(
            f"""select vendor, model, firmware, sum(new), sum(resolved) from (
                  select new_vendor as vendor, new_model as model, new_firmware as firmware, 1 as new, 0 as resolved
                  from changes where change = 'new' and new_vendor is not null
                  union all
                  select old_vendor, old_model, old_firmware, 0, 1 from changes where change = 'resolved' and old_vendor is not null
                ) group by all order by sum(new) + sum(resolved) desc, vendor, model, firmware limit {int(top)}"""
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(
            [Diagnostic(str(new), None, None, "bad-findings", f"cannot read the findings: {str(exc).splitlines()[0]}")]
        ) from None
    finally:
        con.close()
    return {
        "old": str(old),
        "new": str(new),
        "totals": {k: int(totals.get(k, 0)) for k in ("new", "resolved", "changed", "same")},
        "rules": [{"rule_id": r, "new": int(a), "resolved": int(b), "changed": int(c)} for r, a, b, c in rules],
        "equipment": [{"vendor": v, "model": m, "firmware": f, "new": int(a), "resolved": int(b)} for v, m, f, a, b in equipment],
    }


def render_diff_json(diff: dict[str, Any]) -> str:
    return json.dumps(diff, indent=2, ensure_ascii=False) + "\n"
