"""Load the catalogue data files into typed objects and check that they hold together."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domosec import cache
from domosec.catalog.types import (
    APPLICABILITY_WORDS,
    HOME_CONTEXT_COLUMNS,
    Clause,
    Concern,
    Control,
    DataCategory,
    DeviceType,
    FrameworkItem,
    LifecycleStage,
    ReferenceEntity,
    RiskSource,
    Role,
    Standard,
    UseCase,
)
from domosec.errors import CatalogueError

T = TypeVar("T", bound=BaseModel)

_SECTIONS: dict[str, type[BaseModel]] = {
    "clauses": Clause,
    "controls": Control,
    "risk_sources": RiskSource,
    "device_types": DeviceType,
    "data_categories": DataCategory,
    "roles": Role,
    "lifecycle_stages": LifecycleStage,
    "reference_entities": ReferenceEntity,
    "use_cases": UseCase,
    "concerns": Concern,
    "framework_items": FrameworkItem,
}

CLAUSE_7_COUNT = 45


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue, indexed by ID. Build it with :func:`load_catalogue`."""

    standard: Standard
    clauses: dict[str, Clause]
    controls: dict[str, Control]
    risk_sources: dict[str, RiskSource]
    device_types: dict[str, DeviceType]
    data_categories: dict[str, DataCategory]
    roles: dict[str, Role]
    lifecycle_stages: dict[str, LifecycleStage]
    reference_entities: dict[str, ReferenceEntity]
    use_cases: dict[str, UseCase]
    concerns: dict[str, Concern]
    framework_items: dict[str, FrameworkItem] = field(repr=False)

    def household_roles(self) -> list[str]:
        return sorted(r.id for r in self.roles.values() if r.kind == "household")

    def stakeholder_roles(self) -> list[str]:
        return sorted(r.id for r in self.roles.values() if r.kind == "stakeholder")

    def vulnerable_roles(self) -> list[str]:
        return sorted(r.id for r in self.roles.values() if r.kind == "household" and r.vulnerable)

    def item(self, item_id: str) -> BaseModel | None:
        """Find any catalogue item by its ID (clause numbers, risk sources, device types…)."""
        for table in self.tables():
            found: BaseModel | None = table.get(item_id)
            if found is not None:
                return found
        return None

    def tables(self) -> list[dict[str, Any]]:
        """Every ID-indexed table, controls before clauses so the richer entry wins."""
        return [
            self.controls,
            self.clauses,
            self.risk_sources,
            self.device_types,
            self.data_categories,
            self.roles,
            self.lifecycle_stages,
            self.reference_entities,
            self.use_cases,
            self.concerns,
            self.framework_items,
        ]

    def children(self, clause_id: str) -> list[Clause]:
        return sorted(
            (c for c in self.clauses.values() if c.parent == clause_id),
            key=lambda c: clause_sort_key(c.id),
        )

    def risk_sources_of(self, clause_id: str) -> list[RiskSource]:
        return sorted(
            (r for r in self.risk_sources.values() if r.clause == clause_id),
            key=lambda r: r.id,
        )

    def controls_treating(self, risk_source_id: str) -> list[Control]:
        return [c for c in self.controls.values() if risk_source_id in c.treats]


def clause_sort_key(clause_id: str) -> tuple[Any, ...]:
    """Sort ``5.2`` before ``5.10`` and clauses before annexes."""
    if clause_id.startswith("Annex"):
        return (1, clause_id)
    return (0, tuple(int(p) if p.isdigit() else 0 for p in clause_id.split(".")))


def framework_key(framework: str, item_id: str) -> str:
    return f"{framework}:{item_id}"


@functools.lru_cache(maxsize=4)
def load_catalogue(data_dir: str | None = None) -> Catalogue:
    """Load and check the catalogue; ``data_dir`` defaults to the shipped data files."""
    directory = Path(data_dir) if data_dir else Path(str(resources.files("domosec.catalog") / "data"))
    raw: dict[str, list[dict[str, Any]]] = {name: [] for name in _SECTIONS}
    standard: dict[str, Any] | None = None
    paths = sorted(directory.glob("*.yaml"))
    contents = [p.read_bytes() for p in paths]
    cache_key = cache.content_key("catalogue", *contents)
    cached = cache.get(cache_key)
    fresh = not isinstance(cached, list) or len(cached) != len(paths)
    documents: list[dict[str, Any]] = [_read_yaml(path) for path in paths] if fresh else list(cached)  # type: ignore[arg-type]
    for path, document in zip(paths, documents, strict=True):
        for section, value in document.items():
            if section == "standard":
                standard = value
            elif section in _SECTIONS and isinstance(value, list):
                raw[section].extend(value)
            else:
                raise CatalogueError(f"{path}: unknown or malformed section '{section}'")
    if standard is None:
        raise CatalogueError(f"{directory}: no 'standard' section")
    try:
        tables = {name: _index(name, _SECTIONS[name], items) for name, items in raw.items()}
        catalogue = Catalogue(standard=Standard.model_validate(standard), **tables)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise CatalogueError(f"catalogue data is invalid: {exc}") from exc
    problems = check_catalogue(catalogue)
    if problems:
        raise CatalogueError("catalogue is inconsistent:\n  " + "\n  ".join(problems))
    if fresh:
        cache.put(cache_key, documents)
    return catalogue


def _read_yaml(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=False).load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: expected a mapping at the top level")
    return data


def _index(name: str, cls: type[T], items: Iterable[dict[str, Any]]) -> dict[str, T]:
    table: dict[str, T] = {}
    for item in items:
        obj = cls.model_validate(item)
        fields = obj.__dict__
        key = str(fields["id"])
        if name == "framework_items":
            key = framework_key(str(fields["framework"]), key)
        if key in table:
            raise CatalogueError(f"duplicate {name} id '{key}'")
        table[key] = obj
    return table


def check_catalogue(cat: Catalogue) -> list[str]:
    """Every reference between catalogue items must resolve; returns the problems found."""
    problems: list[str] = []

    def need(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    stakeholders = set(cat.stakeholder_roles())
    stages = set(cat.lifecycle_stages)
    for clause in cat.clauses.values():
        need(clause.parent is None or clause.parent in cat.clauses, f"clause {clause.id}: unknown parent {clause.parent}")
    clause7 = [c for c in cat.clauses.values() if c.kind in ("principle", "security_control", "privacy_control")]
    need(len(clause7) == CLAUSE_7_COUNT, f"expected {CLAUSE_7_COUNT} clause-7 items, found {len(clause7)}")
    for clause in clause7:
        need(clause.id in cat.controls, f"clause-7 item {clause.id} has no control entry")
    for control in cat.controls.values():
        control_clause = cat.clauses.get(control.id)
        need(control_clause is not None, f"control {control.id}: no clause with that number")
        if control_clause is not None:
            need(control_clause.title == control.title, f"control {control.id}: title differs from its clause")
            need(control_clause.kind == control.kind, f"control {control.id}: kind differs from its clause")
        need(bool(control.treats) or bool(control.treats_none_reason), f"control {control.id}: treats no risk source and says not why")
        words = set(re.findall(r"[A-Za-z_]+", control.applicability.when.lower()))
        unknown = words - HOME_CONTEXT_COLUMNS - APPLICABILITY_WORDS
        need(not unknown, f"control {control.id}: applicability uses unknown names {sorted(unknown)}")
        need(
            control.applicability.when.strip() == "true" or bool(control.applicability.not_applicable_because),
            f"control {control.id}: conditional applicability without not_applicable_because",
        )
        need(len(set(control.treats)) == len(control.treats), f"control {control.id}: a risk source is listed twice in treats")
        for rs_id in control.treats:
            need(rs_id in cat.risk_sources, f"control {control.id}: unknown risk source {rs_id}")
        for role_id in control.responsible:
            need(role_id in stakeholders, f"control {control.id}: unknown stakeholder role {role_id}")
        for stage in control.lifecycle:
            need(stage in stages, f"control {control.id}: unknown life-cycle stage {stage}")
        for ref in control.cross_map:
            for item in ref.ids:
                need(
                    framework_key(ref.framework, item) in cat.framework_items, f"control {control.id}: unknown {ref.framework} item {item}"
                )
    for rs in cat.risk_sources.values():
        group = cat.clauses.get(rs.clause)
        need(group is not None and group.kind == "risk_source_group", f"risk source {rs.id}: {rs.clause} is not a risk-source clause")
        need(
            rs.dimension == ("security" if rs.clause.startswith("6.2.") else "privacy"),
            f"risk source {rs.id}: dimension does not match clause {rs.clause}",
        )
        need(bool(rs.stride) or bool(rs.linddun), f"risk source {rs.id}: no STRIDE or LINDDUN class")
        need(bool(cat.controls_treating(rs.id)), f"risk source {rs.id}: no clause-7 item treats it")
    for dt in cat.device_types.values():
        for measure in dt.measures:
            need(measure.control in cat.controls, f"device type {dt.id}: unknown control {measure.control}")
        for category in dt.typical_data:
            need(category in cat.data_categories, f"device type {dt.id}: unknown data category {category}")
    for role in cat.roles.values():
        need(role.parent is None or role.parent in cat.roles, f"role {role.id}: unknown parent {role.parent}")
    for uc in cat.use_cases.values():
        for dt_id in uc.device_types:
            need(dt_id in cat.device_types, f"use case {uc.id}: unknown device type {dt_id}")
        for cid in uc.controls:
            need(cid in cat.controls, f"use case {uc.id}: unknown control {cid}")
    for concern in cat.concerns.values():
        need(concern.stakeholder in stakeholders, f"concern {concern.id}: unknown stakeholder role {concern.stakeholder}")
        for cid in concern.controls:
            need(cid in cat.controls, f"concern {concern.id}: unknown control {cid}")
    return problems
