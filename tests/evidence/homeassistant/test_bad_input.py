"""Broken and hostile configuration directories: a clear message and exit 2, or a warning and a partial import."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import run_cli
from tests.evidence.homeassistant.helpers import FAMILY, REGISTRY_3_4, by_id, copy_fixture, load_yaml


def _import(config: Path, *extra: str | Path) -> tuple[int, str, str]:
    result = run_cli("import", "homeassistant", config, *extra)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout, result.stderr


def test_a_directory_without_storage_is_refused(tmp_path: Path) -> None:
    (tmp_path / "configuration.yaml").write_text("homeassistant:\n", encoding="utf-8")
    code, out, err = _import(tmp_path)
    assert code == 2 and out == ""
    assert f"{tmp_path}/.storage: error[ha-no-storage]: no .storage directory" in err


def test_a_missing_directory_and_a_file_are_refused(tmp_path: Path) -> None:
    assert _import(tmp_path / "nowhere")[2].strip() == f"{tmp_path}/nowhere: error[ha-not-found]: no such directory"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert "error[ha-not-a-directory]" in _import(tmp_path / "file")[2]


def test_truncated_registry_json_gives_its_position(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    registry = config / ".storage" / "core.device_registry"
    text = registry.read_text(encoding="utf-8")
    registry.write_text(text[: len(text) // 2], encoding="utf-8")
    code, out, err = _import(config)
    assert code == 2 and out == ""
    assert f"{registry}:" in err and "error[ha-bad-json]: invalid JSON" in err and "(the file looks truncated)" in err


def test_half_a_surrogate_pair_in_a_name_is_reported_in_its_store(tmp_path: Path) -> None:
    # Found by the Home Assistant fuzz target: the error used to point at the generated model, not the store.
    config = copy_fixture(FAMILY, tmp_path)
    registry = config / ".storage" / "core.device_registry"
    text = registry.read_text(encoding="utf-8")
    start = text.index('"name": "') + len('"name": "')
    registry.write_text(text[:start] + "\\ud800" + text[start:], encoding="utf-8")
    line = text.count("\n", 0, start) + 1
    column = start - text.rfind("\n", 0, start)
    code, out, err = _import(config)
    assert code == 2 and out == ""
    assert f"{registry}:{line}:{column}: error[ha-bad-json]: invalid JSON: a \\u escape names half of a UTF-16 surrogate pair" in err


def test_corrupt_json_and_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    (config / ".storage" / "person").write_text('{"version": 2,\n "data": {"items": [}\n}', encoding="utf-8")
    code, _, err = _import(config)
    assert code == 2 and f"{config}/.storage/person:2:21: error[ha-bad-json]" in err
    (config / ".storage" / "person").write_text("[1, 2, 3]", encoding="utf-8")
    code, _, err = _import(config)
    assert code == 2 and "error[ha-bad-store]: not a Home Assistant store" in err


def test_an_unknown_newer_major_version_is_an_error_naming_it(tmp_path: Path) -> None:
    config = copy_fixture(REGISTRY_3_4, tmp_path)
    registry = config / ".storage" / "core.device_registry"
    envelope = json.loads(registry.read_text(encoding="utf-8"))
    envelope.update(version=4, minor_version=1)
    registry.write_text(json.dumps(envelope), encoding="utf-8")
    code, out, err = _import(config)
    assert code == 2 and out == ""  # not exit 0 with no devices, as before
    assert (
        f"{registry}: error[ha-unknown-version]: format 4.1 is a major version this domosec does not know (newest known: 3.4); "
        "reading it as an older format could lose devices without a word, so nothing was imported" in err
    )


def test_a_newer_minor_version_is_read_with_a_note(tmp_path: Path) -> None:
    config = copy_fixture(REGISTRY_3_4, tmp_path)
    registry = config / ".storage" / "core.entity_registry"
    envelope = json.loads(registry.read_text(encoding="utf-8"))
    envelope["minor_version"] = 31
    registry.write_text(json.dumps(envelope), encoding="utf-8")
    code, out, err = _import(config)
    assert code == 0 and "warning[ha-newer-minor-version]: format 1.31 is newer than 1.24" in err
    assert by_id(load_yaml(out)["devices"])["cabin-door"]["type"] == "lock"


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    loop = config / ".storage" / "core.area_registry"
    loop.unlink()
    os.symlink("core.area_registry", loop)
    code, _, err = _import(config)
    assert code == 2 and "error[ha-symlink-loop]: .storage/core.area_registry: symbolic links form a loop" in err


def test_a_symlink_to_a_file_outside_the_directory_is_not_followed(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    outside = tmp_path / "elsewhere.json"
    outside.write_text('{"version": 2, "key": "person", "data": {"items": []}}', encoding="utf-8")
    (config / ".storage" / "person").unlink()
    os.symlink(outside, config / ".storage" / "person")
    code, _, err = _import(config)
    assert code == 2 and "error[ha-outside-config]: .storage/person resolves to" in err and "it is not read" in err


def test_an_include_escaping_the_directory_is_refused_at_its_tag(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    (tmp_path / "stolen.yaml").write_text("server_port: 1\n", encoding="utf-8")
    (config / "configuration.yaml").write_text("homeassistant:\n  name: x\nhttp: !include ../stolen.yaml\n", encoding="utf-8")
    code, _, err = _import(config)
    assert code == 2
    assert f"{config}/configuration.yaml:3:7: error[ha-outside-config]: the include '../stolen.yaml' points outside" in err
    (config / "configuration.yaml").write_text("http: !include_dir_named /etc\n", encoding="utf-8")
    assert "error[ha-outside-config]: the include '/etc'" in _import(config)[2]


def test_an_include_cycle_is_refused(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    (config / "configuration.yaml").write_text("http: !include http.yaml\n", encoding="utf-8")
    (config / "http.yaml").write_text("again: !include configuration.yaml\n", encoding="utf-8")
    code, _, err = _import(config)
    assert code == 2 and "error[ha-include-cycle]: includes form a cycle: configuration.yaml -> http.yaml -> configuration.yaml" in err


def test_bad_yaml_gives_its_position(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    (config / "http.yaml").write_text("server_port: 8123\n  bad: [\n", encoding="utf-8")
    code, _, err = _import(config)
    assert code == 2 and f"{config}/http.yaml:2:" in err and "error[ha-bad-yaml]: invalid YAML" in err


def test_a_100_mb_registry_is_refused_before_it_is_read(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    registry = config / ".storage" / "core.entity_registry"
    with registry.open("r+b") as handle:
        handle.truncate(100 * 1024 * 1024)
    code, out, err = _import(config)
    assert code == 2 and out == ""
    assert "error[ha-file-too-large]: too large: the file is 104,857,600 bytes, over the limit of 67,108,864 bytes" in err
    assert "truncated" not in err
    assert "--max-bytes" in err


def test_a_secret_that_is_not_defined_is_a_warning(tmp_path: Path) -> None:
    config = copy_fixture(FAMILY, tmp_path)
    (config / "http.yaml").write_text("server_port: 8123\nssl_certificate: !secret no_such_cert\n", encoding="utf-8")
    code, out, err = _import(config)
    assert code == 0
    assert f"{config}/http.yaml:2:18: warning[ha-secret-missing]: the secret 'no_such_cert' is not defined" in err
    host = by_id(load_yaml(out)["gateways"])["home-assistant"]
    assert host["endpoints"][0]["protocol"] == "http"  # an unset certificate gives no TLS
