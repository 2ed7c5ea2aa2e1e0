"""Turn pydantic validation errors into positioned, helpful diagnostics."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from domosec.errors import Diagnostic, did_you_mean
from domosec.model.source import Path_, SourceDocument


def format_path(path: Path_) -> str:
    """``('devices', 3, 'networks', 0)`` → ``devices[3].networks[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def diagnostics_from_validation(exc: ValidationError, doc: SourceDocument, root: type[BaseModel]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        value = err.get("input")
        if kind == "extra_forbidden":
            key = str(loc[-1])
            allowed = allowed_keys(root, loc[:-1])
            hint = did_you_mean(key, allowed)
            pos = doc.key_positions.get(loc) or doc.position(loc)
            found.append(_diag(doc, pos, "unknown-key", loc[:-1], f"unknown key '{key}'", hint or f"allowed: {', '.join(sorted(allowed))}"))
            continue
        if kind == "missing":
            found.append(_diag(doc, doc.position(loc[:-1]), "missing-key", loc[:-1], f"missing required key '{loc[-1]}'"))
            continue
        pos = doc.position(loc)
        if kind == "unknown_choice":
            found.append(_diag(doc, pos, "unknown-value", loc, err["msg"]))
        elif kind in ("literal_error", "enum"):
            expected = str(err.get("ctx", {}).get("expected", ""))
            choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",") if c.strip()]
            hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
            found.append(_diag(doc, pos, "unknown-value", loc, f"found {_show(value)}, expected {expected}", hint))
        elif kind == "string_pattern_mismatch":
            found.append(
                _diag(
                    doc,
                    pos,
                    "bad-id",
                    loc,
                    f"found {_show(value)}, expected an ID of letters, digits and _ . : @ / - (starting with a letter or digit)",
                )
            )
        elif kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
            # Only IDs are strict strings: every other text field takes a number as its text.
            found.append(_diag(doc, pos, "wrong-type", loc, f"an ID is text, found the number {_show(value)}", f"quote it: '{value}'"))
        else:
            message = err["msg"][0].lower() + err["msg"][1:]
            found.append(_diag(doc, pos, "wrong-type", loc, f"{message}, found {_show(value)}"))
    return found


def _diag(doc: SourceDocument, pos: tuple[int, int] | None, code: str, loc: Path_, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic.at(doc.file, pos, code, message, path=format_path(loc), hint=hint)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def allowed_keys(root: type[BaseModel], loc: Path_) -> list[str]:
    """The keys a mapping at ``loc`` may hold, found by walking the model classes."""
    cls: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return []
        field = _field_by_key(cls, part)
        if field is None:
            return []
        cls = _model_in(field.annotation)
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return sorted(f.alias or name for name, f in cls.model_fields.items())
    return []


def _field_by_key(cls: type[BaseModel], key: str) -> Any:
    for name, field in cls.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside ``X``, ``list[X]``, ``X | None``, or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            inner = _model_in(arg)
            if inner is not None:
                return inner
    return None
