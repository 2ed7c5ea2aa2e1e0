"""A rule that gives one asset of a home twice is named, as on the single-model path; a detail_key tells rows apart.

The fleet engine finds such rows in its sorted findings (neighbours with the same home, rule, asset and key)
instead of grouping every row of the batch; these tests hold it to the message a run of the rule alone gives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pyarrow.compute as pc
import pytest

from domosec.catalog.load import load_catalogue
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.engine.scoring import Matrix
from domosec.errors import RuleError
from domosec.fleet.engine import RulePlan, assess_batch
from domosec.fleet.generate import generate_block

AS_OF = dt.date(2026, 11, 23)
EVERY_DEVICE = "select dev.home_id, 'device' as asset_kind, dev.device_id as asset_id, 'twice' as reason{detail} from devices as dev"


def _rule(query: str) -> LoadedRule:
    rule = load_rules()[0]
    return dataclasses.replace(rule, rule=rule.rule.model_copy(update={"query": query}))


def test_a_rule_that_gives_an_asset_twice_is_named() -> None:
    tables = generate_block(3, 0, 20)
    twice = _rule(f"{EVERY_DEVICE.format(detail='')} union all {EVERY_DEVICE.format(detail='')}")
    with pytest.raises(RuleError) as caught:
        assess_batch(tables, RulePlan([twice], Matrix(), load_catalogue()), as_of=AS_OF)
    [diagnostic] = caught.value.diagnostics
    first = min(tables["devices"].column("device_id").to_pylist())
    assert diagnostic.code == "rule-duplicate-rows"
    assert (diagnostic.file, diagnostic.line) == (twice.file, twice.query_line)
    assert diagnostic.message == (
        f"rule {twice.rule.id}: asset '{first}' appears twice; aggregate so each asset gives one row (or return a detail_key)"
    )


def test_rows_of_one_asset_with_different_details_are_all_kept() -> None:
    tables = generate_block(3, 0, 20)
    a, b = (EVERY_DEVICE.format(detail=f", '{d}' as detail_key") for d in "ab")
    query = f"{a} union all {b}"
    result = assess_batch(tables, RulePlan([_rule(query)], Matrix(), load_catalogue()), as_of=AS_OF)
    devices = tables["devices"].num_rows
    assert result.findings.num_rows == 2 * devices
    assert pc.count_distinct(result.findings.column("finding_id")).as_py() == 2 * devices
