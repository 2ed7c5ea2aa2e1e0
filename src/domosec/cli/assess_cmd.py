"""``domosec assess``: assess one or more models and print or write the result."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from domosec.assessment import Assessment


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class FailOn(StrEnum):
    none = "none"
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


def assess(
    models: Annotated[list[Path], typer.Argument(help="Model files (YAML or JSON); several are assessed together.", show_default=False)],
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Output format.", rich_help_panel="Output")] = Format.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.", rich_help_panel="Output")
    ] = None,
    controls: Annotated[
        bool, typer.Option("--controls", help="Also list the Statement of Applicability (table format).", rich_help_panel="Output")
    ] = False,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit with 1 when a finding that is not accepted is at or above this level.", rich_help_panel="Scoring")
    ] = FailOn.none,
    matrix: Annotated[
        Path | None, typer.Option(help="Risk matrix and context factors (YAML); see docs/scoring.md.", rich_help_panel="Scoring")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Judge support periods and acceptances on this date (YYYY-MM-DD); default today.", rich_help_panel="Scoring"),
    ] = None,
    rules: Annotated[
        list[Path] | None, typer.Option("--rules", help="Add the rules in this directory (repeatable).", rich_help_panel="Rules")
    ] = None,
    max_bytes: Annotated[int, typer.Option(help="Refuse model files larger than this many bytes.", rich_help_panel="Input")] = 10
    * 1024
    * 1024,
) -> None:
    """Assess the security and privacy risks of smart-home models (ISO/IEC 27403 clauses 6 and 7).

    Examples:

      domosec assess examples/family-home.yaml

      domosec assess home.yaml --format json -o assessment.json --fail-on high
    """
    from domosec.cli.output import console, errors
    from domosec.engine.assess import assess as run_assessment
    from domosec.engine.ruleset import load_rules
    from domosec.engine.scoring import level_at_least, load_matrix
    from domosec.model.load import load_models

    day = _parse_date(as_of)
    loaded = load_models(models, max_bytes=max_bytes)
    result = run_assessment(loaded, load_rules(rules or []), matrix=load_matrix(matrix), as_of=day)
    if output_format is Format.table and output is None:
        from domosec.report.terminal import print_terminal

        print_terminal(result, console, show_controls=controls)
    else:
        text = _render(result, output_format)
        if output is None:
            typer.echo(text, nl=False)
        else:
            _write_atomically(output, text)
            console.print(f"wrote {output}", style="dim")
    if fail_on is not FailOn.none:
        worst = [f for f in result.findings if f.is_open and level_at_least(f.inherent.level, fail_on.value)]
        if worst:
            errors.print(f"{len(worst)} finding(s) at or above {fail_on.value}", markup=False)
            raise typer.Exit(1)


def _render(result: Assessment, output_format: Format) -> str:
    if output_format is Format.json:
        from domosec.report.json_out import render_json

        return render_json(result)
    if output_format is Format.markdown:
        from domosec.report.markdown import render_markdown

        return render_markdown(result)
    from io import StringIO

    from rich.console import Console

    from domosec.report.terminal import print_terminal

    buffer = StringIO()
    print_terminal(result, Console(file=buffer, width=120, no_color=True), show_controls=True)
    return buffer.getvalue()


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        from domosec.cli.output import errors

        errors.print(f"domosec assess: error: --as-of '{text}' is not a date (expected YYYY-MM-DD)", markup=False)
        raise typer.Exit(2) from None


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it, so a failure never leaves half a file."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
