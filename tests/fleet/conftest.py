"""Fixtures of the fleet tests: one Spark session for the whole test session (its start-up costs seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from domosec.fleet.spark import spark_session

    session = spark_session("local[2]", app_name="domosec-tests")
    try:
        yield session
    finally:
        session.stop()
