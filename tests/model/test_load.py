"""The model loader's library API: positions, YAML 1.2 scalars, JSON, limits, and how problems are collected."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from domosec.errors import Diagnostic, ModelError
from domosec.model.diagnose import format_path
from domosec.model.load import LoadedModel, load_model, load_model_text, load_models
from domosec.model.source import MAX_DEPTH, MAX_EXPANDED_NODES, SourceDocument, parse_bytes, read_document

HOME = """\
domosec: 1
system: {id: test-home, name: Test home}
zones: [{id: bedroom, kind: bedroom}]
networks:
  - {id: wifi, kind: wifi, encryption: wpa2}
  - {id: zigbee, kind: zigbee}
gateways:
  - id: hub
    kind: hub
    networks: [wifi, zigbee]
devices:
  - id: cam
    type: camera
    zone: bedroom
    networks: [wifi]
  - id: motion
    type: sensor_alarm
    gateway: hub
    networks:
      - zigbee
services:
  - {id: cloud, kind: cloud_backend, retention_days: 30}
flows:
  - {id: upload, from: cam, to: cloud, via: [wifi], data: [video]}
"""


def problems(text: str, *, is_json: bool = False) -> list[Diagnostic]:
    with pytest.raises(ModelError) as info:
        load_model_text(text, "home.yaml", is_json=is_json)
    return info.value.diagnostics


def only(text: str, *, is_json: bool = False) -> Diagnostic:
    found = problems(text, is_json=is_json)
    assert len(found) == 1, [d.render() for d in found]
    return found[0]


# --- positions ----------------------------------------------------------------------------------------


def test_positions_of_nested_nodes() -> None:
    doc = parse_bytes(HOME.encode(), "home.yaml")
    assert doc.position(("devices", 1, "networks", 0)) == (20, 9)  # the '- zigbee' item of the second device
    assert doc.position(("devices", 0, "networks", 0)) == (15, 16)  # 'wifi' inside '[wifi]'
    assert doc.position(("devices", 1)) == (16, 5)  # an element: where its mapping starts
    assert doc.position(("devices", 0, "type")) == (13, 11)  # a value
    assert doc.key_positions[("devices", 0, "type")] == (13, 5)  # and its key
    assert doc.position(("networks", 1, "kind")) == (6, 24)  # inside a flow mapping
    assert doc.position(()) == (1, 1)


def test_position_falls_back_to_nearest_ancestor() -> None:
    doc = parse_bytes(HOME.encode(), "home.yaml")
    assert doc.position(("devices", 0, "no_such_key", 3)) == doc.position(("devices", 0))
    assert SourceDocument("x", None).position(("a",)) is None


def test_error_at_nested_list_item_is_positioned_there() -> None:
    d = only(HOME.replace("      - zigbee", "      - thread"))
    assert (d.file, d.line, d.col, d.code) == ("home.yaml", 20, 9, "unknown-reference")
    assert d.path == "devices[1].networks[0]"
    assert d.render().startswith("home.yaml:20:9: error[unknown-reference]: devices[1].networks[0]: network 'thread' is not defined")


def test_positions_with_crlf_line_ends_and_bom() -> None:
    text = "\ufeff" + HOME.replace("\n", "\r\n")
    doc = parse_bytes(text.encode("utf-8"), "home.yaml")
    assert doc.position(()) == (1, 1)
    assert doc.position(("devices", 1, "networks", 0)) == (20, 9)


def test_columns_count_characters_not_bytes() -> None:
    doc = parse_bytes("a: {x: Fröbel Straße, y: 1}\n".encode(), "x")
    assert doc.position(("a", "y")) == (1, 26)


def test_unknown_key_is_positioned_at_the_key() -> None:
    d = only(HOME.replace("    zone: bedroom", "    zoen: bedroom"))
    assert (d.line, d.col, d.code, d.path) == (14, 5, "unknown-key", "devices[0]")
    assert d.hint == "did you mean 'zone'?"
    assert d.render().endswith("unknown key 'zoen' (did you mean 'zone'?)")


def test_missing_key_is_positioned_at_its_mapping() -> None:
    d = only(HOME.replace("    type: sensor_alarm\n", ""))
    assert (d.line, d.col, d.code, d.path) == (16, 5, "missing-key", "devices[1]")
    assert "'type'" in d.message


# --- the error path format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("system",), "system"),
        (("devices", 3), "devices[3]"),
        (("devices", 3, "networks", 0), "devices[3].networks[0]"),
        (("gateways", 0, "port_forwards", 2, "target"), "gateways[0].port_forwards[2].target"),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


def test_error_path_of_the_fourth_device() -> None:
    extra = "".join(f"  - {{id: plug{i}, type: lighting_plug}}\n" for i in range(2)) + "  - {id: tv, type: tv_media, networks: [wlan]}\n"
    text = HOME.replace("services:", extra + "services:")
    d = only(text)
    assert d.path == "devices[4].networks[0]"
    only_last = HOME.replace("services:", "  - {id: tv, type: tv_media, networks: [wlan]}\nservices:")
    assert only(only_last).path == "devices[2].networks[0]"
    three = HOME.replace("services:", "  - {id: p0, type: lighting_plug}\n  - {id: tv, type: tv_media, networks: [wlan]}\nservices:")
    d3 = only(three)
    assert d3.path == "devices[3].networks[0]"
    assert d3.render() == "home.yaml:22:41: error[unknown-reference]: devices[3].networks[0]: network 'wlan' is not defined"


# --- YAML 1.2 scalars ---------------------------------------------------------------------------------


def test_yaml_12_core_schema_scalars() -> None:
    raw = b"a: yes\nb: on\nc: no\nd: off\ne: y\nf: true\ng: False\nh: ~\ni: null\nj: 0o17\nk: 0x1F\nl: 1.2\nm: 2030-01-31\nn: '12'\n"
    data = parse_bytes(raw, "x").data
    assert data == {
        "a": "yes",
        "b": "on",
        "c": "no",
        "d": "off",
        "e": "y",
        "f": True,
        "g": False,
        "h": None,
        "i": None,
        "j": 15,
        "k": 31,
        "l": 1.2,
        "m": "2030-01-31",
        "n": "12",
    }


def test_yes_and_on_stay_strings_in_the_model() -> None:
    text = HOME.replace("{id: test-home, name: Test home}", "{id: test-home, name: yes}").replace("id: cam\n", "id: cam\n    vendor: on\n")
    model = load_model_text(text).model
    assert model.system.name == "yes"
    assert model.devices[0].vendor == "on"


def test_numeric_firmware_is_coerced_to_text() -> None:
    model = load_model_text(HOME.replace("id: cam\n", "id: cam\n    firmware: 1.2\n    model: 400\n")).model
    assert model.devices[0].firmware == "1.2"
    assert model.devices[0].model == "400"


def test_dates_are_parsed_by_the_model() -> None:
    model = load_model_text(HOME.replace("id: cam\n", "id: cam\n    support_end: 2030-01-31\n")).model
    assert model.devices[0].support_end == dt.date(2030, 1, 31)


# --- anchors and aliases ------------------------------------------------------------------------------


def test_anchors_and_aliases_within_budget() -> None:
    text = HOME.replace(
        "    networks: [wifi]\n", "    networks: &lan [wifi]\n    endpoints: &web [{protocol: https, port: 443}]\n"
    ).replace("    gateway: hub\n", "    gateway: hub\n    endpoints: *web\n")
    text += "  - {id: backup, from: motion, to: cloud, via: *lan}\n"
    model = load_model_text(text).model
    assert model.devices[1].endpoints[0].port == 443
    assert model.devices[0].endpoints == model.devices[1].endpoints
    assert model.flows[1].via == ["wifi"]


def test_large_but_legitimate_alias_use_is_accepted() -> None:
    # 3 levels of 10: 1,000 expanded strings, far below the budget
    raw = b'a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'
    data = parse_bytes(raw, "x").data
    assert sum(len(inner) for inner in data["c"]) == 100
    assert all(item == "x" for outer in data["c"] for inner in outer for item in inner)


def test_alias_bomb_is_refused_while_parsing() -> None:
    levels = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(ModelError) as info:
        parse_bytes("\n".join(levels).encode(), "bomb.yaml")
    (d,) = info.value.diagnostics
    assert d.code == "expansion-limit"
    assert d.line is not None and d.line <= 9
    assert f"{MAX_EXPANDED_NODES:,}" in d.message


def test_alias_bomb_of_empty_lists_is_refused() -> None:
    """An alias of an empty list still adds a node per use; ten levels of ten expand to 10^10 lists."""
    levels = ["l0: &l0 []"]
    levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 11)]
    with pytest.raises(ModelError) as info:
        parse_bytes("\n".join(levels).encode(), "bomb.yaml")
    assert [d.code for d in info.value.diagnostics] == ["expansion-limit"]


# --- depth and size limits ----------------------------------------------------------------------------


def test_depth_limit_boundary() -> None:
    ok = parse_bytes(("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode(), "x")
    assert ok.data is not None
    with pytest.raises(ModelError) as info:
        parse_bytes(("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode(), "x")
    (d,) = info.value.diagnostics
    assert (d.code, d.line, d.col) == ("too-deep", 1, MAX_DEPTH + 1)


def test_very_deep_yaml_does_not_overflow_the_stack() -> None:
    with pytest.raises(ModelError) as info:
        parse_bytes(("[" * 200_000 + "]" * 200_000).encode(), "x")
    assert [d.code for d in info.value.diagnostics] == ["too-deep"]


def test_very_deep_json_is_refused_cleanly() -> None:
    """JSON is first checked by the standard library, whose decoder recurses: a deep document must not escape as RecursionError."""
    with pytest.raises(ModelError) as info:
        parse_bytes(("[" * 100_000 + "]" * 100_000).encode(), "deep.json", is_json=True)
    assert [d.code for d in info.value.diagnostics] == ["too-deep"]


def test_size_limit_of_documents_in_memory() -> None:
    raw = HOME.encode()
    assert parse_bytes(raw, "x", max_bytes=len(raw)).data["system"]["id"] == "test-home"
    with pytest.raises(ModelError) as info:
        parse_bytes(raw, "x", max_bytes=len(raw) - 1)
    assert [d.code for d in info.value.diagnostics] == ["file-too-large"]


def test_size_limit_of_files_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(HOME + "#" * 1000 + "\n", encoding="utf-8")
    with pytest.raises(ModelError) as info:
        load_model(path, max_bytes=1000)
    (d,) = info.value.diagnostics
    assert (d.file, d.line, d.code) == (str(path), None, "file-too-large")
    assert load_model(path, max_bytes=10_000).model.system.id == "test-home"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty-document"),
        (b"  \n\n", "empty-document"),
        (b"PK\x03\x04\x00\x00", "binary-file"),
        (b"system: {id: x, name: \xff}\n", "not-utf8"),
    ],
)
def test_unreadable_documents(raw: bytes, code: str) -> None:
    with pytest.raises(ModelError) as info:
        parse_bytes(raw, "x")
    assert [d.code for d in info.value.diagnostics] == [code]


def test_read_document_display_name(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text("system: [\n", encoding="utf-8")
    with pytest.raises(ModelError) as info:
        read_document(path, display_name="upload://home.yaml")
    assert info.value.diagnostics[0].file == "upload://home.yaml"


# --- JSON ---------------------------------------------------------------------------------------------


def test_json_gives_the_same_model_as_yaml() -> None:
    from_yaml = load_model_text(HOME)
    as_json = json.dumps(from_yaml.source.data, indent=2)
    from_json = load_model_text(as_json, "home.json", is_json=True)
    assert from_json.model == from_yaml.model
    compact = json.dumps(from_yaml.source.data, separators=(",", ":"))
    assert load_model_text(compact, "home.json", is_json=True).model == from_yaml.model
    tabbed = json.dumps(from_yaml.source.data, indent="\t")
    assert load_model_text(tabbed, "home.json", is_json=True).model == from_yaml.model


def test_json_errors_have_positions() -> None:
    data = json.loads(json.dumps(load_model_text(HOME).source.data))
    data["devices"][1]["networks"] = ["zigbee", "thread"]
    text = json.dumps(data, indent=2)
    d = only(text, is_json=True)
    assert (d.code, d.path) == ("unknown-reference", "devices[1].networks[1]")
    line = text.splitlines()[d.line - 1]
    assert line[d.col - 1 :].startswith('"thread"')


def test_json_syntax_error_position() -> None:
    d = only('{\n  "system": {"id": "x", "name": "y"},\n  "devices": [}\n}', is_json=True)
    assert (d.code, d.line, d.col) == ("syntax", 3, 15)
    assert d.message.startswith("invalid JSON:")


def test_json_unicode_escapes_including_surrogate_pairs() -> None:
    """Valid JSON escapes a character outside the BMP as a surrogate pair; it must load like the character itself."""
    text = '{"system": {"id": "test-home", "name": "\\u00c9l\\u00e9onore \\ud83c\\udfe0"}}'
    assert json.loads(text)["system"]["name"] == "Éléonore 🏠"
    assert load_model_text(text, "home.json", is_json=True).model.system.name == "Éléonore 🏠"


def test_json_duplicate_keys_are_refused() -> None:
    d = only('{"system": {"id": "x", "name": "y", "id": "z"}}', is_json=True)
    assert (d.code, d.line, d.col) == ("duplicate-key", 1, 37)


# --- the loaded model ---------------------------------------------------------------------------------


def test_element_locations() -> None:
    loaded = load_model_text(HOME)
    assert isinstance(loaded, LoadedModel)
    where = loaded.element_locations()
    assert where == {
        "test-home": (2, 9),
        "bedroom": (3, 9),
        "wifi": (5, 5),
        "zigbee": (6, 5),
        "hub": (8, 5),
        "cam": (12, 5),
        "motion": (16, 5),
        "cloud": (22, 5),
        "upload": (24, 5),
    }
    lines = HOME.splitlines()
    for ident, (line, _) in where.items():
        assert ident in lines[line - 1], ident


def test_loaded_model_from_file(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(HOME, encoding="utf-8")
    loaded = load_model(path)
    assert loaded.file == str(path)
    assert [d.id for d in loaded.model.devices] == ["cam", "motion"]
    assert loaded.model.flows[0].source == "cam" and loaded.model.flows[0].target == "cloud"


def test_accepted_risk_on_the_home_itself() -> None:
    """Home-level findings have the system ID as their asset, so a risk accepted for it names a defined asset."""
    text = HOME + "accepted_risks:\n  - {rule: NET-S01, asset: test-home, reason: ISP router, approver: Alice, expires: 2030-01-31}\n"
    model = load_model_text(text).model
    assert model.accepted_risks[0].asset == "test-home"


# --- collecting problems ------------------------------------------------------------------------------


MULTI = (
    HOME.replace("type: camera", "type: camra").replace("zone: bedroom", "zone: attic").replace("retention_days: 30", "retention_days: -1")
)


def test_all_problems_of_a_file_in_one_error() -> None:
    found = problems(MULTI + "gadgets: []\n")
    assert [(d.line, d.col, d.code) for d in found] == [
        (13, 11, "unknown-value"),
        (14, 11, "unknown-reference"),
        (22, 54, "wrong-type"),
        (25, 1, "unknown-key"),
    ]


def test_diagnostics_are_sorted_by_position() -> None:
    # reference problems are found before schema problems; the error lists them in file order anyway
    text = HOME.replace("to: cloud", "to: cluod").replace("kind: bedroom", "kind: bedrom")
    found = problems(text)
    assert [d.code for d in found] == ["unknown-value", "unknown-reference"]
    keys = [(d.line, d.col) for d in found]
    assert keys == sorted(keys)
    assert str(ModelError(list(reversed(found)))).splitlines() == [d.render() for d in found]


def test_load_models_reports_problems_of_several_files_together(tmp_path: Path) -> None:
    good = tmp_path / "a-good.yaml"
    good.write_text(HOME, encoding="utf-8")
    bad1 = tmp_path / "b-bad.yaml"
    bad1.write_text(MULTI, encoding="utf-8")
    bad2 = tmp_path / "c-bad.json"
    bad2.write_text('{"system": {"id": "x"}}', encoding="utf-8")
    missing = tmp_path / "d-missing.yaml"
    with pytest.raises(ModelError) as info:
        load_models([good, bad1, bad2, missing])
    by_file: dict[str, list[str]] = {}
    for d in info.value.diagnostics:
        by_file.setdefault(d.file, []).append(d.code)
    assert by_file == {
        str(bad1): ["unknown-value", "unknown-reference", "wrong-type"],
        str(bad2): ["missing-key"],
        str(missing): ["file-not-found"],
    }
    assert [m.model.system.id for m in load_models([good, good])] == ["test-home", "test-home"]


def test_load_models_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(HOME, encoding="utf-8")
    with pytest.raises(ModelError) as info:
        load_models([path], max_bytes=10)
    assert [d.code for d in info.value.diagnostics] == ["file-too-large"]
