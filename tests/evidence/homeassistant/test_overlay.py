"""`--overlay`: what the assessor adds by hand survives every re-import, and conflicts are reported where they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domosec.errors import InputError
from domosec.evidence.homeassistant import import_homeassistant
from tests.conftest import run_cli
from tests.evidence.homeassistant.helpers import FAMILY, FIXTURES, by_id, copy_fixture, load_yaml

ADDITIONS = FIXTURES / "overlays" / "family-additions.yaml"


def test_overlay_enriches_imported_elements_and_adds_new_ones() -> None:
    data = load_yaml(import_homeassistant(FAMILY, overlay=ADDITIONS).text)
    users = by_id(data["users"])
    assert users["mia"]["role"] == "child" and users["mia"]["mfa"] is True  # merged: imported facts kept
    assert users["mia"]["provenance"]["source"] == "imported"
    assert users["leo"] == {"id": "leo", "name": "Leo Berger", "role": "child"}
    lan = by_id(data["networks"])["home-lan"]
    assert (lan["kind"], lan["encryption"], lan["segment"]) == ("wifi", "wpa2", "main")
    nest = by_id(data["services"])["cloud-nest"]
    assert (nest["retention_days"], nest["privacy_notice"], nest["jurisdiction"]) == (30, True, "US")
    assert nest["kind"] == "cloud_backend"
    assert by_id(data["zones"])["kueche"] == {**by_id(data["zones"])["kueche"], "kind": "kitchen", "privacy": "low"}
    assert data["controls"] == [{"id": "7.2.16", "status": "partial", "note": "Only Mia uses an authenticator app so far."}]


def test_reimport_after_home_assistant_changed_keeps_the_overlay(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    first = load_yaml(import_homeassistant(config, overlay=ADDITIONS).text)
    assert "garage-sensor" not in by_id(first["devices"])

    # The household adds a device in Home Assistant, then the assessor imports again.
    registry = config / ".storage" / "core.device_registry"
    envelope = json.loads(registry.read_text(encoding="utf-8"))
    new = dict(envelope["data"]["devices"][5], id="77" * 16, name="Garage sensor", area_id=None, connections=[["mac", "c4:5b:be:77:77:77"]])
    envelope["data"]["devices"].append(new)
    registry.write_text(json.dumps(envelope), encoding="utf-8")
    second = load_yaml(import_homeassistant(config, overlay=ADDITIONS).text)

    assert "garage-sensor" in by_id(second["devices"])
    assert by_id(second["users"])["leo"]["role"] == "child"
    assert by_id(second["users"])["mia"]["role"] == "child"
    assert by_id(second["services"])["cloud-nest"]["retention_days"] == 30
    assert {k: v for k, v in by_id(second["devices"]).items() if k != "garage-sensor"} == by_id(first["devices"])


def _overlay(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overlay.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_id_of_another_kind_of_element_is_a_conflict_at_its_position(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, "devices:\n  - id: living-room-lamp\n    name: Lamp\n  - id: anna\n    type: camera\n")
    with pytest.raises(InputError) as caught:
        import_homeassistant(FAMILY, overlay=overlay)
    (problem,) = caught.value.diagnostics
    assert (problem.file, problem.line, problem.col, problem.code) == (str(overlay), 4, 9, "ha-overlay-conflict")
    assert "'anna' has the ID of an imported user" in problem.message


def test_an_id_twice_in_the_overlay_is_a_conflict(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, "users:\n  - {id: leo, role: child}\n  - {id: leo, role: guest}\n")
    with pytest.raises(InputError) as caught:
        import_homeassistant(FAMILY, overlay=overlay)
    assert [(d.line, d.code) for d in caught.value.diagnostics] == [(3, "ha-overlay-conflict")]
    assert "first at line 2" in caught.value.diagnostics[0].message


def test_an_incomplete_new_element_is_reported_in_the_overlay_through_the_cli(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, "# a renamed device no longer matches\ndevices:\n  - id: bedroom-cam\n    zone: schlafzimmer\n")
    result = run_cli("import", "homeassistant", FAMILY, "--overlay", overlay)
    assert result.returncode == 2
    assert f"{overlay}:3:5: error[missing-key]: devices[0]: missing required key 'type'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_overlay_that_is_not_a_model_part_is_refused(tmp_path: Path) -> None:
    result = run_cli("import", "homeassistant", FAMILY, "--overlay", _overlay(tmp_path, "device:\n  - id: x\n"))
    assert result.returncode == 2
    assert "error[unknown-key]: unknown key 'device'" in result.stderr
