"""Console helpers shared by the commands: one stdout console, one stderr console."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console

from domosec.errors import Diagnostic

console = Console(highlight=False, soft_wrap=True, emoji=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """Print each diagnostic as ``file:line:col: error[code]: message`` on stderr."""
    for d in diagnostics:
        style = "red" if d.severity == "error" else "yellow"
        errors.print(d.render(), style=style, markup=False)
