"""The JSON Schema of the system model, generated from the pydantic classes."""

from __future__ import annotations

import json
from typing import Any

from domosec.model.elements import SystemModel

SCHEMA_ID = "https://domosec.dev/schema/domosec-model-1.schema.json"


def model_json_schema() -> dict[str, Any]:
    """The model's JSON Schema (draft 2020-12), for validation and editor completion."""
    schema = SystemModel.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def model_json_schema_text() -> str:
    return json.dumps(model_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
