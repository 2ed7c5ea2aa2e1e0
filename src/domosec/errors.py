"""Errors raised by domosec.

The tree::

    DomosecError                 base of every error domosec raises on purpose
    ├── InputError               the user's input is wrong; carries one or more Diagnostics
    │   ├── ModelError           a system model failed to parse, validate or cross-check
    │   └── RuleError            a rule file is malformed or its SQL was refused or failed
    └── CatalogueError           the shipped catalogue is inconsistent (a bug in domosec)

Every user-facing problem is a :class:`Diagnostic` with a stable kebab-case ``code``;
the CLI prints each as ``file:line:col: error[code]: message`` and exits with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in an input file, with its position when known."""

    file: str
    line: int | None
    col: int | None
    code: str
    message: str
    severity: Severity = "error"
    path: str = ""
    hint: str = field(default="", compare=False)

    @classmethod
    def at(cls, file: str, position: tuple[int, int] | None, code: str, message: str, *, path: str = "", hint: str = "") -> Diagnostic:
        """A diagnostic at ``(line, col)``, or without a position when it is unknown."""
        line, col = position if position else (None, None)
        return cls(file, line, col, code, message, path=path, hint=hint)

    def render(self) -> str:
        """Format as ``file:line:col: error[code]: message`` (position parts omitted when unknown)."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        text = f"{where}: {self.severity}[{self.code}]: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class DomosecError(Exception):
    """Base class of every error domosec raises on purpose."""


class InputError(DomosecError):
    """The user's input is wrong. Holds every diagnostic found, not only the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=_position_key)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


class ModelError(InputError):
    """A system model failed to parse, validate or cross-check."""


class RuleError(InputError):
    """A rule file is malformed, or its SQL was refused or failed."""


class CatalogueError(DomosecError):
    """The shipped catalogue is inconsistent: a defect in domosec itself."""


def _position_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    return (d.file, d.line or 0, d.col or 0, d.code, d.message)


def did_you_mean(word: str, choices: list[str] | set[str] | tuple[str, ...]) -> str:
    """Return ``did you mean 'x'?`` for the closest choice, or an empty string."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
