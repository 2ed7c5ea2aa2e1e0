"""A rule query that runs away over a batch is stopped, and the error names the rule and its file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest

from domosec.catalog.load import load_catalogue
from domosec.engine.ruleset import load_rules
from domosec.engine.scoring import Matrix
from domosec.errors import RuleError
from domosec.fleet import engine
from domosec.fleet.engine import RulePlan, assess_batch
from domosec.fleet.generate import generate_block

# Rules pass the SQL guard when they are loaded, which refuses table functions such as range(); this one is
# swapped in afterwards, only to give the batch a query that runs for minutes (so a broken limit fails the test
# below instead of hanging it).
RUNAWAY = (
    "select dev.home_id, 'device' as asset_kind, dev.device_id as asset_id, 'never' as reason "
    "from devices as dev, (select count(*) as n from range(1000000) as a, range(200000) as b) as slow "
    "where slow.n < 0"
)


def test_a_runaway_rule_is_interrupted_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = load_rules()
    quick, runaway = rules[0], rules[1]
    slow = dataclasses.replace(runaway, rule=runaway.rule.model_copy(update={"query": RUNAWAY}))
    monkeypatch.setattr(engine, "BATCH_TIME_LIMIT_S", 0.5)
    plan = RulePlan([quick, slow], Matrix(), load_catalogue())
    started = time.monotonic()
    with pytest.raises(RuleError) as caught:
        assess_batch(generate_block(3, 0, 20), plan, as_of=dt.date(2026, 11, 23))
    assert time.monotonic() - started < 30
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "rule-limit"
    assert diagnostic.file == slow.file
    assert diagnostic.message == f"rule {slow.rule.id}: the query ran longer than its limit of 0.5 s and was stopped"
