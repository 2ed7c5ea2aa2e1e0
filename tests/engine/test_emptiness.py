"""A built-in rule is left out only when a table it needs is empty, and then it could not have found anything."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from domosec.catalog.load import load_catalogue
from domosec.engine import emptiness, plans
from domosec.engine.database import RULE_TABLES, Database, QueryClock, Rows
from domosec.engine.emptiness import rules_to_run
from domosec.engine.rulerun import run_rules
from domosec.engine.ruleset import load_rules
from domosec.errors import RuleError
from domosec.model.load import LoadedModel, load_model
from domosec.model.normalise import normalise_rows
from tests.conftest import EXAMPLES, ROOT

AS_OF = dt.date(2026, 11, 23)
RULES = load_rules()
CATALOGUE = load_catalogue()
NEEDS = emptiness.analyse([lr.rule.query for lr in RULES], RULE_TABLES) or []


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMOSEC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _fail_examples() -> list[LoadedModel]:
    files = sorted((ROOT / "src" / "domosec" / "rules").glob("*/*.fail.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
    return [load_model(f) for f in files]


def test_every_rule_that_could_be_left_out_finds_nothing_once_a_condition_it_needs_is_unmet() -> None:
    """For each condition some rule needs: the fleet of every rule's fail example (where every rule fires) without the
    rows that pass it, whatever the other tables hold (the engine views are not rebuilt): each of those rules finds nothing."""
    models = _fail_examples()
    db = Database(normalise_rows([(m.model, m.file) for m in models], CATALOGUE), as_of=AS_OF)
    conditions = sorted(frozenset().union(*NEEDS))
    assert {"devices", "flows", "services"} <= {table for table, _ in conditions}
    assert sum(1 for _, condition in conditions if condition) > 50, "most conditions carry a filter"
    try:
        assert db.unmet(conditions) == set(), "every condition is met by the fail examples"
        db.sizes = {}  # rows are deleted below: the sizes known at loading no longer hold, so every condition is asked of DuckDB
        with QueryClock() as clock:
            for table, condition in conditions:
                rules = [lr for lr, need in zip(RULES, NEEDS, strict=True) if (table, condition) in need]
                db.con.execute("begin transaction")
                db.con.execute(f"delete from {table}" + (f" where coalesce({condition}, false)" if condition else ""))
                assert db.unmet([(table, condition)]) == {(table, condition)}
                for group in plans.groups(rules):
                    queries = [rules[i].rule.query for i in group]
                    for i, result in zip(group, plans.run_group(db.con, clock, queries, db.row_limit), strict=True):
                        assert isinstance(result, Rows) and result.records == [], f"{rules[i].rule.id} without {table} {condition}"
                db.con.execute("rollback")
    finally:
        db.close()


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_table_sizes_known_at_loading_answer_as_duckdb_does(example: Path) -> None:
    """Empty tables (and conditions without a filter) are answered from the rows loaded; the answer is DuckDB's."""
    model = load_model(example)
    db = Database(normalise_rows([(model.model, model.file)], CATALOGUE), as_of=AS_OF)
    conditions = sorted(frozenset().union(*NEEDS))
    try:
        assert any(size == 0 for size in db.sizes.values()) and any(db.sizes.values())
        known = db.unmet(conditions)
        db.sizes = {}
        assert known == db.unmet(conditions)
    finally:
        db.close()
    assert known, "some condition is unmet on every example home"


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_a_home_gets_the_same_findings_with_rules_left_out(example: Path) -> None:
    model = load_model(example)
    db = Database(normalise_rows([(model.model, model.file)], CATALOGUE), as_of=AS_OF)
    try:
        left = len(RULES) - len(rules_to_run(db, RULES))
        skipped, everything = run_rules(db, RULES), run_rules(db, RULES, skip_empty=False)
    finally:
        db.close()
    assert left > 0, "every example home leaves some table empty that rules need"
    key = [(r.rule.rule.id, r.asset_id, r.detail_key, r.reason, r.explain, r.verified) for r in skipped]
    assert key == [(r.rule.rule.id, r.asset_id, r.detail_key, r.reason, r.explain, r.verified) for r in everything]


def test_rules_of_a_rule_pack_always_run(tmp_path: Path) -> None:
    """Only built-in rules are left out: a rule pack's rule is run (and its columns checked) on every home."""
    model = load_model(EXAMPLES / "family-home.yaml")
    db = Database(normalise_rows([(model.model, model.file)], CATALOGUE), as_of=AS_OF)
    try:
        builtin = rules_to_run(db, RULES)
        assert len(builtin) < len(RULES)
        pack = [lr.__class__(lr.rule, lr.file, lr.query_line, False) for lr in RULES]
        assert len(rules_to_run(db, pack)) == len(RULES)
    finally:
        db.close()


def test_a_condition_that_cannot_be_checked_lets_every_rule_run() -> None:
    """A built-in rule whose filter names a column that does not exist: it fails as it would alone, named."""
    index = next(i for i, lr in enumerate(RULES) if lr.rule.scope == "devices")
    broken = (
        "select dev.home_id, 'device' as asset_kind, dev.device_id as asset_id, 'x' as reason from devices as dev where dev.no_such = 1"
    )
    rules = list(RULES)
    rules[index] = dataclasses.replace(RULES[index], rule=RULES[index].rule.model_copy(update={"query": broken}))
    model = load_model(EXAMPLES / "family-home.yaml")
    db = Database(normalise_rows([(model.model, model.file)], CATALOGUE), as_of=AS_OF)
    try:
        assert rules_to_run(db, rules) == rules
        outcomes = []
        for skip in (True, False):
            with pytest.raises(RuleError) as caught:
                run_rules(db, rules, skip_empty=skip)
            outcomes.append([d.render() for d in caught.value.diagnostics])
    finally:
        db.close()
    assert outcomes[0] == outcomes[1] and RULES[index].file in outcomes[0][0]


def test_without_the_cache_every_rule_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMOSEC_CACHE_DIR", "off")
    model = load_model(EXAMPLES / "family-home.yaml")
    db = Database(normalise_rows([(model.model, model.file)], CATALOGUE), as_of=AS_OF)
    try:
        assert rules_to_run(db, RULES) == RULES
    finally:
        db.close()


CASES: dict[str, set[tuple[str, str]] | None] = {
    "select * from a": {("a", "")},
    "select a.x from a join b on a.x = b.x": {("a", ""), ("b", "")},
    "select a.x from a, b": {("a", ""), ("b", "")},
    "select a.x from a left join b on a.x = b.x": {("a", "")},
    "select b.x from a right join b on a.x = b.x": {("b", "")},
    "select a.x from a full join b on a.x = b.x": set(),
    "select a.x from a anti join b on a.x = b.x": {("a", "")},
    "select x from a union all select x from b": set(),
    "select x from a union select x from a join b using (x)": {("a", "")},
    "select x from a except select x from b": {("a", "")},
    "select x from a intersect select x from b": {("a", ""), ("b", "")},
    "select count(*) as n from a": set(),
    "select max(x) + 1 as n from a where x > 0": set(),
    "select x, count(*) as n from a group by x": {("a", "")},
    "select x, count(*) as n from a group by all": set(),
    "select x, count(*) as n from a group by grouping sets ((x), ())": set(),
    "select x, count(*) over () as n from a": {("a", "")},
    "select x, (select count(*) from b) as n from a": {("a", "")},
    "select x from a where exists (select 1 from b where b.x = a.x)": {("a", ""), ("b", "")},
    "select x from a where not exists (select 1 from b where b.x = a.x)": {("a", "")},
    "with c as (select x from b) select a.x from a, c": {("a", ""), ("b", "")},
    "with c as (select count(*) as x from b) select c.x from c": set(),
    "with a as (select 1 as x) select x from a": set(),
    "with c as (select x from b), d as (select x from c) select x from d": {("b", "")},
    "select s.x from (select x from b where x > 1) as s": {("b", "")},
    "select 1 as x": set(),
    "select x from (values (1), (2)) as v(x)": set(),
    "select x from elsewhere": set(),
    # filters: terms that read only one needed table, through its alias
    "select p.x from a as p where p.x > 1": None,
    "select p.x from a as p join b as q on q.x = p.x and q.x <> 2 where p.x in (3, 4) and coalesce(p.x, 0) < 5": None,
    "with c as (select q.x from b as q where q.x = 2) select p.x from a as p join c on c.x = p.x where p.x > 0": None,
    "select p.x from a as p left join b as q on q.x = p.x and q.x = 9 where q.x is null and p.x <> 1": None,
    "select p.x from a as p where p.x > (select min(q.x) from b as q) or p.x = 2": None,
    "select p.x from a as p where exists (select 1 from b as q where q.x = p.x and q.x > 3)": None,
    "select p.x from a as p where p.x in (select q.x from b as q where q.x <> 4)": None,
    "select p.x from a as p where p.x not in (select q.x from b as q where q.x > 1)": None,
    "select p.x from a as p where p.x < (select as_of from params)": None,
    "select p.x from a as p where p.x < (select max(q.x) from b as q)": None,
}
"""Each query and the conditions it needs (None: with filters, as in :data:`FILTERED`)."""
FILTERED: dict[str, tuple[set[str], dict[str, int]]] = {
    "select p.x from a as p where p.x > 1": ({"a"}, {"a": 1}),
    "select p.x from a as p join b as q on q.x = p.x and q.x <> 2 where p.x in (3, 4) and coalesce(p.x, 0) < 5": (
        {"a", "b"},
        {"a": 1, "b": 1},
    ),
    "with c as (select q.x from b as q where q.x = 2) select p.x from a as p join c on c.x = p.x where p.x > 0": (
        {"a", "b"},
        {"a": 1, "b": 1},
    ),
    "select p.x from a as p left join b as q on q.x = p.x and q.x = 9 where q.x is null and p.x <> 1": ({"a"}, {"a": 1}),
    "select p.x from a as p where p.x > (select min(q.x) from b as q) or p.x = 2": ({"a"}, {}),
    "select p.x from a as p where exists (select 1 from b as q where q.x = p.x and q.x > 3)": ({"a", "b"}, {"b": 1}),
    "select p.x from a as p where p.x in (select q.x from b as q where q.x <> 4)": ({"a", "b"}, {"b": 1}),
    "select p.x from a as p where p.x not in (select q.x from b as q where q.x > 1)": ({"a"}, {}),
    "select p.x from a as p where p.x < (select as_of from params)": ({"a"}, {"a": 1}),
    "select p.x from a as p where p.x < (select max(q.x) from b as q)": ({"a"}, {}),
}
"""For the queries with filters: the tables needed whole, and how many filtered conditions each table gets."""


@pytest.mark.parametrize("query", list(CASES), ids=list(range(len(CASES))))
def test_the_conditions_a_query_needs(query: str) -> None:
    """Each answer checked with DuckDB: with no row passing a condition, the query gives no rows."""
    con = duckdb.connect(":memory:")
    needed = emptiness.needs_of(con, query, frozenset({"a", "b"}), emptiness.aggregate_names(con))
    expected = CASES[query]
    if expected is None:
        filtered: dict[str, int] = {}
        for table, condition in needed:
            if condition:
                filtered[table] = filtered.get(table, 0) + 1
        assert ({t for t, c in needed if not c}, filtered) == FILTERED[query]
    else:
        assert needed == expected
    con.execute("create table elsewhere as select 1 as x")
    con.execute("create table params as select 4 as as_of")
    for table, condition in needed:
        con.execute("create or replace table a as select * from range(5) as r(x)")
        con.execute("create or replace table b as select * from range(2, 7) as r(x)")
        assert con.execute(query).fetchall(), "the query has rows before"
        con.execute(f"delete from {table}" + (f" where coalesce({condition}, false)" if condition else ""))
        assert con.execute(query).fetchall() == [], (table, condition)
