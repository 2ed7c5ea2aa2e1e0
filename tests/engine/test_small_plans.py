"""A small home's queries run without DuckDB's optimiser, and every rule finds exactly what it finds with it.

The optimiser chooses how a query runs, never what it returns; on a home-sized database it costs more
than it saves (docs/performance.md, "Small homes"). These tests hold the engine to the first half
of that: the same columns, types and rows for every built-in rule and view, on every rule example and
example home, with the optimiser on and off.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from domosec.catalog.load import load_catalogue
from domosec.engine import database
from domosec.engine.assess import assess
from domosec.engine.database import VIEWS, Database, Rows
from domosec.engine.rulerun import _run_all
from domosec.engine.ruleset import load_rules
from domosec.model.load import LoadedModel, load_model
from domosec.model.normalise import normalise_rows
from tests.conftest import EXAMPLES, ROOT

AS_OF = dt.date(2026, 11, 23)
RULES = load_rules()
CATALOGUE = load_catalogue()


def _models(kind: str) -> list[LoadedModel]:
    files = sorted((ROOT / "src" / "domosec" / "rules").glob(f"*/*.{kind}.yaml"))
    if kind == "fail":
        files += sorted(EXAMPLES.glob("*.yaml"))
    return [load_model(f) for f in files]


def _database(models: list[LoadedModel], monkeypatch: pytest.MonkeyPatch, *, small_rows: int) -> Database:
    monkeypatch.setattr(database, "SMALL_ROWS", small_rows)
    return Database(normalise_rows([(m.model, m.file) for m in models], CATALOGUE), as_of=AS_OF)


def _optimised(db: Database) -> bool:
    row = db.con.execute("select current_setting('enable_optimizer')").fetchone()
    assert row is not None
    return bool(row[0])


def _comparable(result: Rows | Exception) -> Any:
    """Columns, types and the rows as a multiset: without an ``order by`` a query's row order is not part of its result."""
    if isinstance(result, Exception):
        return (type(result).__name__, str(result))
    return (result.columns, result.types, Counter(repr(sorted(r.items())) for r in result.records))


def _everything(db: Database) -> list[Any]:
    views = [_comparable(db.query(f"select * from {view}")) for view in VIEWS]
    return views + [_comparable(r) for r in _run_all(db, RULES)]


@pytest.mark.parametrize("kind", ["fail", "pass"])
def test_every_rule_and_view_gives_the_same_rows_without_the_optimiser(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    models = _models(kind)
    optimised = _database(models, monkeypatch, small_rows=0)
    plain = _database(models, monkeypatch, small_rows=10**9)
    try:
        assert _optimised(optimised) and not _optimised(plain)
        with_optimiser, without = _everything(optimised), _everything(plain)
    finally:
        optimised.close()
        plain.close()
    names = [*VIEWS, *(lr.rule.id for lr in RULES)]
    for name, a, b in zip(names, with_optimiser, without, strict=True):
        assert b == a, name
    if kind == "fail":
        assert all(not isinstance(r[0], str) and r[2] for r in with_optimiser[len(VIEWS) :]), "every rule fires on its fail example"


@pytest.mark.parametrize("devices", [0, 1000], ids=["family-home", "generated-1000-devices"])
def test_a_home_is_assessed_the_same_either_way(devices: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The whole assessment, byte for byte: an example home, and the benchmark's home of 1,000 devices (~8,000 rows)."""
    if devices:
        from bench.assess import generate  # the benchmark's model generator (the repository root is on pythonpath)

        path = tmp_path / "home.yaml"
        path.write_text(generate(devices), encoding="utf-8")
        model = load_model(path)
    else:
        model = load_model(EXAMPLES / "family-home.yaml")
    monkeypatch.setattr(database, "SMALL_ROWS", 0)
    optimised = assess([model], RULES, as_of=AS_OF, catalogue=CATALOGUE)
    monkeypatch.setattr(database, "SMALL_ROWS", 10**9)
    plain = assess([model], RULES, as_of=AS_OF, catalogue=CATALOGUE)
    assert len(plain.findings) > (500 if devices else 10)
    assert plain.model_dump_json() == optimised.model_dump_json()


def test_only_a_small_database_goes_without_the_optimiser(tmp_path: Path) -> None:
    """The default: a home-sized model runs unoptimised, a large building (2,000 devices) optimised as before."""
    from bench.assess import generate  # the benchmark's model generator (the repository root is on pythonpath)

    for devices, optimised in ((50, False), (2000, True)):
        path = tmp_path / f"home-{devices}.yaml"
        path.write_text(generate(devices), encoding="utf-8")
        model = load_model(path)
        db = Database(normalise_rows([(model.model, model.file)], CATALOGUE), as_of=AS_OF)
        try:
            assert _optimised(db) is optimised, devices
        finally:
            db.close()


def test_a_rule_pack_keeps_the_optimiser_so_a_join_written_in_where_stays_a_join(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built-in rules join explicitly; a rule pack's query may join in its ``where``, which unoptimised is a cross product."""
    import dataclasses

    import domosec.engine.assess as assess_module

    query = (
        "select distinct dev.home_id, 'device' as asset_kind, dev.device_id as asset_id, 'x' as reason "
        "from devices as dev, credentials as cred where cred.home_id = dev.home_id and cred.asset_id = dev.device_id"
    )
    pack_rule = dataclasses.replace(RULES[0], rule=RULES[0].rule.model_copy(update={"id": "DEV-S99", "query": query}), builtin=False)
    plans: dict[bool, str] = {}
    run_rules = assess_module.run_rules  # type: ignore[attr-defined]

    def spy(db: Database, rules: list[Any], **options: Any) -> Any:
        text = db.con.execute(f"explain {query}").fetchall()[0][1]
        plans[all(lr.builtin for lr in rules)] = text
        return run_rules(db, rules, **options)

    monkeypatch.setattr(assess_module, "run_rules", spy)
    model = load_model(EXAMPLES / "family-home.yaml")
    assess([model], RULES, as_of=AS_OF, catalogue=CATALOGUE)
    assess([model], [*RULES, pack_rule], as_of=AS_OF, catalogue=CATALOGUE)
    assert "Cross Product" in plans[True], "the built-in rules alone: unoptimised"
    assert "Hash Join" in plans[False] and "Cross Product" not in plans[False]
