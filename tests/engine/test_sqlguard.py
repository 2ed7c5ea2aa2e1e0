"""A rule can read the model tables and nothing else: hostile SQL is refused, twice over."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from domosec.engine.database import RULE_TABLES, Database
from domosec.engine.ruleset import load_rules
from domosec.engine.sqlguard import ALLOWED_FUNCTIONS, check_query, locate_problems
from domosec.errors import RuleError
from domosec.model.load import load_model_text
from domosec.model.normalise import normalise
from tests.conftest import MINIMAL

HOSTILE = {
    "read a file": "select * from read_csv('/etc/passwd')",
    "read a file as text": "select content from read_text('/etc/hostname')",
    "glob the disk": "select * from glob('/root/*')",
    "copy out": "copy (select 1) to '/tmp/x.csv'",
    "attach a database": "attach '/tmp/evil.db' as evil",
    "install an extension": "install httpfs",
    "change a setting": "set enable_external_access = true",
    "pragma": "pragma database_list",
    "two statements": "select 1 as home_id; select 2",
    "create a table": "create table x as select 1",
    "environment": "select getenv('HOME') as home_id",
    "settings": "select current_setting('threads') as x",
    "catalogue functions": "select * from duckdb_settings()",
    "qualified table": "select * from main.devices",
    "other database": "select * from system.main.devices",
    "unknown table": "select * from secrets",
    "scalar subquery file": "select (select count(*) from read_parquet('/x.parquet')) as n",
    "delete in a CTE": "with a as (delete from credentials returning home_id) select * from a",
    "update in a CTE": "with d as (update devices set name = 'TAMPERED' returning home_id) select home_id from d where false",
    "insert in a CTE": "with i as materialized (insert into devices (home_id) values ('h') returning home_id) select 1 as x",
    "DML in a subquery's CTE": "select (with a as (delete from credentials returning 1) select count(*) from a) as n",
    "huge list": "select list_resize([1], 1600000000) as x",
    "huge padding": "select lpad('x', 1000000000, 'y') as x",
    "huge repeat": "select repeat('x', 1000000000) as x",
    "huge format": "select format('{:>1000000000}', 'x') as x",
    "growing replace": "select replace(string_agg(name, ''), 'a', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb') as x from devices",
    "replace by a column": "select replace('a', 'a', name) as x from devices",
    "regexp_replace": "select regexp_replace(name, '', 'xxxxxxxx', 'g') as x from devices",
    "recursive CTE": "with recursive r(n) as (select 1 union all select n + 1 from r) select n from r",
    "sample": "select * from devices using sample 10%",
    "time travel": "select * from devices at (version => 1)",
    "pivot": "select * from devices pivot (count(*) for type in ('camera'))",
    "prepared parameter": "select ? as home_id",
    "clock": "select now() as x",
    "randomness": "select random() as x",
    "qualified function": "select main.lower('x') as x",
    "function not listed": "select md5('x') as x",
    "user type": "select cast('x' as main.t) as x",
    "blob": "select cast('x' as blob) as x",
}


@pytest.mark.parametrize("sql", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_query_is_refused(sql: str) -> None:
    assert check_query(sql, set(RULE_TABLES)), f"accepted: {sql}"


def test_refusals_point_at_the_offending_part() -> None:
    sql = "select lower(name) as a,\n  repeat(name, 3) as b\nfrom devices"
    assert locate_problems(sql, set(RULE_TABLES)) == [
        (sql.index("repeat"), "the function 'repeat' is not allowed in a rule (docs/writing-rules.md lists those that are)")
    ]


def test_every_listed_function_is_one_duckdb_has() -> None:
    known = {row[0] for row in duckdb.sql("select distinct function_name from duckdb_functions()").fetchall()}
    assert sorted(ALLOWED_FUNCTIONS - known) == []


def test_plain_select_with_ctes_is_accepted() -> None:
    sql = """
    with default_logins as (
      select cred.home_id, cred.asset_id, count(*) as n from credentials as cred where cred.factory_default = true group by 1, 2
    )
    select dl.home_id, 'device' as asset_kind, dl.asset_id, 'x.' as reason from default_logins as dl
    where exists (select 1 from params as p where p.as_of is not null)
    """
    assert check_query(sql, set(RULE_TABLES)) == []


@pytest.fixture
def database() -> Database:
    model = load_model_text(MINIMAL)
    return Database(normalise([(model.model, "home.yaml")]), as_of=dt.date(2026, 11, 23))


def test_runtime_wall_blocks_file_access_even_past_the_guard(database: Database) -> None:
    with pytest.raises(duckdb.Error, match=r"(?i)external access|disabled|permission"):
        database.query("select * from read_csv('/etc/passwd')")


def test_runtime_configuration_is_locked(database: Database) -> None:
    with pytest.raises(duckdb.Error, match=r"(?i)lock"):
        database.query("set enable_external_access = true")


def test_runaway_query_is_interrupted(database: Database) -> None:
    with pytest.raises(duckdb.Error, match=r"(?i)interrupt"):
        database.query("select count(*) from range(1000000000) as a, range(1000000000) as b", time_limit_s=0.5)


def test_hostile_rule_pack_is_refused_with_file_and_line(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "DEV-S90-exfiltrate.yaml").write_text(
        """id: DEV-S90
name: exfiltrate
title: Reads a file
risk_source: "6.2.3"
risk_items: [R-S-DV-09]
stride: [information_disclosure]
likelihood: 3
impact: 3
mitigated_by: ["7.2.15"]
scope: devices
summary: Finds nothing but tries to read a file.
why_it_matters: It does not.
how_to_fix: Nothing.
query: |
  select 'h' as home_id, 'device' as asset_kind, 'x' as asset_id, content as reason
  from read_text('/etc/passwd')
""",
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as info:
        load_rules([pack], include_builtin=False)
    rendered = [d.render() for d in info.value.diagnostics]
    assert any(r.startswith(f"{pack / 'DEV-S90-exfiltrate.yaml'}:16:8: error[refused-query]: rule DEV-S90") for r in rendered), rendered


def test_home_context_view_has_exactly_the_columns_the_catalogue_may_use(database: Database) -> None:
    from domosec.catalog.types import HOME_CONTEXT_COLUMNS

    columns = set(database.query("select * from home_context").columns)
    assert columns - {"home_id"} == HOME_CONTEXT_COLUMNS
