"""Model fields whose allowed values come from the catalogue, so the two cannot drift.

``DeviceTypeId`` is a ``str`` for the type checker; at validation time it must be one of the
catalogue's device-type IDs, and the generated JSON Schema lists them as an ``enum``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from domosec.catalog.load import Catalogue, load_catalogue


class CatalogueChoice:
    """Pydantic annotation: a string that must be one of a catalogue table's IDs."""

    def __init__(self, what: str, ids: Callable[[Catalogue], list[str]]) -> None:
        self.what = what
        self._ids = ids
        self._memo: tuple[Catalogue, frozenset[str]] | None = None

    def ids(self) -> list[str]:
        return sorted(self._allowed(load_catalogue()))

    def _allowed(self, catalogue: Catalogue) -> frozenset[str]:
        """The allowed IDs, computed once per catalogue object rather than for every value validated."""
        if self._memo is None or self._memo[0] is not catalogue:
            self._memo = (catalogue, frozenset(self._ids(catalogue)))
        return self._memo[1]

    def _check(self, value: str) -> str:
        if value in self._allowed(load_catalogue()):
            return value
        allowed = self.ids()
        from domosec.errors import did_you_mean

        hint = did_you_mean(value, allowed)
        raise PydanticCustomError(
            "unknown_choice",
            "'{value}' is not a known {what}; expected one of: {allowed}{hint}",
            {"value": value, "what": self.what, "allowed": ", ".join(allowed), "hint": f" — {hint}" if hint else ""},
        )

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, core_schema.str_schema())

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "enum": self.ids()}


DeviceTypeId = Annotated[str, CatalogueChoice("device type", lambda c: list(c.device_types))]
DataCategoryId = Annotated[str, CatalogueChoice("data category", lambda c: list(c.data_categories))]
HouseholdRoleId = Annotated[str, CatalogueChoice("household role", lambda c: c.household_roles())]
StakeholderRoleId = Annotated[str, CatalogueChoice("stakeholder role", lambda c: c.stakeholder_roles())]
LifecycleStageId = Annotated[str, CatalogueChoice("life-cycle stage", lambda c: list(c.lifecycle_stages))]
ControlId = Annotated[str, CatalogueChoice("clause-7 item", lambda c: list(c.controls))]
