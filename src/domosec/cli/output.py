"""Console helpers shared by the commands: one stdout console, one stderr console, and plain lines.

Rich is imported when a console is first used (``from domosec.cli.output import console``), not
with this module: a command whose output goes to a file or a pipe prints its one or two lines
with :func:`say` and never needs Rich, whose import costs ~20 ms of a run.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from domosec.errors import Diagnostic
from domosec.safe_text import visible

if TYPE_CHECKING:
    from rich.console import Console

CONSOLE_NAMES = ("console", "errors")


@functools.cache
def _consoles() -> dict[str, Console]:
    from rich.console import Console
    from rich.text import Text

    class SafeConsole(Console):
        """A console that shows every string as written: control characters as visible escapes
        (:func:`domosec.safe_text.visible`), never parsed as markup. Strings reach it from models,
        rules and assessments (also as table cells); styling is given as ``style``, never as markup."""

        def render_str(self, text: str, **options: Any) -> Text:
            options["markup"] = False
            return super().render_str(visible(text), **options)

    return {
        "console": SafeConsole(highlight=False, soft_wrap=True, emoji=False),
        "errors": SafeConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False),
    }


def __getattr__(name: str) -> Console:
    """``console`` (standard output) and ``errors`` (standard error), made on first use."""
    if name in CONSOLE_NAMES:
        return _consoles()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def say(message: str, *, err: bool = False, style: str | None = None) -> None:
    """Print ``message`` (no markup, control characters shown as escapes) on one line of stdout, or stderr with ``err``.

    Rich would print exactly the text where it adds no colour (not a terminal, colour not forced),
    so there the line is written directly.
    """
    stream = sys.stderr if err else sys.stdout
    message = visible(message)
    if _plain(stream):
        print(message, file=stream)
    else:
        _consoles()["errors" if err else "console"].print(message, style=style, markup=False)


def echo_document(text: str) -> None:
    """Write a document (JSON, Markdown, CSV, YAML…) to standard output; on a terminal, control characters from
    the inputs are written as ``\\uXXXX`` escapes (still valid JSON), so they cannot drive the terminal."""
    if sys.stdout.isatty():
        from domosec.safe_text import json_escaped

        text = json_escaped(text)
    import typer

    typer.echo(text, nl=False)


def print_markdown(text: str) -> None:
    """A Markdown page (a rule, a catalogue item) on standard output, never cut: wrapped at the width of a terminal;
    elsewhere (a file, a pipe) the Markdown itself, every line whole. Links are text, never terminal hyperlinks."""
    if is_plain(sys.stdout):
        print(visible(text), end="" if text.endswith("\n") else "\n")
        return
    from rich.markdown import Markdown

    _consoles()["console"].print(Markdown(visible(text), hyperlinks=False), soft_wrap=False, crop=False)


def is_plain(stream: TextIO) -> bool:
    """True when ``stream`` is not a terminal for Rich (a file, a pipe, a CI log): print whole lines, no colour."""
    return _plain(stream)


def _plain(stream: TextIO) -> bool:
    """True when Rich would not treat ``stream`` as a terminal (the same tests it makes, in its order)."""
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "0"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color == ""
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return True


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """Print each diagnostic as ``file:line:col: error[code]: message`` on stderr."""
    errors = _consoles()["errors"]
    for d in diagnostics:
        style = "red" if d.severity == "error" else "yellow"
        errors.print(visible(d.render()), style=style, markup=False)
