"""Load system models from YAML or JSON files, with every problem reported at its position."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domosec.errors import Diagnostic, ModelError
from domosec.model.diagnose import diagnostics_from_validation
from domosec.model.elements import SystemModel
from domosec.model.references import ELEMENT_SECTIONS, check_references
from domosec.model.source import DEFAULT_MAX_BYTES, SourceDocument, parse_bytes, read_document


@dataclass(frozen=True)
class LoadedModel:
    """A validated model and the document it came from (for positions in findings)."""

    model: SystemModel
    source: SourceDocument

    @property
    def file(self) -> str:
        return self.source.file

    def element_locations(self) -> dict[str, tuple[int, int]]:
        """Line and column of each element (by ID), and of the system itself under its ID."""
        where: dict[str, tuple[int, int]] = {}
        data = self.source.data
        for section in ELEMENT_SECTIONS:
            for index, item in enumerate(data.get(section) or []):
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    pos = self.source.position((section, index))
                    if pos:
                        where[item["id"]] = pos
        pos = self.source.position(("system",))
        if pos:
            where[self.model.system.id] = pos
        return where


def load_model(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedModel:
    """Read, validate and cross-check one model file; raises :class:`ModelError` listing every problem."""
    return model_from_document(read_document(path, max_bytes=max_bytes))


def load_model_text(text: str, name: str = "<model>", *, is_json: bool = False) -> LoadedModel:
    """Like :func:`load_model`, for a document held in a string."""
    return model_from_document(parse_bytes(text.encode("utf-8"), name, is_json=is_json))


def load_models(paths: Iterable[str | Path], *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[LoadedModel]:
    """Load several models, collecting the problems of all of them before raising."""
    loaded: list[LoadedModel] = []
    problems: list[Diagnostic] = []
    for path in paths:
        try:
            loaded.append(load_model(path, max_bytes=max_bytes))
        except ModelError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise ModelError(problems)
    return loaded


def model_from_document(doc: SourceDocument) -> LoadedModel:
    if not isinstance(doc.data, dict):
        pos = doc.position(())
        kind = "a list" if isinstance(doc.data, list) else _kind_of(doc.data)
        raise ModelError([Diagnostic.at(doc.file, pos, "not-a-mapping", f"found {kind}, expected a mapping with a 'system' section")])
    problems = check_references(doc)
    model: SystemModel | None = None
    try:
        model = SystemModel.model_validate(doc.data, by_alias=True, by_name=False)
    except ValidationError as exc:
        problems = diagnostics_from_validation(exc, doc, SystemModel) + problems
    if problems or model is None:
        raise ModelError(_unique(problems))
    return LoadedModel(model, doc)


def _kind_of(value: Any) -> str:
    """What a scalar is, never what it says: the file may be a private key or a password file given by mistake."""
    if isinstance(value, str):
        return f"text ({len(value):,} characters; its content is not shown)"
    if value is None:
        return "null"
    return {bool: "a yes/no value", int: "a number", float: "a number"}.get(type(value), "a single value")


def _unique(items: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[Any, ...]] = set()
    out: list[Diagnostic] = []
    for d in items:
        key = (d.file, d.line, d.col, d.code, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
