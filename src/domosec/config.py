"""Settings from a configuration file and the environment, under the command line.

``domosec`` looks for its configuration from the current directory upwards: in each directory, a
``.domosec.toml`` (its keys at the top level), else a ``pyproject.toml`` with a ``[tool.domosec]``
table; the first found is used, and the search stops at the root of a git repository (a directory
holding ``.git``). Keys (all optional)::

    rules = ["rules/"]          # rule pack directories, relative to the file
    matrix = "matrix.yaml"      # risk matrix, relative to the file
    fail-on = "high"            # none, info, low, medium, high, critical
    severity = "medium"         # show findings at or above this level
    select = ["DEV-S", "6.3"]   # show only these rules, rule prefixes, clauses or controls
    ignore = ["NET-P04"]        # never show these

Each setting is taken from, in order: the command line, the environment (``DOMOSEC_RULES`` as
paths separated by ``os.pathsep``, ``DOMOSEC_MATRIX``, ``DOMOSEC_FAIL_ON``, ``DOMOSEC_SEVERITY``,
``DOMOSEC_SELECT`` and ``DOMOSEC_IGNORE`` as comma-separated lists), the file, the default.
``DOMOSEC_CONFIG`` names a file to use instead of searching (empty: search); ``--no-config``
or ``DOMOSEC_CONFIG=none`` uses none.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domosec.assessment import LEVELS
from domosec.errors import Diagnostic, InputError

FILE_NAMES = (".domosec.toml", "pyproject.toml")
LIST_KEYS = ("rules", "select", "ignore")
LEVEL_KEYS = ("fail-on", "severity")
KEYS = (*LIST_KEYS, "matrix", *LEVEL_KEYS)
ENV = {key: "DOMOSEC_" + key.upper().replace("-", "_") for key in KEYS}
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Config:
    """The settings a configuration file gives (paths made absolute), and the file they came from."""

    path: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)


def find_config(start: Path | None = None) -> Path | None:
    """The configuration file for a run in ``start`` (default: the current directory), if any."""
    named = os.environ.get("DOMOSEC_CONFIG", "")
    if named:
        return None if named.lower() == "none" else Path(named)
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        dotfile = directory / FILE_NAMES[0]
        if dotfile.is_file():
            return dotfile
        pyproject = directory / FILE_NAMES[1]
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def load_config(path: Path | None) -> Config:
    """Read and check a configuration file; an :class:`InputError` names the file, line and key of a problem."""
    if path is None:
        return Config()
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+), column (\d+)", str(exc))
        line, col = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        raise InputError([Diagnostic(str(path), line, col, "config", f"invalid TOML: {str(exc).split(' (at line')[0]}")]) from None
    table = data if path.name != FILE_NAMES[1] else data.get("tool", {}).get("domosec", {})
    problems: list[Diagnostic] = []
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = _line_of(text, key)
        if key not in KEYS:
            problems.append(Diagnostic(str(path), where, 1, "config", f"unknown key '{key}' (known: {', '.join(KEYS)})"))
        elif key in LIST_KEYS and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(Diagnostic(str(path), where, 1, "config", f"'{key}' must be a list of strings"))
        elif key in LEVEL_KEYS and value not in (*LEVELS, "none"):
            problems.append(Diagnostic(str(path), where, 1, "config", f"'{key}' must be one of none, {', '.join(LEVELS)}"))
        elif key == "matrix" and not isinstance(value, str):
            problems.append(Diagnostic(str(path), where, 1, "config", "'matrix' must be a path (a string)"))
        else:
            values[key] = value
    if problems:
        raise InputError(problems)
    base = path.resolve().parent
    if "rules" in values:
        values["rules"] = [base / p for p in values["rules"]]
    if "matrix" in values:
        values["matrix"] = base / values["matrix"]
    return Config(path, values)


def from_env(key: str) -> Any:
    """The setting ``key`` from its ``DOMOSEC_*`` variable, or None when unset or empty."""
    raw = os.environ.get(ENV[key], "").strip()
    if not raw:
        return None
    if key == "rules":
        return [Path(p) for p in raw.split(os.pathsep) if p]
    if key in LIST_KEYS:
        return [p.strip() for p in raw.split(",") if p.strip()]
    if key == "matrix":
        return Path(raw)
    if raw not in (*LEVELS, "none"):
        message = f"{ENV[key]}={raw!r} is not one of none, {', '.join(LEVELS)}"
        raise InputError([Diagnostic(f"${ENV[key]}", None, None, "config", message)])
    return raw


def setting(key: str, given: Any, config: Config, default: Any) -> Any:
    """``given`` on the command line, else the environment, else the file, else ``default``."""
    if given is not None and given != []:
        return given
    env = from_env(key)
    if env is not None:
        return env
    return config.values.get(key, default)


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError([Diagnostic(str(path), None, None, "config", f"cannot read the configuration file: {exc.strerror}")]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError([Diagnostic(str(path), None, None, "config", "the configuration file is larger than 1 MB")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError([Diagnostic(str(path), line, 1, "not-utf8", f"byte {exc.start} is not valid UTF-8")]) from None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        with pyproject.open("rb") as handle:
            head = handle.read(MAX_CONFIG_BYTES)
    except OSError:
        return False
    return re.search(rb"^\s*\[\s*tool\.domosec\s*\]", head, re.MULTILINE) is not None


def _line_of(text: str, key: str) -> int | None:
    found = re.search(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else None
