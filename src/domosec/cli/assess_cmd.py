"""``domosec assess``: assess one or more models and print or write the result."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from domosec.cli.report_cmds import AudienceName, AudienceOption, ControlsOption, FailOn, FormatOption, OutputOption
from domosec.cli.view_options import IgnoreOption, NoConfigOption, QuietOption, SelectOption, SeverityOption, VerboseOption

if TYPE_CHECKING:
    from domosec.model.load import LoadedModel


def assess(
    models: Annotated[
        list[Path],
        typer.Argument(help="Model files (YAML or JSON), or - for standard input; several are assessed together.", show_default=False),
    ],
    output_format: FormatOption = None,
    output: OutputOption = None,
    audience: AudienceOption = AudienceName.expert,
    controls: ControlsOption = False,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            help="Exit with 1 when a finding that is not accepted is at or above this level (default: none; also DOMOSEC_FAIL_ON, "
            "fail-on in the config file).",
            rich_help_panel="Scoring",
            show_default=False,
        ),
    ] = None,
    fail_on_unverified: Annotated[
        bool,
        typer.Option(
            help="Let unverified findings (a fact the rule needs is not stated) count for --fail-on too.", rich_help_panel="Scoring"
        ),
    ] = False,
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
    severity: SeverityOption = None,
    select: SelectOption = None,
    ignore: IgnoreOption = None,
    no_config: NoConfigOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Assess the security and privacy risks of smart-home models (ISO/IEC 27403 clauses 6 and 7).

    Examples:

      domosec assess examples/family-home.yaml

      domosec assess home.yaml --format json -o assessment.json --fail-on high

      domosec assess home.yaml -o results.sarif
    """
    from domosec.cli import process
    from domosec.cli.output import say
    from domosec.cli.report_cmds import check_output, emit, resolve_format
    from domosec.cli.view_options import resolve_settings, warn_unknown_selectors
    from domosec.engine.assess import assess as run_assessment
    from domosec.engine.ruleset import load_rules
    from domosec.engine.scoring import level_at_least, load_matrix
    from domosec.output_file import protect_inputs, stdout_or_path
    from domosec.selection import select_findings

    settings = resolve_settings(
        no_config, rules=rules, matrix=matrix, fail_on=fail_on and fail_on.value, severity=severity, select=select, ignore=ignore
    )
    rules, matrix, fail_on = settings.rules, settings.matrix, FailOn(settings.fail_on)
    day = _parse_date(as_of)
    output = stdout_or_path(output)
    protect_inputs([*models, *(rules or []), *([matrix] if matrix else [])])  # -o naming one is refused before the work
    fmt = resolve_format(output_format, output)
    check_output(fmt, output, audience.value)
    loaded = _load_models(models, max_bytes)
    keep = process.keep if process.leaves_at_once() else None
    result = run_assessment(loaded, load_rules(rules or []), matrix=load_matrix(matrix), as_of=day, keep=keep)
    process.keep(loaded, result)
    warn_unknown_selectors(result, settings.selection)
    shown = select_findings(result, settings.selection)  # --select/--ignore/--severity also decide what fails the run
    emit(shown, fmt, output, audience.value, controls=controls, quiet=quiet, verbose=verbose, styled=output_format is None)
    if fail_on is not FailOn.none:
        counted = [f for f in shown.findings if f.is_open and (fail_on_unverified or not f.is_unverified)]
        worst = [f for f in counted if level_at_least(f.inherent.level, fail_on.value)]
        if worst:
            say(f"{len(worst)} {'finding' if len(worst) == 1 else 'findings'} at or above {fail_on.value}", err=True)
            raise typer.Exit(1)


def _load_models(paths: list[Path], max_bytes: int) -> list[LoadedModel]:
    """Load the models, ``-`` from standard input (at most ``max_bytes``), collecting every file's problems."""
    import sys

    from domosec.errors import ModelError
    from domosec.model.load import load_models, model_from_document
    from domosec.model.source import parse_bytes
    from domosec.output_file import STDOUT

    if STDOUT not in (str(p) for p in paths):
        return load_models(paths, max_bytes=max_bytes)
    loaded: list[LoadedModel] = []
    problems = []
    for path in paths:
        try:
            if str(path) == STDOUT:
                raw = sys.stdin.buffer.read(max_bytes + 1)
                loaded.append(model_from_document(parse_bytes(raw, "<stdin>", max_bytes=max_bytes)))
            else:
                loaded.extend(load_models([path], max_bytes=max_bytes))
        except ModelError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise ModelError(problems)
    return loaded


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        from domosec.cli.output import say

        say(f"domosec assess: error: --as-of '{text}' is not a date (expected YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
