"""The documentation shows what the program does: its examples run and its error list is complete."""

from __future__ import annotations

import re
from pathlib import Path

from domosec.engine.scoring import Matrix, rate_finding
from domosec.model.load import load_model_text

ROOT = Path(__file__).resolve().parents[1]


def test_readme_model_is_valid() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme, re.S)
    assert block is not None
    assert load_model_text(block.group(1), "README.md").model.devices


def test_every_error_code_is_documented_and_every_documented_code_exists() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src/domosec").rglob("*.py"))
    used = set(re.findall(r'"([a-z]+(?:-[a-z0-9]+)+)"', source)) & set(
        re.findall(r"`([a-z]+(?:-[a-z0-9]+)+)`", (ROOT / "docs/errors.md").read_text(encoding="utf-8"))
    )
    documented = set(re.findall(r"`([a-z]+(?:-[a-z0-9]+)+)`", (ROOT / "docs/errors.md").read_text(encoding="utf-8")))
    emitted = set(re.findall(r'Diagnostic\([^)]*?"([a-z]+(?:-[a-z0-9]+)+)"', source, re.S)) | set(
        re.findall(r'_(?:error|diag)\([^)]*?"([a-z]+(?:-[a-z0-9]+)+)"', source, re.S)
    )
    assert emitted <= documented, f"undocumented codes: {sorted(emitted - documented)}"
    assert documented <= used | emitted, f"documented but never raised: {sorted(documented - used - emitted)}"


def _rate(likelihood: int, impact: int, dimension: str, **context: bool) -> tuple[int, int, str]:
    rating, _, _ = rate_finding(
        Matrix(), dimension=dimension, likelihood=likelihood, impact=impact, likelihood_adjust=0, impact_adjust=0, context=context
    )  # type: ignore[arg-type]
    return rating.likelihood, rating.impact, rating.level


def test_scoring_worked_examples_in_docs_hold() -> None:
    assert _rate(3, 3, "security", internet_exposure=True) == (4, 3, "high")
    assert _rate(3, 3, "security", internet_exposure=True, private_zone=True) == (4, 4, "high")
    assert _rate(3, 4, "security", internet_exposure=True, private_zone=True) == (4, 5, "critical")
    assert _rate(2, 4, "security", safety_actuator=True) == (2, 5, "high")
    assert _rate(3, 3, "privacy", sensitive_data=True, vulnerable_users=True) == (3, 5, "high")
