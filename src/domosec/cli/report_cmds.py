"""``domosec report`` (an assessment JSON in any output format) and ``domosec diff`` (what changed between two)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from domosec.cli.view_options import IgnoreOption, NoConfigOption, QuietOption, SelectOption, SeverityOption, VerboseOption
from domosec.report.formats import FormatName

if TYPE_CHECKING:
    from domosec.assessment import Assessment, Finding
    from domosec.errors import Diagnostic


class AudienceName(StrEnum):
    expert = "expert"
    home = "home"


class DiffFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"
    sarif = "sarif"
    github = "github"


class FailOn(StrEnum):
    none = "none"
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


MAX_SHOWN_PROBLEMS = 20
FormatOption = Annotated[
    FormatName | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format; default: from the suffix of --output, else table.",
        rich_help_panel="Output",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.", rich_help_panel="Output")
]
AudienceOption = Annotated[
    AudienceName,
    typer.Option(help="Who reads it: expert, or home for the plain-language householder summary.", rich_help_panel="Output"),
]
ControlsOption = Annotated[
    bool, typer.Option("--controls", help="Also list the Statement of Applicability (text and table formats).", rich_help_panel="Output")
]


def report(
    assessment: Annotated[Path, typer.Argument(help="An assessment written by 'domosec assess --format json'.", show_default=False)],
    output_format: FormatOption = None,
    output: OutputOption = None,
    audience: AudienceOption = AudienceName.expert,
    controls: ControlsOption = False,
    severity: SeverityOption = None,
    select: SelectOption = None,
    ignore: IgnoreOption = None,
    no_config: NoConfigOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Render a saved assessment as text, GitHub annotations, table, JSON, Markdown, HTML, PDF, SARIF, CSV or OSCAL.

    Examples:

      domosec report assessment.json --format html -o report.html

      domosec report assessment.json -o results.sarif

      domosec report assessment.json --format markdown --audience home
    """
    from domosec.cli.view_options import resolve_settings, warn_unknown_selectors
    from domosec.output_file import protect_inputs, stdout_or_path
    from domosec.selection import select_findings

    selection = resolve_settings(no_config, severity=severity, select=select, ignore=ignore).selection
    output = stdout_or_path(output)
    protect_inputs([assessment])
    fmt = resolve_format(output_format, output)
    check_output(fmt, output, audience.value)
    saved = read_assessment(assessment)
    warn_unknown_selectors(saved, selection)
    shown = select_findings(saved, selection)
    emit(
        shown,
        fmt,
        output,
        audience.value,
        controls=controls,
        source=str(assessment),
        quiet=quiet,
        verbose=verbose,
        styled=output_format is None,
    )


def diff(
    old: Annotated[Path, typer.Argument(help="The earlier assessment JSON, or model file.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The later assessment JSON, or model file.", show_default=False)],
    output_format: Annotated[
        DiffFormat,
        typer.Option(
            "--format",
            "-f",
            help="Output format; sarif and github give the new findings only (code scanning, annotations).",
            rich_help_panel="Output",
        ),
    ] = DiffFormat.table,
    output: OutputOption = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(help="Exit with 1 when a NEW open finding is at or above this level.", rich_help_panel="Scoring"),
    ] = FailOn.none,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Date to assess model files on (YYYY-MM-DD); default: the date of an assessment given, else today.",
            rich_help_panel="Scoring",
        ),
    ] = None,
    matrix: Annotated[Path | None, typer.Option(help="Risk matrix for assessing model files (YAML).", rich_help_panel="Scoring")] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Add the rules in this directory when assessing model files.", rich_help_panel="Rules"),
    ] = None,
) -> None:
    """Compare two assessments (or two models): new, resolved and changed findings, and control-status changes.

    Findings are matched by their stable IDs. Model files are assessed with the same rules, matrix and
    date, so only the change between the two models shows. With --fail-on, only findings the change
    introduced fail the run.

    Examples:

      domosec diff main-assessment.json assessment.json --format markdown --fail-on high

      domosec diff old-home.yaml home.yaml
    """
    from domosec.cli.output import console, errors, print_diagnostics
    from domosec.diff import comparability_warnings, diff_assessments, new_at_or_above
    from domosec.output_file import check_output_file, protect_inputs, stdout_or_path

    output = stdout_or_path(output)
    protect_inputs([old, new, *([matrix] if matrix else [])])
    if output is not None:
        check_output_file(output)  # before the two assessments, not after them
    loaded: dict[Path, Assessment] = {}
    models: list[Path] = []
    for path in (old, new):
        data = _read_input(path)
        if data is None:
            models.append(path)
        else:
            loaded[path] = assessment_from_data(path, data)
    if models:
        day = _parse_date(as_of) if as_of else _first_date(loaded.values())
        loaded |= _assess_models(models, day, matrix, rules or [])
    result = diff_assessments(loaded[old], loaded[new], old_source=str(old), new_source=str(new))
    print_diagnostics(comparability_warnings(loaded[old], loaded[new], old_source=str(old), new_source=str(new)))
    if output_format in (DiffFormat.sarif, DiffFormat.github):
        _write_text(_render_new_findings(loaded[new], result.new_findings, output_format), output)
    elif output_format is DiffFormat.table and output is None:
        from domosec.report.diff import render_diff_table

        console.print(render_diff_table(result))
    else:
        text = _render_diff(result, output_format)
        _write_text(text, output)
    if fail_on is not FailOn.none:
        worst = new_at_or_above(result, fail_on.value)
        if worst:
            errors.print(f"{len(worst)} new {'finding' if len(worst) == 1 else 'findings'} at or above {fail_on.value}", markup=False)
            raise typer.Exit(1)


def resolve_format(output_format: FormatName | None, output: Path | None) -> FormatName:
    """The format asked for, else the one the output file's suffix names, else table; an unknown suffix is a usage error."""
    from domosec.report.formats import FORMATS, format_for_path

    if output_format is not None:
        return output_format
    if output is None:
        return FormatName.text
    named = format_for_path(output)
    if named is None and output.suffix:
        from domosec.output_file import check_output_file

        check_output_file(output)  # a place that cannot take the file is the first thing to say
        known = ", ".join(spec.suffix for spec in FORMATS.values())
        _usage(f"no output format has the suffix '{output.suffix}' (of -o {output}): use one of {known}, or give --format")
    return named or FormatName.table


def check_output(fmt: FormatName, output: Path | None, audience: str) -> None:
    """Refuse, with exit code 2, an audience the format lacks, binary output to a terminal and an output path that cannot take a file."""
    from domosec.report.formats import FORMATS

    spec = FORMATS[fmt]
    if fmt is FormatName.pdf:
        from domosec.extras import require

        require("pdf", "the PDF report", str(output or "-"))
    if audience not in spec.audiences:
        _usage(f"--audience {audience} is for {', '.join(f.value for f in FORMATS if audience in FORMATS[f].audiences)}, not {fmt.value}")
    if spec.binary and output is None and sys.stdout.isatty():
        _usage(f"{fmt.value} is binary: write it to a file with -o report{spec.suffix}, or redirect standard output")
    if output is not None:
        from domosec.output_file import check_output_file

        check_output_file(output)


def emit(
    result: Assessment,
    fmt: FormatName,
    output: Path | None,
    audience: str,
    *,
    controls: bool = False,
    source: str = "<assessment>",
    quiet: bool = False,
    verbose: bool = False,
    styled: bool = False,
) -> None:
    """Render ``result`` and print it or write it to ``output``; usage errors exit with 2.

    ``styled``: no --format was given, so the finding lines are coloured and wrapped on a terminal."""
    from domosec.errors import InputError
    from domosec.report.formats import RenderOptions, home_markdown, render

    check_output(fmt, output, audience)
    if fmt is FormatName.text and audience != "home":
        _emit_lines(result, output, controls=controls, quiet=quiet, verbose=verbose, styled=styled)
        return
    if fmt in (FormatName.table, FormatName.text) and output is None:
        from domosec.cli.output import console

        if audience == "home":
            from rich.markdown import Markdown

            from domosec.safe_text import visible

            # Links are shown as text, never as terminal hyperlinks; control characters as escapes.
            console.print(Markdown(visible(home_markdown(result)), hyperlinks=False))
        else:
            from domosec.report.terminal import print_terminal

            print_terminal(result, console, show_controls=controls)
        return
    try:
        payload = render(result, fmt, RenderOptions(audience="home" if audience == "home" else "expert", root=Path.cwd()))
    except InputError as exc:
        raise InputError([_at(d, source) for d in exc.diagnostics]) from None
    if isinstance(payload, bytes):
        _write_bytes(payload, output)
    else:
        _write_text(payload, output)


def _emit_lines(result: Assessment, output: Path | None, *, controls: bool, quiet: bool, verbose: bool, styled: bool) -> None:
    """The finding lines: by default coloured and wrapped at the width of a terminal; in a file, a pipe or with
    ``--format text``, whole lines without colour."""
    from domosec.cli.output import is_plain

    if styled and output is None and not is_plain(sys.stdout):
        from domosec.cli.output import console
        from domosec.report.terminal import print_lines

        print_lines(result, console, quiet=quiet, verbose=verbose, show_controls=controls)
        return
    from domosec.report.lines import render_text

    _write_text(render_text(result, quiet=quiet, verbose=verbose, show_controls=controls), output, quiet=quiet)


def read_assessment(path: Path) -> Assessment:
    """Read and validate an assessment JSON file; an :class:`InputError` says what is wrong and where."""
    from domosec.errors import Diagnostic, InputError

    if path.suffix.lower() in (".yaml", ".yml"):
        hint = f"assess it with 'domosec assess {path} --format …'"
        raise InputError([Diagnostic(str(path), None, None, "not-an-assessment", "this is a system model, not an assessment", hint=hint)])
    return assessment_from_data(path, _read_json(path))


def assessment_from_data(path: Path, data: Any) -> Assessment:
    """Validate parsed JSON as an assessment of the version this domosec reads."""
    from pydantic import ValidationError

    from domosec.assessment import READABLE_ASSESSMENT_VERSIONS, Assessment
    from domosec.errors import Diagnostic, InputError

    name = str(path)
    if not isinstance(data, dict) or "domosec" in data or data.get("tool") != "domosec" or "findings" not in data:
        hint = "use 'domosec assess --format json' to write one"
        if isinstance(data, dict) and "domosec" in data:
            hint = f"this is a system model: assess it with 'domosec assess {name} --format …'"
        raise InputError([Diagnostic(name, None, None, "not-an-assessment", "not a domosec assessment", hint=hint)])
    version = str(data.get("version", ""))
    if version not in READABLE_ASSESSMENT_VERSIONS:
        older = _version_key(version) < _version_key(READABLE_ASSESSMENT_VERSIONS[0])
        readable = " and ".join(READABLE_ASSESSMENT_VERSIONS)
        message = f"assessment version '{version}' is {'older than' if older else 'not'} the versions this domosec reads ({readable})"
        raise InputError([Diagnostic(name, None, None, "assessment-version", message, hint="re-run 'domosec assess … --format json'")])
    try:
        return Assessment.model_validate(data)
    except ValidationError as exc:
        raise InputError(_validation_problems(path, exc)) from None


def _read_json(path: Path) -> Any:
    from domosec.assessment import MAX_ASSESSMENT_BYTES
    from domosec.errors import Diagnostic, InputError
    from domosec.model.source import read_bounded
    from domosec.safe_text import has_lone_surrogate

    name = str(path)
    raw = read_bounded(path, MAX_ASSESSMENT_BYTES, what="an assessment JSON file", hint="an assessment is at most 256 MB")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
        if b"\\u" in raw and has_lone_surrogate(data):
            message = "a string holds a lone surrogate escape (\\ud800–\\udfff), which is not text"
            raise InputError([Diagnostic(name, None, None, "not-utf8", message)])
        return data
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError([Diagnostic(name, line, 1, "not-utf8", f"byte {exc.start} is not valid UTF-8")]) from None
    except json.JSONDecodeError as exc:
        hint = "an assessment is the JSON that 'domosec assess --format json' writes"
        raise InputError([Diagnostic(name, exc.lineno, exc.colno, "not-json", f"invalid JSON: {exc.msg}", hint=hint)]) from None
    except RecursionError:
        raise InputError([Diagnostic(name, None, None, "too-deep", "the JSON nests too deeply")]) from None
    except ValueError:  # after JSONDecodeError, its subclass: an integer over Python's 4,300 digits
        raise InputError([Diagnostic(name, None, None, "number-too-large", "the JSON holds a number too long to read")]) from None


def _validation_problems(path: Path, exc: Any) -> list[Diagnostic]:
    """Positioned diagnostics for a file that is an assessment of the right version but malformed."""
    from domosec.assessment import Assessment
    from domosec.errors import Diagnostic, InputError
    from domosec.model.diagnose import diagnostics_from_validation
    from domosec.model.source import read_document

    try:
        document = read_document(path, max_bytes=path.stat().st_size + 1)
        found = diagnostics_from_validation(exc, document, Assessment)
    except InputError as parse_error:  # positions unavailable: report without them
        found = list(parse_error.diagnostics)
    found.sort(key=lambda d: (d.line or 0, d.col or 0))
    if len(found) > MAX_SHOWN_PROBLEMS:
        rest = len(found) - MAX_SHOWN_PROBLEMS
        found = [*found[:MAX_SHOWN_PROBLEMS], Diagnostic(str(path), None, None, "more-problems", f"{rest} more problems not shown")]
    return found


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def _read_input(path: Path) -> Any:
    """The parsed JSON of an assessment, or None for a model file (YAML, or JSON with a top-level 'domosec' key)."""
    from domosec.errors import InputError

    if path.suffix.lower() in (".yaml", ".yml"):
        return None
    if path.suffix.lower() != ".json":
        try:
            return _read_json(path)
        except InputError:  # not JSON: leave it to the model loader, which reports YAML problems with positions
            return None
    data = _read_json(path)
    return None if isinstance(data, dict) and "domosec" in data else data


def _first_date(assessments: Any) -> dt.date | None:
    for a in assessments:
        return dt.date.fromisoformat(a.as_of)
    return None


def _assess_models(paths: list[Path], day: dt.date | None, matrix: Path | None, rules: list[Path]) -> dict[Path, Assessment]:
    from domosec.engine.assess import assess
    from domosec.engine.ruleset import load_rules
    from domosec.engine.scoring import load_matrix
    from domosec.model.load import load_models

    loaded = load_models(paths)
    rule_set = load_rules(rules)
    rating = load_matrix(matrix)
    day = day or dt.date.today()
    return {p: assess([m], rule_set, matrix=rating, as_of=day) for p, m in zip(paths, loaded, strict=True)}


def _render_new_findings(new: Assessment, findings: list[Finding], output_format: DiffFormat) -> str:
    """The later assessment with only the findings a change introduced, as SARIF results or GitHub annotations."""
    from domosec.selection import with_findings

    only_new = with_findings(new, findings)
    if output_format is DiffFormat.github:
        from domosec.report.lines import render_github

        return render_github(only_new)
    from domosec.report.sarif import render_sarif

    return render_sarif(only_new, root=Path.cwd())


def _render_diff(result: Any, output_format: DiffFormat) -> str:
    from domosec.report.diff import render_diff_json, render_diff_markdown, render_diff_table

    if output_format is DiffFormat.json:
        return render_diff_json(result)
    if output_format is DiffFormat.markdown:
        return render_diff_markdown(result)
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    Console(file=buffer, width=120, no_color=True, emoji=False).print(render_diff_table(result))
    return buffer.getvalue()


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _usage(f"--as-of '{text}' is not a date (expected YYYY-MM-DD)")


def _write_text(text: str, output: Path | None, *, quiet: bool = False) -> None:
    from domosec.cli.output import say
    from domosec.output_file import write_atomically

    if output is None:
        from domosec.cli.output import echo_document

        echo_document(text)
    else:
        write_atomically(output, text)
        if not quiet:
            say(f"wrote {output}", style="dim")


def _write_bytes(payload: bytes, output: Path | None) -> None:
    from domosec.cli.output import say
    from domosec.output_file import write_atomically

    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
    else:
        write_atomically(output, payload)
        say(f"wrote {output}", style="dim")


def _at(d: Diagnostic, source: str) -> Diagnostic:
    from dataclasses import replace

    return replace(d, file=source) if d.file.startswith("<") or d.file == "" else d


def _usage(message: str) -> NoReturn:
    from domosec.cli.output import say

    say(f"domosec: error: {message}", err=True)
    raise typer.Exit(2)
