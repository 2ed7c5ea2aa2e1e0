"""Reading real SBOMs made by real tools, and refusing malformed or hostile ones with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from domosec.errors import InputError
from domosec.evidence.sbom.reader import MAX_DEPTH, read_sbom
from tests.conftest import run_cli

from .firmware import FIRMWARE, write_firmware_spdx


def _installed() -> dict[str, str]:
    from importlib.metadata import distributions

    return {d.metadata["Name"].lower().replace("_", "-"): d.version for d in distributions()}


@pytest.mark.parametrize("key", ["json-1.6", "xml-1.5", "xml-1.4"])
def test_cyclonedx_py_sbom_of_the_project_virtualenv(venv_sboms: dict[str, Path], key: str) -> None:
    document = read_sbom(venv_sboms[key])
    assert (document.format, document.spec_version) == ("cyclonedx", key.split("-")[1])
    by_name = {c.name.lower().replace("_", "-"): c for c in document.components}
    installed = _installed()
    for name in ("duckdb", "pydantic", "setuptools", "cyclonedx-python-lib"):
        component = by_name[name]
        assert component.version == installed[name]
        assert component.purl == f"pkg:pypi/{name}@{installed[name]}"
    assert "pkg:pypi/pydantic-core@" + installed["pydantic-core"] in by_name["pydantic"].depends_on
    assert by_name["duckdb"].licenses  # licence expressions or names come through
    assert document.components == sorted(document.components, key=lambda c: (c.name.lower(), c.version, c.purl, c.ref))


def test_json_and_xml_give_the_same_components(venv_sboms: dict[str, Path]) -> None:
    json_doc, xml_doc = read_sbom(venv_sboms["json-1.6"]), read_sbom(venv_sboms["xml-1.5"])
    assert [(c.name, c.version, c.purl, c.depends_on) for c in json_doc.components] == [
        (c.name, c.version, c.purl, c.depends_on) for c in xml_doc.components
    ]


@pytest.mark.parametrize("kind", ["json", "tag-value"])
def test_spdx_tools_firmware_sbom(tmp_path: Path, kind: str) -> None:
    document = read_sbom(write_firmware_spdx(tmp_path)[kind])
    assert (document.format, document.spec_version) == ("spdx", "2.3")
    got = {c.name: (c.version, c.supplier, c.cpe) for c in document.components}
    for name, version, supplier, cpe in FIRMWARE:
        assert got[name] == (version, supplier, cpe)
    firmware = next(c for c in document.components if c.name == "router-firmware")
    assert firmware.depends_on == sorted(f"pkg:generic/{n}@{v}" for n, v, _, _ in FIRMWARE)
    assert all(len(c.sha256) == 64 for c in document.components if c.name != "router-firmware")


def _code(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_sbom(path, max_bytes=1 << 20)
    return info.value.diagnostics[0].code


def test_hostile_and_malformed_sboms(tmp_path: Path) -> None:
    cases = {
        "deep.json": '{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "laughs.xml": '<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><name>&b;</name>'
        "</component></components></bom>",
        "external.xml": '<?xml version="1.0"?><!DOCTYPE bom SYSTEM "file:///etc/passwd"><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>',
        "deep.xml": '<bom xmlns="http://cyclonedx.org/schema/bom/1.6">' + "<a>" * (MAX_DEPTH + 5) + "</a>" * (MAX_DEPTH + 5) + "</bom>",
        "broken.json": '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [',
        "wrong-type.json": '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "nonsense", "name": 3}]}',
        "old.json": '{"bomFormat": "CycloneDX", "specVersion": "1.2", "components": []}',
        "spdx-bad.json": '{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}',
        "spdx3.json": '{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [{"type": "software_Package", "name": 3}]}',
        "text.txt": "hello",
        "big.json": '{"bomFormat": "CycloneDX", ' + " " * (2 << 20) + "}",
    }
    expected = {
        "deep.json": "sbom-too-deep",
        "laughs.xml": "sbom-xml-forbidden",
        "external.xml": "sbom-xml-forbidden",
        "deep.xml": "sbom-too-deep",
        "broken.json": "sbom-invalid",
        "wrong-type.json": "sbom-invalid",
        "old.json": "sbom-version",
        "spdx-bad.json": "sbom-invalid",
        "spdx3.json": "sbom-invalid",
        "text.txt": "sbom-format",
        "big.json": "file-too-large",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        assert _code(path) == expected[name], name


def test_cli_refuses_an_entity_bomb_with_exit_2(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.cdx.xml"
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    bomb.write_text(f'<?xml version="1.0"?><!DOCTYPE bom [{entities}]><bom xmlns="http://cyclonedx.org/schema/bom/1.6">&e9;</bom>')
    result = run_cli("import", "sbom", bomb, "--asset", "router", "-o", tmp_path / "out.yaml")
    assert result.returncode == 2
    assert "error[sbom-xml-forbidden]" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.yaml").exists()
