"""A saved assessment is input like any other: bounded numbers, a checked matrix, and a diff that says when catalogues differ."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, run_cli

HOME = EXAMPLES / "family-home.yaml"


@pytest.fixture(scope="module")
def assessment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("assessment") / "a.json"
    result = run_cli("assess", HOME, "--format", "json", "-o", out)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


BROKEN = {
    "a huge score": (_set(("findings", 0, "inherent", "score"), 10**30), "findings[0].inherent.score: input should be less than"),
    "a huge line": (_set(("findings", 0, "asset", "line"), 10**30), "findings[0].asset.line: input should be less than"),
    "a huge count": (_set(("summary", "findings"), 10**30), "summary.findings: input should be less than"),
    "a huge fact": (_set(("findings", 0, "explain", "n"), 10**30), "findings[0].explain: value error, holds an integer outside 64 bits"),
    "a short matrix row": (_set(("matrix", "levels", 0), ["info"]), "matrix.levels[0]: list should have at least 5 items"),
    "a matrix of numbers": (_set(("matrix", "levels"), [[1, 2]] * 5), "matrix.levels[0][0]: found 1, expected 'info'"),
    "a matrix that is text": (_set(("matrix", "levels"), "x"), "matrix.levels: input should be a valid list"),
}


@pytest.mark.parametrize("fmt", ["json", "html", "sarif"])
@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_an_assessment_with_a_huge_number_or_a_malformed_matrix_is_refused(
    assessment: dict[str, Any], broken: str, fmt: str, tmp_path: Path
) -> None:
    change, message = BROKEN[broken]
    data = json.loads(json.dumps(assessment))
    change(data)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    result = run_cli("report", path, "--format", fmt)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}:" in result.stderr and message in result.stderr


def test_a_number_too_long_to_read_is_refused(assessment: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(re.sub(r'"score": \d+', '"score": ' + "9" * 5000, json.dumps(assessment), count=1), encoding="utf-8")
    result = run_cli("report", path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}: error[number-too-large]" in result.stderr


def test_a_diff_of_assessments_with_different_catalogues_warns(assessment: dict[str, Any], tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**assessment, "catalogue_version": "0.9.0"}), encoding="utf-8")
    new = tmp_path / "new.json"
    new.write_text(json.dumps(assessment), encoding="utf-8")
    result = run_cli("diff", old, new, "--format", "json")
    assert result.returncode == 0, result.stderr
    version = assessment["catalogue_version"]
    assert result.stderr == (
        f"{new}: warning[catalogue-mismatch]: the assessments were made with different catalogue versions "
        f"(0.9.0 in {old}, {version} in {new}): some changes may come from the catalogue, not the homes "
        "(assess both with the same domosec for a like-for-like diff)\n"
    )
    assert json.loads(result.stdout)["old"]["catalogue_version"] == "0.9.0", "the diff is still made"
    assert run_cli("diff", new, new, "--format", "json").stderr == "", "no warning for the same catalogue"
