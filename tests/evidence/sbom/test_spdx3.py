"""SPDX 3.0 JSON-LD SBOMs: written by the SPDX project's own bindings, read into components; hostile ones refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from domosec.errors import InputError
from domosec.evidence.sbom.reader import read_sbom
from tests.conftest import run_cli

from .firmware import FIRMWARE
from .spdx3_firmware import LICENCES, NOT_AFFECTED, write_firmware_spdx3

DATA = Path(__file__).parent / "data"


def test_spdx_python_model_firmware_sbom(tmp_path: Path) -> None:
    document = read_sbom(write_firmware_spdx3(tmp_path))
    assert (document.format, document.spec_version) == ("spdx", "3.0.1")
    got = {c.name: c for c in document.components}
    for name, version, supplier, cpe in FIRMWARE:
        c = got[name]
        assert (c.version, c.supplier, c.cpe, c.purl) == (version, supplier, cpe, f"pkg:generic/{name}@{version}")
        assert c.sha256 == hashlib.sha256(name.encode()).hexdigest()
        assert c.licenses == ([LICENCES[name]] if name in LICENCES else [])
    assert got["router-firmware"].depends_on == sorted(f"pkg:generic/{n}@{v}" for n, v, _, _ in FIRMWARE)
    assert "kernel.img" not in got  # a file of the linux package is its content, not a component
    assert got["u-boot.bin"].sha256 == hashlib.sha256(b"u-boot").hexdigest()
    cve, component, justification, statement = NOT_AFFECTED
    [vex] = document.vex
    assert (vex.vulnerability, vex.component, vex.state) == (cve, f"pkg:generic/{component}@1.31.1", "not_affected")
    assert vex.justification == f"{justification}; {statement}"
    assert [c.name for c in document.components] == sorted(c.name for c in document.components)


def test_the_spdx_spec_example_shape(tmp_path: Path) -> None:
    """Our reproduction of the spec's package SBOM example (examples/jsonld/package_sbom.json, see data/README.md)."""
    document = read_sbom(DATA / "spdx3-package-sbom.json")
    assert [(c.name, c.version, c.supplier) for c in document.components] == [("my-package", "1.0.0", "Joshua Watt")]


def test_import_sbom_matches_an_spdx3_firmware_with_its_vex(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "product.yaml"
    result = run_cli("import", "sbom", write_firmware_spdx3(tmp_path), "--asset", "router", "--vulndb", store, "-o", out)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "CVE-2022-28391" in text and "CVE-2017-14493" in text
    assert "vulnerableCodeNotInExecutePath" in text  # the VEX statement is kept on the busybox match


def _error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_sbom(path, max_bytes=1 << 20)
    return info.value.diagnostics[0].render()


CONTEXT = '"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a version that is a number, in the third element: the error names that element's line and column
        (
            "{\n  "
            + CONTEXT
            + ',\n  "@graph": [\n    {"type": "CreationInfo", "@id": "_:c"},\n    {"type": "software_Package", "spdxId": "a", "name": "a"},\n'
            '    {"type": "software_Package", "spdxId": "b", "name": "b",\n     "software_packageVersion": 1.2}\n  ]\n}',
            ":6:5: error[sbom-invalid]: SPDX 3 element 3: software_Package 'software_packageVersion' is float, not a string",
        ),
        (
            "{" + CONTEXT + ', "@graph": [{"type": "software_Package", "spdxId": 7}]}',
            ":1:75: error[sbom-invalid]: SPDX 3 element 1: 'spdxId' is int",
        ),
        ("{" + CONTEXT + ', "@graph": ["x"]}', ":1:75: error[sbom-invalid]: SPDX 3 element 1: an element is a JSON object, not str"),
        ("{" + CONTEXT + ', "@graph": {"type": "software_Package"}}', ": error[sbom-invalid]: '@graph' is not a list of elements"),
        (
            "{" + CONTEXT + ', "@graph": [{"type": "Relationship", "from": "a", "relationshipType": "dependsOn", "to": 5}]}',
            ":1:75: error[sbom-invalid]: SPDX 3 element 1: Relationship 'to' is int, not a list",
        ),
        ("{" + CONTEXT + ', "@graph": ' + "[" * 80 + "]" * 80 + "}", ":1:137: error[sbom-too-deep]: JSON nested deeper than 64 levels"),
        ("{" + CONTEXT + ',\n "@graph": [}', ":2:13: error[sbom-invalid]: not valid JSON"),
        ('{"@context": "https://example.org/other.jsonld", "@graph": []}', ": error[sbom-format]: JSON-LD whose @context is not SPDX 3.0"),
    ],
)
def test_malformed_spdx3_gets_a_positioned_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.spdx3.json"
    path.write_text(text, encoding="utf-8")
    assert _error(path).startswith(str(path) + expected)


def test_cli_names_the_element_of_a_bad_value_with_exit_2(tmp_path: Path) -> None:
    raw = json.loads(write_firmware_spdx3(tmp_path).read_text())
    raw["@graph"][5]["name"] = [raw["@graph"][5]["name"]]  # a list where SPDX 3 has a string
    path = tmp_path / "bad.spdx3.json"
    path.write_text(json.dumps(raw, indent=2))
    lines = path.read_text().splitlines()
    bad = next(i for i, text in enumerate(lines) if text.endswith('"name": ['))
    line = max(i for i in range(bad) if lines[i] == "    {") + 1  # where the element starts
    result = run_cli("import", "sbom", path, "--asset", "router", "-o", tmp_path / "out.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{path}:{line}:5: error[sbom-invalid]: SPDX 3 element 6: " in result.stderr
    assert "'name' is list, not a string" in result.stderr
    assert not (tmp_path / "out.yaml").exists()


def test_cli_refuses_a_huge_spdx3_with_exit_2(tmp_path: Path) -> None:
    element = {"type": "software_Package", "spdxId": "x", "name": "x" * 1000}
    path = tmp_path / "huge.spdx3.json"
    path.write_text(json.dumps({"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [element] * 2000}))
    result = run_cli("import", "sbom", path, "--asset", "router", "--max-bytes", "1000000", "-o", tmp_path / "out.yaml")
    assert result.returncode == 2
    assert "error[file-too-large]" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.yaml").exists()
