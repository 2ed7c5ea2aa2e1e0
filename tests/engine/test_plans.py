"""Rules run in shared plans give every rule exactly the rows, types and errors it gives when run alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from domosec.catalog.load import load_catalogue
from domosec.engine import database, plans
from domosec.engine.database import Database, Rows
from domosec.engine.rulerun import _run_all, run_rules
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.engine.scoring import Matrix
from domosec.errors import RuleError
from domosec.fleet.engine import RulePlan, assess_batch
from domosec.fleet.models import tables_from_models
from domosec.model.load import LoadedModel, load_model
from domosec.model.normalise import normalise_rows
from tests.conftest import EXAMPLES, ROOT

AS_OF = dt.date(2026, 11, 23)
RULES = load_rules()
CATALOGUE = load_catalogue()
DEVICE = "select dev.home_id, 'device' as asset_kind, dev.device_id as asset_id"


def _models(kind: str) -> list[LoadedModel]:
    """Every rule's fail (or pass) example; the fail set also holds the example homes."""
    files = sorted((ROOT / "src" / "domosec" / "rules").glob(f"*/*.{kind}.yaml"))
    if kind == "fail":
        files += sorted(EXAMPLES.glob("*.yaml"))
    return [load_model(f) for f in files]


def _comparable(result: Rows | Exception) -> Any:
    if isinstance(result, Exception):
        return (type(result).__name__, str(result))
    return (result.columns, result.types, result.records)


def _swapped(index: int, query: str) -> LoadedRule:
    """A built-in rule with another query (as if a rule pack held it), keeping its scope and so its group."""
    lr = RULES[index]
    return dataclasses.replace(lr, rule=lr.rule.model_copy(update={"query": query}))


def _same_in_both(models: list[LoadedModel], rules: list[LoadedRule]) -> list[Any]:
    db = Database(normalise_rows([(m.model, m.file) for m in models], CATALOGUE), as_of=AS_OF)
    try:
        alone = [_comparable(r) for r in _run_all(db, rules, shared=False)]
        shared = [_comparable(r) for r in _run_all(db, rules)]
    finally:
        db.close()
    for lr, a, s in zip(rules, alone, shared, strict=True):
        assert s == a, lr.rule.id
    return alone


def _fleet(models: list[LoadedModel], rules: list[LoadedRule], *, shared: bool) -> Any:
    plan = RulePlan(rules, Matrix(), CATALOGUE, shared=shared)
    try:
        result = assess_batch(tables_from_models([(m.model, m.file) for m in models]), plan, as_of=AS_OF)
    except RuleError as exc:
        return [d.render() for d in exc.diagnostics]
    return result.findings.to_pylist(), result.contradicted.to_pylist()


def test_rules_are_grouped_by_scope_in_rule_order() -> None:
    groups = plans.groups(RULES)
    assert sorted(i for g in groups for i in g) == list(range(len(RULES)))
    for group in groups:
        assert 1 <= len(group) <= plans.GROUP_SIZE
        assert group == sorted(group)
        assert len({RULES[i].rule.scope for i in group}) == 1
    assert len(groups) < len(RULES) / 4


@pytest.mark.parametrize("kind", ["fail", "pass"])
def test_every_rule_gives_its_solo_rows_in_a_shared_plan(kind: str) -> None:
    """One model at a time: the same columns, types and rows (in order) for every built-in rule, on every example."""
    models = _models(kind)
    results = _same_in_both(models, RULES)
    if kind == "fail":
        assert all(not isinstance(r[0], str) and r[2] for r in results), "every rule fires on its fail example"


@pytest.mark.parametrize("kind", ["fail", "pass"])
def test_a_fleet_batch_finds_the_same_in_shared_plans(kind: str) -> None:
    models = _models(kind)
    shared = _fleet(models, RULES, shared=True)
    assert shared == _fleet(models, RULES, shared=False)
    assert len(shared[0]) > (300 if kind == "fail" else 0)


FAILING = {
    "run-time error": f"{DEVICE}, 'x' as reason, cast(dev.device_id || 'x' as integer) as n from devices as dev",
    "duplicate column names": f"{DEVICE}, 'x' as reason, 1 as n, 2 as n from devices as dev",
    "broken contract": f"{DEVICE}, null as reason from devices as dev",
    "a column named like the row": f"{DEVICE}, 'x' as reason, struct_pack(home_id := 'elsewhere') as _domosec_row from devices as dev",
}


@pytest.mark.parametrize("query", list(FAILING.values()), ids=list(FAILING))
def test_a_rule_that_fails_beside_others_is_named_as_when_alone(query: str) -> None:
    """A rule in the middle of a group: its error (or its odd result) is its own; its neighbours' rows are theirs."""
    group = next(g for g in plans.groups(RULES) if len(g) >= 3)
    rules = [RULES[i] for i in group]
    rules[1] = _swapped(group[1], query)
    models = _models("fail")
    results = _same_in_both(models, rules)
    assert not isinstance(results[0][0], str) and results[0][2], "the rule before it still has its rows"
    db = Database(normalise_rows([(m.model, m.file) for m in models], CATALOGUE), as_of=AS_OF)
    try:
        alone, shared = _outcome(db, rules, shared=False), _outcome(db, rules, shared=True)
    finally:
        db.close()
    assert shared == alone
    if query not in (FAILING["duplicate column names"], FAILING["a column named like the row"]):
        assert shared and all(isinstance(d, str) and d.startswith(rules[1].file) for d in shared), shared
    assert _fleet(models, rules, shared=True) == _fleet(models, rules, shared=False)


def _outcome(db: Database, rules: list[LoadedRule], *, shared: bool) -> list[Any]:
    """The diagnostics of a run that fails, else every finding's rule, asset, reason and explain values."""
    try:
        raw = run_rules(db, rules, shared=shared)
    except RuleError as exc:
        return [d.render() for d in exc.diagnostics]
    return [(r.rule.rule.id, r.home_id, r.asset_id, r.detail_key, r.reason, r.explain, r.verified) for r in raw]


def test_the_row_limit_holds_for_each_rule_of_a_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a limit of one row per home, the rules past it are stopped one by one, as when each runs alone."""
    monkeypatch.setattr(database, "ROWS_PER_HOME", 1)
    models = [load_model(f) for f in sorted(EXAMPLES.glob("*.yaml"))]
    results = _same_in_both(models, RULES)
    stopped = [r for r in results if r[0] == "RowLimitError"]
    assert 0 < len(stopped) < len(RULES)
    assert _fleet(models, RULES, shared=True) == _fleet(models, RULES, shared=False)
