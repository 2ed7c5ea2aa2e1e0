"""Find and load rule files: the built-in rules and any rule packs given with ``--rules DIR``.

A rule pack is a folder of ``<ID>-<name>.yaml`` files, optionally in one sub-folder per
risk-source clause (``6.2.3-devices/``). Files ending in ``.fail.yaml`` or ``.pass.yaml`` are
the rule's example models and files starting with ``_`` are not rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
from pydantic import ValidationError

from domosec import cache
from domosec.engine.database import RULE_TABLES
from domosec.engine.rule import Rule
from domosec.engine.sqlguard import guard_digest, locate_problems
from domosec.errors import Diagnostic, ModelError, RuleError
from domosec.model.diagnose import diagnostics_from_validation
from domosec.model.source import read_document

CLAUSE_FOLDER = re.compile(r"^(6\.[23]\.[1-4])(-|$)")
EXAMPLE_SUFFIXES = (".fail.yaml", ".pass.yaml")


@dataclass(frozen=True)
class LoadedRule:
    """A rule and where it came from."""

    rule: Rule
    file: str
    query_line: int
    builtin: bool

    def example(self, kind: str) -> Path:
        """The path of the rule's ``fail`` or ``pass`` example model."""
        return Path(self.file[: -len(".yaml")] + f".{kind}.yaml")


def builtin_rules_dir() -> Path:
    return Path(str(resources.files("domosec") / "rules"))


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.yaml") if not p.name.startswith("_") and not p.name.endswith(EXAMPLE_SUFFIXES))


def load_rules(extra_dirs: Iterable[Path] = (), *, include_builtin: bool = True) -> list[LoadedRule]:
    """Load, check and return every rule, sorted by ID; raises :class:`RuleError` listing all problems."""
    sources: list[tuple[Path, bool]] = []
    if include_builtin:
        sources.append((builtin_rules_dir(), True))
    for directory in extra_dirs:
        if not directory.is_dir():
            raise RuleError([Diagnostic(str(directory), None, None, "not-a-directory", "a rule pack must be a directory of rule files")])
        sources.append((directory, False))
    loaded: list[LoadedRule] = []
    problems: list[Diagnostic] = []
    seen: dict[str, str] = {}
    for directory, builtin in sources:
        for rule in _load_directory(directory, builtin, problems):
            if rule.rule.id in seen:
                problems.append(
                    Diagnostic(rule.file, 1, 1, "duplicate-rule", f"rule {rule.rule.id} is already defined in {seen[rule.rule.id]}")
                )
                continue
            seen[rule.rule.id] = rule.file
            loaded.append(rule)
    if problems:
        raise RuleError(problems)
    return sorted(loaded, key=lambda r: r.rule.id)


def _load_directory(directory: Path, builtin: bool, problems: list[Diagnostic]) -> list[LoadedRule]:
    """Every rule file of one directory, adding their problems to ``problems``.

    A directory whose every rule passed is remembered as one cache entry, under the hash of all its
    files' names and bytes: reading one signed entry instead of one per rule saves ~10 ms of each
    run's start (docs/performance.md). Any change to any file is another key, and each file is then
    loaded (and cached) on its own as before.
    """
    paths = rule_files(directory)
    try:
        parts = [part for path in paths for part in (str(path), path.read_bytes())]
        key = cache.content_key("rules", duckdb.__version__, guard_digest(), str(builtin), *parts)
    except OSError:
        key = ""
    hit = cache.get(key) if key else None
    if isinstance(hit, list) and len(hit) == len(paths):
        try:
            return [_from_entry(entry, entry["file"], builtin) for entry in hit]
        except (ValidationError, KeyError, TypeError):
            pass
    loaded: list[LoadedRule] = []
    before = len(problems)
    for path in paths:
        try:
            loaded.append(load_rule_file(path, builtin=builtin))
        except (RuleError, ModelError) as exc:
            problems.extend(exc.diagnostics)
    if key and len(problems) == before:
        cache.put(key, [{"file": lr.file, **_entry(lr)} for lr in loaded])
    return loaded


def _entry(lr: LoadedRule) -> dict[str, Any]:
    """A checked rule as the cache keeps it."""
    return {"data": lr.rule.model_dump(mode="json"), "query_line": lr.query_line}


def _from_entry(entry: dict[str, Any], file: str, builtin: bool) -> LoadedRule:
    """A rule from its cache entry (signed by this user, so checked when it was made); raises on a malformed one."""
    if not isinstance(entry, dict) or not isinstance(entry.get("query_line"), int):
        raise TypeError("not a rule's cache entry")
    return LoadedRule(Rule.model_validate(entry["data"]), file, entry["query_line"], builtin)


def _is_block_scalar(file: str, position: tuple[int, int]) -> bool:
    """Whether the value at ``position`` is a ``|`` or ``>`` block scalar."""
    try:
        text = Path(file).read_text(encoding="utf-8").splitlines()[position[0] - 1]
    except (OSError, IndexError):
        return False
    return text[max(0, position[1] - 1) :].lstrip().startswith(("|", ">"))


def _block_indent(file: str, line: int) -> int:
    """The indentation of a block scalar's first line, to map query columns back to the file."""
    try:
        text = Path(file).read_text(encoding="utf-8").splitlines()[line - 1]
    except (OSError, IndexError):
        return 0
    return len(text) - len(text.lstrip(" "))


def load_rule_file(path: Path, *, builtin: bool = False) -> LoadedRule:
    """Load one rule file and check its metadata, its place and its query.

    A rule that passed every check is remembered in the cache under the hash of its bytes and
    path, the guard's code and the versions, so an unchanged rule is not parsed and checked again
    on the next run, and a rule accepted by an earlier guard is checked again. Cache entries are
    signed (:mod:`domosec.cache`): an entry edited by anyone else is not used.
    """
    name = str(path)
    try:
        key = cache.content_key("rule", duckdb.__version__, guard_digest(), name, path.read_bytes())
    except OSError:
        key = ""
    hit = cache.get(key) if key else None
    if hit is not None:
        try:
            return _from_entry(hit, name, builtin)
        except (ValidationError, KeyError, TypeError):
            pass
    loaded = _check_rule_file(path, name, builtin)
    if key:
        cache.put(key, _entry(loaded))
    return loaded


def _check_rule_file(path: Path, name: str, builtin: bool) -> LoadedRule:
    doc = read_document(path, max_bytes=1024 * 1024)
    if not isinstance(doc.data, dict):
        raise RuleError([Diagnostic(name, 1, 1, "not-a-mapping", "a rule file is a mapping of metadata with a 'query'")])
    try:
        rule = Rule.model_validate(doc.data)
    except ValidationError as exc:
        raise RuleError(diagnostics_from_validation(exc, doc, Rule)) from None
    problems: list[Diagnostic] = []
    qpos = doc.position(("query",)) or (1, 1)
    # A block scalar's text starts on the line after its indicator (``query: |``).
    query_line = qpos[0] + 1 if "\n" in rule.query.strip() or _is_block_scalar(doc.file, qpos) else qpos[0]
    folder = CLAUSE_FOLDER.match(path.parent.name)
    if folder and folder.group(1) != rule.risk_source:
        problems.append(
            Diagnostic(
                name,
                1,
                1,
                "wrong-folder",
                f"rule {rule.id} (risk source {rule.risk_source}) sits in the folder of clause {folder.group(1)}",
            )
        )
    if not path.stem.startswith(f"{rule.id}-{rule.name}"):
        problems.append(Diagnostic(name, 1, 1, "wrong-file-name", f"rule {rule.id} must be in a file named {rule.id}-{rule.name}.yaml"))
    indent = _block_indent(doc.file, query_line)
    for offset, message in locate_problems(rule.query, set(RULE_TABLES)):
        line, col = query_line, 1
        if offset is not None:
            before = rule.query[:offset]
            line = query_line + before.count("\n")
            col = offset - (before.rfind("\n") + 1) + 1 + indent
        problems.append(Diagnostic(name, line, col, "refused-query", f"rule {rule.id}: {message}"))
    if problems:
        raise RuleError(problems)
    return LoadedRule(rule, name, query_line, builtin)
