"""Fuzz targets: the readers of every input a user (or an attacker) can hand domosec.

Each target draws inputs from the real material (example models, Home Assistant fixtures, the
shipped rules, golden assessments, the example models as JSON Lines), mutated structurally and as text, and
checks the property of :mod:`tests.fuzz.harness`: a result or our diagnostics, nothing else.
Valid inputs are also carried on (assessed, rendered, compared) as the command would.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from domosec.engine.ruleset import builtin_rules_dir, rule_files
from tests.conftest import EXAMPLES, ROOT
from tests.fuzz.harness import LONG, PROFILE, dumps, json_values, mutated, mutated_text, run_target
from tests.fuzz.replay import check_assessment, check_fleet_text, check_homeassistant, check_model_text, check_rule_text

HA_FIXTURES = ROOT / "tests" / "evidence" / "homeassistant" / "fixtures"
GOLDEN = ROOT / "tests" / "golden"
MODEL_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.yaml"))]
MODEL_DATA = [YAML(typ="safe", pure=True).load(t) for t in MODEL_TEXTS]
RULE_TEXTS = [p.read_text(encoding="utf-8") for p in rule_files(builtin_rules_dir())[::7]]
ASSESSMENTS = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLDEN.glob("*.json"))[:2]]


@pytest.fixture(autouse=True)
def no_rule_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMOSEC_CACHE_DIR", "off")


def test_model_loader_on_mutated_yaml_text() -> None:
    @PROFILE
    @given(st.one_of(mutated_text(MODEL_TEXTS), st.text(max_size=200)))
    def target(text: str) -> None:
        check_model_text(text, is_json=False, carry_on=False)  # the structured target assesses what loads

    run_target(target)


def test_model_loader_and_assessment_on_mutated_structured_models() -> None:
    @PROFILE
    @given(mutated(MODEL_DATA))
    def target(data: Any) -> None:
        check_model_text(dumps(data), is_json=True)

    run_target(target)


def test_home_assistant_reader_on_mutated_storage_files() -> None:
    fixtures = [d for d in sorted(HA_FIXTURES.iterdir()) if (d / ".storage").is_dir()]
    storage = sorted({p.name for d in fixtures for p in (d / ".storage").iterdir()})

    @PROFILE
    @given(st.sampled_from(fixtures), st.sampled_from(storage), st.data())
    def target(fixture: Path, name: str, data: st.DataObject) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config"
            shutil.copytree(fixture, config, symlinks=True)
            path = config / ".storage" / name
            original = path.read_text(encoding="utf-8") if path.exists() else "{}"
            if data.draw(st.booleans(), label="as text"):
                text = data.draw(mutated_text([original]), label="text")
            else:
                text = dumps(data.draw(mutated([json.loads(original)]), label="json"))
            check_homeassistant(config, path, text)

    run_target(target)


def test_rule_loader_on_mutated_rule_files() -> None:
    yaml = YAML(typ="safe", pure=True)
    rule_data = [yaml.load(t) for t in RULE_TEXTS]

    @PROFILE
    @given(st.one_of(mutated_text(RULE_TEXTS), mutated(rule_data).map(dumps)))
    def target(text: str) -> None:
        check_rule_text(text)

    run_target(target)


def test_assessment_reader_of_report_and_diff_on_mutated_assessments() -> None:
    @PROFILE
    @given(st.one_of(mutated(ASSESSMENTS).map(dumps), mutated_text([dumps(ASSESSMENTS[0])[:4000]]), json_values.map(dumps)))
    def target(text: str) -> None:
        check_assessment(text)

    run_target(target)


def test_fleet_reader_on_mutated_json_lines() -> None:
    lines = [dumps(d) for d in MODEL_DATA]
    line_data = [json.loads(line) for line in lines]

    @settings(PROFILE, max_examples=PROFILE.max_examples if LONG else 6)  # each example is a whole fleet run
    @given(st.lists(st.one_of(mutated(line_data).map(dumps), mutated_text(lines), st.sampled_from(lines)), min_size=1, max_size=4))
    def target(chosen: list[str]) -> None:
        check_fleet_text("\n".join(chosen) + "\n")

    run_target(target)
