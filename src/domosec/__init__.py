"""domosec: security and privacy risk assessment of smart homes, following ISO/IEC 27403:2024.

The public API is imported lazily, so that ``domosec --help`` starts fast::

    from domosec import load_model, load_rules, assess
    assessment = assess([load_model("home.yaml")], load_rules())
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Assessment": "domosec.assessment",
    "Catalogue": "domosec.catalog.load",
    "CatalogueError": "domosec.errors",
    "Diagnostic": "domosec.errors",
    "DomosecError": "domosec.errors",
    "Finding": "domosec.assessment",
    "InputError": "domosec.errors",
    "LoadedModel": "domosec.model.load",
    "ModelError": "domosec.errors",
    "Rule": "domosec.engine.rule",
    "RuleError": "domosec.errors",
    "SystemModel": "domosec.model.elements",
    "assess": "domosec.engine.assess",
    "load_catalogue": "domosec.catalog.load",
    "load_model": "domosec.model.load",
    "load_rules": "domosec.engine.ruleset",
}
__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'domosec' has no attribute {name!r}")
