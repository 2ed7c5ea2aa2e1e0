"""The fleet engine gives exactly the findings of the single-model path: same IDs, ratings, treatments."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from domosec.assessment import Finding
from domosec.catalog.load import load_catalogue
from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.engine.scoring import Matrix
from domosec.fleet.engine import RulePlan, assess_batch
from domosec.fleet.generate import generate_block
from domosec.fleet.models import models_from_tables, tables_from_models
from domosec.model.load import LoadedModel, load_model, model_from_document
from domosec.model.source import SourceDocument
from tests.conftest import EXAMPLES, ROOT

AS_OF = dt.date(2026, 11, 23)
RULES_DIR = ROOT / "src" / "domosec" / "rules"


def _single(f: Finding) -> dict[str, Any]:
    return {
        "home_id": f.home_id,
        "key": f.key,
        "rule_id": f.rule_id,
        "asset": (f.asset.kind, f.asset.id),
        "reason": f.reason,
        "explain": f.explain,
        "dimension": f.dimension,
        "inherent": (f.inherent.likelihood, f.inherent.impact, f.inherent.score, f.inherent.level),
        "factors": f.factors,
        "residual": (f.residual.likelihood, f.residual.impact, f.residual.score, f.residual.level),
        "treatment": f.treatment,
        "expires": f.acceptance.expires if f.acceptance else None,
        "confidence": f.confidence,
    }


def _fleet(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "home_id": r["home_id"],
        "key": r["key"],
        "rule_id": r["rule_id"],
        "asset": (r["asset_kind"], r["asset_id"]),
        "reason": r["reason"],
        "explain": json.loads(r["explain"]),
        "dimension": r["dimension"],
        "inherent": (r["likelihood"], r["impact"], r["score"], r["level"]),
        "factors": r["factors"],
        "residual": (r["residual_likelihood"], r["residual_impact"], r["residual_score"], r["residual_level"]),
        "treatment": r["treatment"],
        "expires": r["acceptance_expires"].isoformat() if r["acceptance_expires"] else None,
        "confidence": r["confidence"],
    }


def _compare(models: list[LoadedModel], matrix: Matrix | None = None) -> int:
    rules = load_rules()
    matrix = matrix or Matrix()
    single = assess(models, rules, matrix=matrix, as_of=AS_OF)
    fleet = assess_batch(tables_from_models([(m.model, m.file) for m in models]), RulePlan(rules, matrix, load_catalogue()), as_of=AS_OF)
    expected = {f.id: _single(f) for f in single.findings}
    got = {r["finding_id"]: _fleet(r) for r in fleet.findings.to_pylist()}
    assert sorted(got) == sorted(expected)
    for fid, row in expected.items():
        assert got[fid] == row, fid
    contradicted = sorted((c.home_id, c.control_id) for c in single.controls if c.status == "contradicted")
    assert sorted((r["home_id"], r["control_id"]) for r in fleet.contradicted.to_pylist()) == contradicted
    return len(expected)


@pytest.mark.parametrize("kind", ["fail", "pass"])
def test_rule_examples_and_example_homes(kind: str) -> None:
    """Every rule's example models (each fail example fires its rule) and the five example homes."""
    files = sorted(RULES_DIR.glob(f"*/*.{kind}.yaml"))
    if kind == "fail":
        files += sorted(EXAMPLES.glob("*.yaml"))
    count = _compare([load_model(f) for f in files])
    assert count > (300 if kind == "fail" else 0)


def test_generated_homes() -> None:
    docs = list(models_from_tables(generate_block(21, 3, 150)))
    models = [model_from_document(SourceDocument(d["system"]["id"], json.loads(json.dumps(d)))) for d in docs]
    assert _compare(models) > 150 * 30


def test_a_custom_matrix_is_applied_the_same_way() -> None:
    matrix = Matrix.model_validate(
        {
            "levels": [["low"] * 5, ["low"] * 5, ["medium"] * 5, ["high"] * 5, ["critical"] * 5],
            "factors": {"internet_exposure": {"likelihood": 2}, "vulnerable_users": {"impact": 2, "dimensions": ["security", "privacy"]}},
            "max_boost": 1,
        }
    )
    docs = list(models_from_tables(generate_block(4, 0, 60)))
    models = [model_from_document(SourceDocument(d["system"]["id"], json.loads(json.dumps(d)))) for d in docs]
    models += [load_model(f) for f in sorted(EXAMPLES.glob("*.yaml"))]
    assert _compare(models, matrix) > 0
