"""Fixtures of the fleet tests: one Spark session for the whole test session (its start-up costs seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from domosec.fleet.spark import spark_session

    session = spark_session("local[2]", app_name="domosec-tests")
    try:
        yield session
    finally:
        session.stop()


def generate_jsonl(factory: pytest.TempPathFactory, *, homes: int, seed: int) -> Path:
    """A generated fleet as JSON Lines, made with `domosec fleet generate` as a user would."""
    path = factory.mktemp("fleet") / "fleet.jsonl"
    result = run_cli("fleet", "generate", "--homes", str(homes), "--seed", str(seed), "--format", "jsonl", "-o", path)
    assert result.returncode == 0, result.stderr
    return path
