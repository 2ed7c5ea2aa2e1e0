"""Hostile numbers, IDs and inputs: each is a positioned error with exit code 2, never a traceback, a hang or a wrong pass."""

from __future__ import annotations

import json
import os
import threading
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from domosec.assessment import Assessment
from domosec.errors import ModelError
from domosec.model.elements import SystemModel
from domosec.model.load import load_model
from tests.conftest import EXAMPLES, run_cli

NUMERIC_IDS = """\
domosec: 1
system: {id: h, name: H}
zones: [{id: 1}]
networks: [{id: wifi, kind: wifi}]
devices: [{id: 2, type: camera, zone: 999, networks: [12345]}]
flows: [{id: f, from: 7, to: 7}]
accepted_risks: [{rule: DEV-S01, asset: 2, reason: r, approver: a, expires: 2030-01-01}]
"""


def _errors(path: Path) -> list[tuple[int | None, int | None, str, str, str]]:
    with pytest.raises(ModelError) as info:
        load_model(path)
    return [(d.line, d.col, d.code, d.path, d.hint) for d in info.value.diagnostics]


def test_a_number_as_an_id_or_reference_is_an_error_with_a_hint_to_quote_it(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(NUMERIC_IDS, encoding="utf-8")
    assert _errors(path) == [
        (3, 14, "wrong-type", "zones[0].id", "quote it: '1'"),
        (5, 16, "wrong-type", "devices[0].id", "quote it: '2'"),
        (5, 39, "wrong-type", "devices[0].zone", "quote it: '999'"),
        (5, 55, "wrong-type", "devices[0].networks[0]", "quote it: '12345'"),
        (6, 23, "wrong-type", "flows[0].from", "quote it: '7'"),
        (6, 30, "wrong-type", "flows[0].to", "quote it: '7'"),
        (7, 41, "wrong-type", "accepted_risks[0].asset", "quote it: '2'"),
    ]
    quoted = NUMERIC_IDS.replace("id: 1}", "id: '1'}").replace("id: 2,", "id: '2',").replace("zone: 999", "zone: '1'")
    quoted = quoted.replace("[12345]", "[wifi]").replace("from: 7, to: 7", "from: '2', to: '2'").replace("asset: 2", "asset: '2'")
    path.write_text(quoted, encoding="utf-8")
    assert [c for _, _, c, _, _ in _errors(path)] == ["self-flow"], "quoted, the IDs are checked like any other"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9223372036854775808", "input should be less than or equal to 36500"),
        ("36501", "input should be less than or equal to 36500"),
        ("-1", "input should be greater than or equal to 0"),
        (".inf", "input should be a finite number"),
    ],
)
def test_every_number_has_a_bound_that_validate_reports_and_assess_refuses(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(f"domosec: 1\nsystem: {{id: h, name: H}}\nservices: [{{id: s, kind: cloud_backend, retention_days: {value}}}]\n")
    for command in ("validate", "assess"):
        result = run_cli(command, path, "--format", "json") if command == "assess" else run_cli(command, path)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"{path}:3:57: error[wrong-type]: services[0].retention_days: {message}" in result.stderr


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_number_of_thousands_of_digits_is_refused_where_it_stands(tmp_path: Path, suffix: str) -> None:
    digits = "9" * 5000
    path = tmp_path / f"home{suffix}"
    if suffix == ".json":
        path.write_text('{"system": {"id": "h", "name": "H"}, "services": [{"id": "s", "retention_days": ' + digits + "}]}")
        where = "1:81"
    else:
        path.write_text(f"system: {{id: h, name: H}}\nservices: [{{id: s, retention_days: {digits}}}]\n")
        where = "2:36"
    result = run_cli("validate", path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}:{where}: error[number-too-large]: a number of 5,000 characters" in result.stderr
    assert digits not in result.stderr


def test_a_fleet_sets_aside_homes_with_numeric_ids_or_numbers_out_of_range_and_assesses_the_rest(tmp_path: Path) -> None:
    good = {"domosec": 1, "system": {"id": "ok", "name": "OK"}}
    numeric = {"domosec": 1, "system": {"id": "numeric", "name": "N"}, "zones": [{"id": 1}], "flows": [{"id": "f", "from": 7, "to": 7}]}
    big = {"domosec": 1, "system": {"id": "big", "name": "B"}, "services": [{"id": "s", "kind": "cloud_backend", "retention_days": 2**63}]}
    fleet = tmp_path / "fleet.jsonl"
    lines = [json.dumps(h) for h in (good, numeric, big)]
    lines.append('{"domosec": 1, "system": {"id": "huge", "name": "H"}, "services": [{"id": "s", "retention_days": ' + "9" * 5000 + "}]}")
    fleet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("fleet", "assess", fleet, "-o", tmp_path / "out")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "4 homes in: 1 assessed, 3 rejected" in result.stdout + result.stderr
    rejects = {r["source"]: r for r in map(json.loads, (tmp_path / "out" / "rejects.jsonl").read_text().splitlines())}
    assert "zones[0].id: an ID is text, found the number 1 (quote it: '1')" in rejects[f"{fleet}:2"]["reasons"]
    assert "flows[0].from: an ID is text, found the number 7 (quote it: '7')" in rejects[f"{fleet}:2"]["reasons"]
    assert rejects[f"{fleet}:3"]["reasons"] == [
        "services[0].retention_days: input should be less than or equal to 36500, found 9223372036854775808"
    ]
    assert rejects[f"{fleet}:4"]["reasons"] == ["a number is too long (Python converts at most 4,300 digits)"]


@pytest.mark.parametrize("command", ["validate", "report", "diff"])
def test_reading_a_device_that_never_ends_stops_at_the_limit(command: str) -> None:
    args = {"validate": ["validate", "/dev/zero"], "report": ["report", "/dev/zero"], "diff": ["diff", "/dev/zero", "/dev/zero"]}
    result = run_cli(*args[command])
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "/dev/zero: error[input-too-large]: more than" in result.stderr


def test_a_fifo_without_a_writer_is_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "model.yaml"
    os.mkfifo(fifo)
    result = run_cli("validate", fifo)
    assert result.returncode == 2 and f"{fifo}: error[empty-document]" in result.stderr, result.stderr


def test_a_model_piped_through_a_fifo_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "model.yaml"
    os.mkfifo(fifo)
    text = (EXAMPLES / "family-home.yaml").read_bytes()

    def feed() -> None:
        with open(fifo, "wb") as handle:
            handle.write(text)

    writer = threading.Thread(target=feed)
    writer.start()
    result = run_cli("validate", fifo)
    writer.join()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n",
            "text (112 characters",
        ),
        ("root:x:0:0:root:/root:/bin/bash\n", "text (31 characters"),
        ("123456\n", "a number"),
    ],
)
def test_a_file_that_is_not_a_model_is_described_never_echoed(tmp_path: Path, content: str, shown: str) -> None:
    path = tmp_path / "secret"
    path.write_text(content, encoding="utf-8")
    result = run_cli("validate", path)
    assert result.returncode == 2 and f"error[not-a-mapping]: found {shown}" in result.stderr, result.stderr
    for line in content.splitlines():
        assert line.strip("-") not in result.stderr


def test_a_parquet_fleet_with_numbers_for_ids_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fleet = tmp_path / "fleet"
    assert run_cli("fleet", "generate", "--homes", "5", "-o", fleet).returncode == 0
    part = sorted((fleet / "zones").glob("part-*.parquet"))[0]
    table = pq.read_table(part)
    numbers = pa.array(range(len(table)), pa.int64())
    pq.write_table(table.set_column(table.schema.get_field_index("zone_id"), "zone_id", numbers), part)
    result = run_cli("fleet", "assess", fleet, "-o", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{part}: error[table-types]: table zones: zone_id is int64; ID columns hold text" in result.stderr


def _models(cls: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    if cls in seen:
        return
    seen.add(cls)
    yield cls
    for info in cls.model_fields.values():
        for inner in _inner_types(info.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from _models(inner, seen)


def _inner_types(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _inner_types(arg)


@pytest.mark.parametrize("root", [SystemModel, Assessment], ids=["model", "assessment"])
def test_every_number_of_a_model_or_assessment_has_both_bounds(root: type[BaseModel]) -> None:
    unbounded = []
    for cls in _models(root, set()):
        for name, info in cls.model_fields.items():
            if not any(t in (int, float) for t in _inner_types(info.annotation)) or name in ("explain",):
                continue
            meta = [*info.metadata, *(m for t in _inner_types(info.annotation) for m in getattr(t, "__metadata__", ()))]
            meta += [m for f in meta if isinstance(f, FieldInfo) for m in f.metadata]
            has_low = any(isinstance(m, annotated_types.Ge) for m in meta)
            has_high = any(isinstance(m, annotated_types.Le) for m in meta)
            if not (has_low and has_high):
                unbounded.append(f"{cls.__name__}.{name}")
    assert unbounded == [], "a number without a range (ge and le) can overflow DuckDB, orjson or a renderer"
