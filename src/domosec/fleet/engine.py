"""Assess a batch of homes in one embedded DuckDB database: the same rule files, rated in bulk.

The single-model path (:mod:`domosec.engine.assess`) builds one Python object per finding. A
fleet has tens of millions of findings, so here every step after the rule queries is SQL over
the whole batch: each rule's rows go into one table, and one query (:mod:`domosec.fleet.rating`)
gives each row its stable ID (the first 16 hex digits of SHA-256 over ``RULE@home@asset[@detail]``),
its inherent rating (matrix, rule adjustments, context factors), its treatment and its residual
rating, exactly as :func:`domosec.engine.assess.assess` does (``tests/fleet/test_same_findings.py``
checks it). The findings are sorted and counted in Arrow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from domosec.catalog.load import Catalogue
from domosec.engine import plans
from domosec.engine.database import Database, QueryClock, RowLimitError
from domosec.engine.memory import process_cap
from domosec.engine.rule import RESERVED_COLUMNS
from domosec.engine.ruleoutput import OPTIONAL_COLUMNS, column_problems, limit_problem, output_problem, sql_row_problems
from domosec.engine.ruleset import LoadedRule
from domosec.engine.scoring import Matrix
from domosec.errors import Diagnostic, RuleError
from domosec.fleet.aggregate import Stats, batch_stats
from domosec.fleet.rating import contradicted_sql, rating_sql
from domosec.fleet.validate import load_arrow

BATCH_TIME_LIMIT_S = 600.0
"""A rule query over a whole batch is interrupted after this long (the single-model path allows 30 s per home)."""

FINDINGS_SCHEMA = pa.schema(
    [
        pa.field("home_id", pa.string()),
        pa.field("finding_id", pa.string()),
        pa.field("key", pa.string()),
        pa.field("rule_id", pa.string()),
        pa.field("asset_kind", pa.string()),
        pa.field("asset_id", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("explain", pa.string()),
        pa.field("dimension", pa.string()),
        pa.field("likelihood", pa.int32()),
        pa.field("impact", pa.int32()),
        pa.field("score", pa.int32()),
        pa.field("level", pa.string()),
        pa.field("factors", pa.list_(pa.string())),
        pa.field("residual_likelihood", pa.int32()),
        pa.field("residual_impact", pa.int32()),
        pa.field("residual_score", pa.int32()),
        pa.field("residual_level", pa.string()),
        pa.field("treatment", pa.string()),
        pa.field("acceptance_expires", pa.date32()),
        pa.field("asset_vendor", pa.string()),
        pa.field("asset_model", pa.string()),
        pa.field("asset_firmware", pa.string()),
        pa.field("confidence", pa.string()),
    ]
)
"""One row per finding; docs/fleet.md describes each column."""


@dataclass
class RulePlan:
    """The rules of a run, with the SQL that wraps each query; column lists are learnt on first use."""

    rules: list[LoadedRule]
    matrix: Matrix
    catalogue: Catalogue
    columns: dict[str, list[str]] = field(default_factory=dict)
    shared: bool = True
    """Run the rules in shared plans (:mod:`domosec.engine.plans`); False runs each rule alone."""

    def rule_tables(self) -> dict[str, pa.Table]:
        rules = [lr.rule for lr in self.rules]
        return {
            "fleet_rules": pa.table(
                {
                    "rule_id": [r.id for r in rules],
                    "dimension": [r.dimension for r in rules],
                    "base_likelihood": pa.array([r.likelihood for r in rules], pa.int32()),
                    "base_impact": pa.array([r.impact for r in rules], pa.int32()),
                }
            ),
            "fleet_rule_controls": pa.table(
                {"rule_id": [r.id for r in rules for _ in r.mitigated_by], "control_id": [c for r in rules for c in r.mitigated_by]}
            ),
        }


@dataclass(frozen=True)
class BatchResult:
    """What a batch gives: its findings, the controls its homes contradict, and its counts for the summary."""

    findings: pa.Table
    contradicted: pa.Table
    stats: Stats


def assess_batch(tables: dict[str, pa.Table], plan: RulePlan, *, as_of: dt.date, threads: int = 1) -> BatchResult:
    """Assess the (already validated) homes in ``tables``."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"set threads = {int(threads)}")
        load_arrow(con, tables)
    except BaseException:
        con.close()
        raise
    return assess_loaded(con, plan, as_of=as_of)


def assess_loaded(con: duckdb.DuckDBPyConnection, plan: RulePlan, *, as_of: dt.date) -> BatchResult:
    """Assess the homes whose tables ``con`` holds; closes the connection."""
    try:
        for name, table in plan.rule_tables().items():
            con.register(f"_arrow_{name}", table)
            con.execute(f"create table {name} as select * from _arrow_{name}")
            con.unregister(f"_arrow_{name}")
        db = Database.from_connection(con, as_of=as_of)
        con.execute(
            "create table fleet_raw (rule_id varchar, home_id varchar, asset_kind varchar, asset_id varchar, reason varchar, "
            "detail_key varchar, likelihood_adjust integer, impact_adjust integer, explain varchar, verified boolean)"
        )
        with process_cap(db.memory), QueryClock(BATCH_TIME_LIMIT_S) as clock:
            if not (plan.shared and _run_shared(db, plan, clock)):
                for lr in plan.rules:
                    _run_rule(db, plan, lr, clock)
        _check_rows(con, plan)
        # Rated and fetched in one pass, then sorted in Arrow (a third of what DuckDB's sort of these wide rows costs);
        # the counts below read that Arrow table in place.
        findings = sort_table(db_fetch(db, rating_sql(plan.matrix)).cast(FINDINGS_SCHEMA), SORT_KEYS)
        _check_unique(con, plan, findings)
        con.register("fleet_findings", findings)
        contradicted = db_fetch(db, f"{contradicted_sql(plan.catalogue)} order by c.home_id, c.control_id")
        con.register("fleet_contradicted", contradicted)
        stats = batch_stats(con, findings)
    finally:
        con.close()
    return BatchResult(findings, contradicted, stats)


SORT_KEYS = ("home_id", "rule_id", "asset_id", "key")
"""The order of the findings in each part: byte order of the UTF-8 text, nulls last, as DuckDB's ORDER BY."""


def sort_table(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    indices = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys])
    return table.take(indices)


def db_fetch(db: Database, sql: str) -> pa.Table:
    table: pa.Table = db.con.sql(sql).to_arrow_table()
    return table


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _run_shared(db: Database, plan: RulePlan, clock: QueryClock) -> bool:
    """Insert every rule's rows in shared plans (a few rules of one scope per statement).

    False, with nothing inserted, when anything fails or a rule may be past its row limit: the batch
    then runs rule by rule, which names the rule that failed exactly as a run of that rule alone does.
    """
    try:
        for lr in plan.rules:
            _learn_columns(db, plan, lr)
        for group in plans.groups(plan.rules):
            selects = [
                _select_sql(plan.rules[i].rule.id, plan.rules[i].rule.query, plan.columns[plan.rules[i].rule.id], db.row_limit)
                for i in group
            ]
            with clock.watching(db.con):
                db.con.execute("insert into fleet_raw\n" + "\nunion all\n".join(f"({s})" for s in selects)).fetchall()
        [(total,)] = db.con.execute("select count(*) from fleet_raw").fetchall()
        # Each rule stops at its limit + 1 rows, so only a batch with more rows than one rule's limit can hold one past it.
        if int(total) > db.row_limit:
            raise RowLimitError(db.row_limit)
    except (duckdb.Error, RuleError, RowLimitError, MemoryError):
        db.con.execute("delete from fleet_raw")
        return False
    return True


def _learn_columns(db: Database, plan: RulePlan, lr: LoadedRule) -> None:
    """The names of the rule's columns, checked against the output contract (once per plan)."""
    rule = lr.rule
    if rule.id in plan.columns:
        return
    described = db.con.execute(f"select * from ({rule.query}\n) as r limit 0")
    description = described.description or []
    described.fetchall()
    problems = column_problems(lr, [d[0] for d in description], [str(d[1]) for d in description])
    if problems:
        raise RuleError(problems)
    plan.columns[rule.id] = [d[0] for d in description]


def _run_rule(db: Database, plan: RulePlan, lr: LoadedRule, clock: QueryClock) -> None:
    rule = lr.rule
    try:
        _learn_columns(db, plan, lr)
        columns = plan.columns[rule.id]
        with clock.watching(db.con):
            inserted = db.con.execute(_insert_sql(rule.id, rule.query, columns, db.row_limit)).fetchone()
        if inserted and int(inserted[0]) > db.row_limit:
            raise RowLimitError(db.row_limit)
    except (duckdb.Error, RowLimitError, MemoryError) as exc:
        problem = limit_problem(lr, exc, time_limit_s=BATCH_TIME_LIMIT_S)
        if problem is None:
            text = str(exc).strip()
            message = text.splitlines()[0] if text else type(exc).__name__
            problem = Diagnostic(lr.file, lr.query_line, 1, "rule-failed", f"rule {rule.id}: the query failed: {message}")
        raise RuleError([problem]) from None


def _check_rows(con: duckdb.DuckDBPyConnection, plan: RulePlan) -> None:
    """The rows' values keep the output contract (home, asset and reason given, a known home, a known asset kind)."""
    broken = con.execute(sql_row_problems("fleet_raw", "homes")).fetchone()
    if broken:
        lr = next(r for r in plan.rules if r.rule.id == broken[0])
        raise RuleError([output_problem(lr, str(broken[1]))])


def _insert_sql(rule_id: str, query: str, columns: list[str], row_limit: int) -> str:
    """Insert a rule's rows into ``fleet_raw``."""
    return "insert into fleet_raw\n" + _select_sql(rule_id, query, columns, row_limit)


def _select_sql(rule_id: str, query: str, columns: list[str], row_limit: int) -> str:
    """A rule's rows as ``fleet_raw`` holds them: the reserved columns, the adjustments, the rest as JSON (``explain``)."""
    explain = [c for c in dict.fromkeys(columns) if c not in RESERVED_COLUMNS and c not in OPTIONAL_COLUMNS]
    packed = ", ".join(f"{_q(c)} := r.{_q(c)}" for c in explain)
    quoted = rule_id.replace("'", "''")
    return f"""select '{quoted}', cast(r.home_id as varchar), cast(r.asset_kind as varchar), cast(r.asset_id as varchar),
              cast(r.reason as varchar),
              {"coalesce(cast(r.detail_key as varchar), '')" if "detail_key" in columns else "''"},
              {_adjust("r.likelihood_adjust") if "likelihood_adjust" in columns else "0"},
              {_adjust("r.impact_adjust") if "impact_adjust" in columns else "0"},
              {f"cast(to_json(struct_pack({packed})) as varchar)" if explain else "'{}'"},
              {"coalesce(cast(r.verified as boolean), true)" if "verified" in columns else "true"}
            from {plans.subquery(query, row_limit)} as r"""


def _adjust(column: str) -> str:
    return f"coalesce(greatest(-2, least(2, cast(trunc(cast({column} as double)) as integer))), 0)"


def _check_unique(con: duckdb.DuckDBPyConnection, plan: RulePlan, findings: pa.Table) -> None:
    """No rule gives two rows for one asset of a home with the same ``detail_key``.

    In the sorted findings two such rows are neighbours with the same home, rule, asset and key (the key ends with
    the detail), so comparing each row with the next finds them; only then is ``fleet_raw`` asked which came first.
    """
    if findings.num_rows < 2 or not _has_neighbour_twins(findings, SORT_KEYS):
        return
    rows = con.execute(
        "select rule_id, asset_id from fleet_raw group by rule_id, home_id, asset_id, detail_key having count(*) > 1 order by all limit 1"
    ).fetchall()
    if rows:
        row = rows[0]
        lr = next(r for r in plan.rules if r.rule.id == row[0])
        raise RuleError(
            [
                Diagnostic(
                    lr.file,
                    lr.query_line,
                    1,
                    "rule-duplicate-rows",
                    f"rule {row[0]}: asset '{row[1]}' appears twice; aggregate so each asset gives one row (or return a detail_key)",
                )
            ]
        )


def _has_neighbour_twins(table: pa.Table, keys: tuple[str, ...]) -> bool:
    same: pa.ChunkedArray | None = None
    for key in keys:
        column = table.column(key)
        equal = pc.equal(column.slice(1), column.slice(0, len(column) - 1))
        same = equal if same is None else pc.and_(same, equal)
    return bool(same is not None and pc.any(same).as_py())
