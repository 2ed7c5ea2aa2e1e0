"""Replays the committed fuzz corpus: inputs that crashed a reader once (or that issue 17 reported) stay fixed.

``corpus/<target>/<name>`` holds one input each; the target names the reader (see ``replay.py``).
Home Assistant inputs are named ``<.storage file>--<label>.json`` and replace that file in a copy of
a fixture configuration. Add a new crasher from ``make fuzz`` as a file here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fuzz.replay import check_assessment, check_fleet_text, check_homeassistant, check_model_text, check_rule_text

CORPUS = Path(__file__).resolve().parent / "corpus"
HA_FIXTURE = Path(__file__).resolve().parents[1] / "evidence" / "homeassistant" / "fixtures" / "ha-2026.8.0-registry-3.2"


def _inputs(target: str) -> list[Path]:
    return sorted(p for p in (CORPUS / target).iterdir() if p.is_file())


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


@pytest.fixture(autouse=True)
def no_rule_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMOSEC_CACHE_DIR", "off")


@pytest.mark.parametrize("path", _inputs("model-yaml"), ids=lambda p: p.name)
def test_model_yaml(path: Path) -> None:
    check_model_text(_text(path), is_json=False)


@pytest.mark.parametrize("path", _inputs("model-json"), ids=lambda p: p.name)
def test_model_json(path: Path) -> None:
    check_model_text(_text(path), is_json=True)


@pytest.mark.parametrize("path", _inputs("homeassistant"), ids=lambda p: p.name)
def test_homeassistant(path: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(HA_FIXTURE, config, symlinks=True)
    check_homeassistant(config, config / ".storage" / path.name.split("--")[0], _text(path))


@pytest.mark.parametrize("path", _inputs("rules"), ids=lambda p: p.name)
def test_rules(path: Path) -> None:
    check_rule_text(_text(path))


@pytest.mark.parametrize("path", _inputs("assessment"), ids=lambda p: p.name)
def test_assessment(path: Path) -> None:
    check_assessment(_text(path))


@pytest.mark.parametrize("path", _inputs("fleet"), ids=lambda p: p.name)
def test_fleet(path: Path) -> None:
    check_fleet_text(_text(path))


def test_a_fleet_home_with_a_lone_surrogate_is_set_aside_and_the_run_completes() -> None:
    reasons = check_fleet_text(_text(CORPUS / "fleet" / "big-numbers-numeric-ids-garbage.jsonl"))
    assert any("lone surrogate" in r for r in reasons), reasons
