"""Options shared by the commands that show findings: what to show (--severity, --select, --ignore) and how much
(-q, -v), the configuration file they read (docs/cli.md, "Configuration"), and how options look in ``--help``.

Typer (0.29) prints the type of every option beside it, flags included: ``--controls <bool>`` and ``--help <bool>``
read as if they took a value, which they do not. :func:`install_help_format` makes a flag's placeholder empty (as
Click's own help does), so only options that take a value show one: ``--fail-on <none|info|…>``, ``--output <path>``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperOption

if TYPE_CHECKING:
    from domosec.assessment import Assessment
    from domosec.selection import Selection


class Level(StrEnum):
    """A risk level, or none (for --fail-on and --severity)."""

    none = "none"
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


SeverityOption = Annotated[
    Level | None,
    typer.Option(
        "--severity",
        help="Show only findings at or above this level (default: all; also DOMOSEC_SEVERITY, severity in the config file).",
        rich_help_panel="Selection",
        show_default=False,
    ),
]
SelectOption = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        metavar="<id>",
        help="Show only findings of these rules (DEV-S01), rule prefixes (DEV-S), clauses (6.2.3) or controls (7.1.6); "
        "repeatable or comma-separated.",
        rich_help_panel="Selection",
        show_default=False,
    ),
]
IgnoreOption = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore",
        metavar="<id>",
        help="Leave out findings of these rules, rule prefixes, clauses or controls; repeatable or comma-separated.",
        rich_help_panel="Selection",
        show_default=False,
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Only the finding lines: no summary, fix-first list or 'wrote' message.", rich_help_panel="Output"),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Add each finding's rating reason and ID to its line.", rich_help_panel="Output")
]
NoConfigOption = Annotated[
    bool,
    typer.Option(
        "--no-config",
        help="Read no configuration file (.domosec.toml, or \\[tool.domosec] in pyproject.toml).",
        rich_help_panel="Selection",
    ),
]


@dataclass(frozen=True)
class Settings:
    """What a run uses after the command line, the environment and the configuration file (in that order)."""

    rules: list[Path]
    matrix: Path | None
    fail_on: str
    selection: Selection


def resolve_settings(
    no_config: bool,
    *,
    rules: list[Path] | None = None,
    matrix: Path | None = None,
    fail_on: str | None = None,
    severity: Level | None = None,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
) -> Settings:
    """Each setting from the command line, else DOMOSEC_*, else .domosec.toml / [tool.domosec], else its default."""
    from domosec.config import Config, find_config, load_config, setting
    from domosec.selection import Selection, parse_selectors

    config = Config() if no_config else load_config(find_config())
    level = setting("severity", severity.value if severity else None, config, None)
    return Settings(
        rules=list(setting("rules", rules, config, [])),
        matrix=setting("matrix", matrix, config, None),
        fail_on=setting("fail-on", fail_on, config, "none"),
        selection=Selection(
            severity=level,
            select=parse_selectors(setting("select", select, config, [])),
            ignore=parse_selectors(setting("ignore", ignore, config, [])),
        ),
    )


def warn_unknown_selectors(assessment: Assessment, selection: Selection) -> None:
    """Say on standard error which --select/--ignore IDs name nothing in this assessment (a typo, most often)."""
    from domosec.cli.output import say
    from domosec.selection import unknown_selectors

    for selector in unknown_selectors(assessment, selection):
        say(f"domosec: warning: --select/--ignore '{selector}' names no rule, clause, control or risk item", err=True)


@functools.cache
def install_help_format() -> None:
    """Hide the type placeholder of flags in ``--help`` (once per process); counting flags and ``--x/--no-x`` pairs too."""
    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None
        return shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
