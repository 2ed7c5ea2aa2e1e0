"""Validators for the official schemas in this folder (see README.md for where each file comes from)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import regex
from jsonschema import validators

HERE = Path(__file__).resolve().parent
OSCAL_SCHEMAS = {
    "catalog": "oscal_catalog_schema.json",
    "assessment-results": "oscal_assessment-results_schema.json",
    "assessment-plan": "oscal_assessment-plan_schema.json",
    "plan-of-action-and-milestones": "oscal_poam_schema.json",
}


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    """JSON Schema `pattern` with Unicode property classes (\\p{L}), which NIST's schemas use and `re` lacks."""
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern)


_OscalValidator = validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern})


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HERE / name).read_text(encoding="utf-8"))
    return loaded


def sarif_errors(document: Any) -> list[str]:
    validator = jsonschema.Draft4Validator(_schema("sarif-schema-2.1.0.json"), format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def oscal_errors(document: dict[str, Any]) -> list[str]:
    """Errors of an OSCAL JSON document (its root key names the model) against NIST's schema for it."""
    (root,) = document
    validator = _OscalValidator(_schema(OSCAL_SCHEMAS[root]), format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(document)]
