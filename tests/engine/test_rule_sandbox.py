"""A hostile rule pack cannot change the model, cannot run away with memory, time or rows, and cannot break the
output contract: each ends in a clear error naming the rule file (exit 2), in one-home assess and in a fleet."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from domosec.catalog.load import load_catalogue
from domosec.engine import database
from domosec.engine.assess import assess
from domosec.engine.database import ROWS_PER_HOME, Database, read_rule
from domosec.engine.memory import process_cap
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.engine.scoring import Matrix
from domosec.errors import RuleError
from domosec.fleet.engine import RulePlan, assess_batch
from domosec.fleet.generate import generate_block
from domosec.model.load import load_model, load_model_text
from domosec.model.normalise import normalise_rows
from tests.conftest import EXAMPLES, MINIMAL, run_cli

DAY = dt.date(2026, 11, 23)

RULE = """\
id: DEV-S92
name: hostile
title: A hostile rule
risk_source: "6.2.3"
risk_items: [R-S-DV-09]
stride: [tampering]
likelihood: 3
impact: 3
mitigated_by: ["7.2.15"]
scope: devices
summary: Finds what its author wants.
why_it_matters: It tests the sandbox.
how_to_fix: Nothing.
query: |
"""

TAMPER = """\
with a as (delete from credentials returning home_id),
d as (update devices set name = 'TAMPERED' returning home_id)
select home_id, 'device' as asset_kind, 'x' as asset_id, 'x.' as reason from a where false
"""

# 1,000 values, joined with themselves: a short query over a tiny model that makes 10^6 to 10^12 rows.
THOUSAND = "with v as (select * from (values " + ", ".join(f"({i})" for i in range(1000)) + ") as t(x))\n"
DEVICE = "select dev.home_id, 'device' as asset_kind, dev.device_id as asset_id, 'Found.' as reason"


def write_pack(root: Path, query: str) -> Path:
    folder = root / "pack"
    folder.mkdir()
    body = "".join(f"  {line}\n" for line in query.strip().splitlines())
    (folder / "DEV-S92-hostile.yaml").write_text(RULE + body, encoding="utf-8")
    return folder


def swapped(query: str) -> LoadedRule:
    """A loaded built-in rule with another query, as if it had slipped past the guard (the walls behind it must hold)."""
    first = load_rules()[0]
    return dataclasses.replace(first, rule=first.rule.model_copy(update={"query": query}))


# --- 1. a rule cannot change the model ---------------------------------------------------------------------------


def test_a_data_changing_cte_is_refused_at_each_keyword(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, TAMPER)
    with pytest.raises(RuleError) as info:
        load_rules([pack], include_builtin=False)
    rendered = [d.render() for d in info.value.diagnostics]
    file = pack / "DEV-S92-hostile.yaml"
    assert rendered == [
        f"{file}:15:14: error[refused-query]: rule DEV-S92: a rule may not change data ('delete' found); it may only read the model tables",
        f"{file}:16:9: error[refused-query]: rule DEV-S92: a rule may not change data ('update' found); it may only read the model tables",
    ]


def test_the_cli_refuses_a_tampering_pack_with_exit_2(tmp_path: Path) -> None:
    pack = write_pack(tmp_path, TAMPER)
    result = run_cli("assess", EXAMPLES / "family-home.yaml", "--rules", pack, "--as-of", DAY.isoformat(), "--format", "json")
    assert result.returncode == 2, result.stderr
    assert "error[refused-query]: rule DEV-S92: a rule may not change data" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_rule_past_the_guard_still_cannot_change_the_model() -> None:
    rule = swapped(TAMPER)
    with pytest.raises(RuleError) as info:
        assess([load_model(EXAMPLES / "family-home.yaml")], [rule], as_of=DAY)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.code, diagnostic.file) == ("rule-failed", rule.file)
    assert "data-modifying statement" in diagnostic.message


def test_a_rule_query_runs_where_duckdb_refuses_any_data_change() -> None:
    model = load_model_text(MINIMAL + "    credentials: [{kind: web, factory_default: true}]\n")
    db = Database(normalise_rows([(model.model, "home.yaml")], load_catalogue()), as_of=DAY)
    try:
        with pytest.raises(duckdb.Error, match="data-modifying"):
            read_rule(db.con, TAMPER, 10)
        assert db.query("select name from devices").records == [{"name": model.model.devices[0].name}]
        assert db.query("select count(*) as n from credentials").records == [{"n": 1}]
    finally:
        db.close()


# --- 3. limits that hold ----------------------------------------------------------------------------------------


def test_a_rule_returning_too_many_rows_is_stopped_and_named(tmp_path: Path) -> None:
    query = THOUSAND + "select h.home_id, 'home' as asset_kind, h.home_id as asset_id, 'x.' as reason, a.x * 1000 + b.x as detail_key\n"
    pack = write_pack(tmp_path, query + "from homes as h, v as a, v as b")
    home = tmp_path / "home.yaml"
    home.write_text(MINIMAL, encoding="utf-8")
    result = run_cli("assess", home, "--rules", pack, "--as-of", DAY.isoformat(), "--format", "json")
    assert result.returncode == 2
    file = pack / "DEV-S92-hostile.yaml"
    assert result.stderr.strip().endswith(
        f"{file}:15:1: error[rule-limit]: rule DEV-S92: the query returned more than {ROWS_PER_HOME:,} rows "
        f"(the limit is {ROWS_PER_HOME:,} per home)"
    ), result.stderr


def test_a_rule_past_the_memory_limit_is_stopped_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # string_agg of a long text over 10^9 rows would need ~100 GB; the test's limit is 64 MB.
    big = "'" + "x" * 100 + "'"
    query = THOUSAND + f"select h.home_id, 'home' as asset_kind, h.home_id as asset_id, string_agg({big}, ',') as reason\n"
    pack = write_pack(tmp_path, query + "from homes as h, v as a, v as b, v as c group by h.home_id")
    home = tmp_path / "home.yaml"
    home.write_text(MINIMAL, encoding="utf-8")
    monkeypatch.setenv("DOMOSEC_RULE_MEMORY_LIMIT", "64MB")
    result = run_cli("assess", home, "--rules", pack, "--as-of", DAY.isoformat(), "--format", "json")
    assert result.returncode == 2
    assert f"{pack / 'DEV-S92-hostile.yaml'}:15:1: error[rule-limit]: rule DEV-S92: the query needed more memory than its limit" in (
        result.stderr
    )
    assert result.stderr.count("error[") == 1, "only the hostile rule is named, not a shipped rule that ran beside it"


def test_text_built_past_the_memory_limit_is_stopped_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # DuckDB's limit does not count text a function builds: 100 copies of a 0.9 MB aggregate joined end to end
    # reached 1.8 GB under a 64 MB limit. The process cap while rules run stops it at a few hundred MB.
    three_hundred = "with v as (select * from (values " + ", ".join(f"({i})" for i in range(300)) + ") as t(x)),\n"
    joined = " || ".join(["a.s"] * 100)
    query = (
        three_hundred
        + "a as (select string_agg('xxxxxxxxxx', '') as s from v, v as w)\n"
        + f"select h.home_id, 'home' as asset_kind, h.home_id as asset_id, cast(length({joined}) as varchar) as reason\n"
        + "from homes as h, a"
    )
    pack = write_pack(tmp_path, query)
    home = tmp_path / "home.yaml"
    home.write_text(MINIMAL, encoding="utf-8")
    monkeypatch.setenv("DOMOSEC_RULE_MEMORY_LIMIT", "64MB")
    result = run_cli("assess", home, "--rules", pack, "--as-of", DAY.isoformat(), "--format", "json")
    assert result.returncode == 2
    assert f"{pack / 'DEV-S92-hostile.yaml'}:15:1: error[rule-limit]: rule DEV-S92: the query needed more memory than its limit" in (
        result.stderr
    )
    assert result.stderr.count("error[") == 1, "only the hostile rule is named, not a shipped rule that ran beside it"


def test_a_memory_limit_that_is_not_a_size_is_a_clear_error(minimal_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMOSEC_RULE_MEMORY_LIMIT", "lots")
    result = run_cli("assess", minimal_model, "--as-of", DAY.isoformat(), "--format", "json")
    assert result.returncode == 2
    assert result.stderr.strip() == "DOMOSEC_RULE_MEMORY_LIMIT: error[bad-setting]: 'lots' is not a size; give e.g. 500MB or 4GB"


def test_a_rule_past_the_time_limit_is_stopped_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = write_pack(
        tmp_path, THOUSAND + DEVICE + " from devices as dev, (select count(*) as n from v, v as b, v as c, v as d) as s where s.n < 0"
    )
    monkeypatch.setattr(database, "DEFAULT_TIME_LIMIT_S", 0.5)
    with pytest.raises(RuleError) as info:
        assess([load_model_text(MINIMAL)], load_rules([pack], include_builtin=False), as_of=DAY)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.code, diagnostic.file) == ("rule-limit", str(pack / "DEV-S92-hostile.yaml"))
    assert diagnostic.message == "rule DEV-S92: the query ran longer than its limit of 0.5 s and was stopped"


# --- 4. the output contract -------------------------------------------------------------------------------------

BROKEN = {
    "likelihood_adjust is text": (
        f"{DEVICE}, 'abc' as likelihood_adjust from devices as dev",
        "column 'likelihood_adjust' must be an integer from -2 to 2, not VARCHAR",
    ),
    "home not in the model": (
        "select 'elsewhere' as home_id, 'device' as asset_kind, dev.device_id as asset_id, 'Found.' as reason from devices as dev",
        "a row names home_id 'elsewhere', which is not a home of the model",
    ),
    "integer home_id": (
        "select 1 as home_id, 'device' as asset_kind, dev.device_id as asset_id, 'Found.' as reason from devices as dev",
        "column 'home_id' must be text (varchar), not INTEGER; cast it or quote it",
    ),
    "null asset_id": (
        "select dev.home_id, 'device' as asset_kind, null as asset_id, 'Found.' as reason from devices as dev",
        "a row has no asset_id (null or empty); every finding names its home, asset and reason",
    ),
    "null reason": (
        "select dev.home_id, 'device' as asset_kind, dev.device_id as asset_id, null as reason from devices as dev",
        "a row has no reason (null or empty); every finding names its home, asset and reason",
    ),
    "unknown asset kind": (
        "select dev.home_id, 'spaceship' as asset_kind, dev.device_id as asset_id, 'Found.' as reason from devices as dev",
        "asset_kind 'spaceship' is not one of home, user, zone, network, gateway, device, service, flow",
    ),
}
# A blob cannot get past the guard (no cast to blob, no function that makes one), so it is swapped in.
BLOB = (f"{DEVICE}, cast('x' as blob) as evidence from devices as dev", "explain column 'evidence' has type BLOB")


@pytest.mark.parametrize(("query", "message"), list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_row_contract_is_an_error_naming_the_rule(tmp_path: Path, query: str, message: str) -> None:
    pack = write_pack(tmp_path, query)
    with pytest.raises(RuleError) as info:
        assess([load_model_text(MINIMAL)], load_rules([pack], include_builtin=False), as_of=DAY)
    [diagnostic] = info.value.diagnostics
    assert diagnostic.render() == f"{pack / 'DEV-S92-hostile.yaml'}:15:1: error[rule-output]: rule DEV-S92: {message}"


def test_a_blob_column_is_an_error_naming_the_rule() -> None:
    rule = swapped(BLOB[0])
    with pytest.raises(RuleError) as info:
        assess([load_model_text(MINIMAL)], [rule], as_of=DAY)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.code, diagnostic.file) == ("rule-output", rule.file)
    assert BLOB[1] in diagnostic.message


@pytest.mark.parametrize(("query", "message"), [*BROKEN.values(), BLOB], ids=[*BROKEN, "blob column"])
def test_a_broken_row_contract_in_a_fleet_batch_is_the_same_error(query: str, message: str) -> None:
    rule = swapped(query)
    plan = RulePlan([rule], Matrix(), load_catalogue())
    with pytest.raises(RuleError) as info:
        assess_batch(generate_block(3, 0, 20), plan, as_of=DAY)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.code, diagnostic.file) == ("rule-output", rule.file)
    assert diagnostic.message.startswith(f"rule {rule.rule.id}: {message}")


def test_fleet_assess_reports_a_rule_error_with_exit_2(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.jsonl"
    assert run_cli("fleet", "generate", "--homes", "5", "--seed", "3", "--format", "jsonl", "-o", fleet).returncode == 0
    pack = write_pack(tmp_path, BROKEN["unknown asset kind"][0])
    result = run_cli("fleet", "assess", fleet, "--rules", pack, "--as-of", DAY.isoformat(), "-o", tmp_path / "out")
    assert result.returncode == 2, result.stderr
    assert f"{pack / 'DEV-S92-hostile.yaml'}:15:1: error[rule-output]: rule DEV-S92: asset_kind 'spaceship'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_process_cap_holds_only_while_rules_run() -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_DATA)
    with process_cap("64MB"):
        soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
        assert soft != resource.RLIM_INFINITY and soft < (before[0] if before[0] != resource.RLIM_INFINITY else 2**62)
        with process_cap("64MB"):
            assert resource.getrlimit(resource.RLIMIT_DATA)[0] == soft
        assert resource.getrlimit(resource.RLIMIT_DATA)[0] == soft
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
