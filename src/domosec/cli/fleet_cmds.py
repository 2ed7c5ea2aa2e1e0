"""``domosec fleet``: generate, convert, assess and compare fleets of homes."""

from __future__ import annotations

import datetime as dt
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.progress import Progress

app = typer.Typer(
    help="Fleets of homes: the same rules over thousands or millions of models, on DuckDB or Spark.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.callback()
def _fleet() -> None:
    """Every fleet command needs the 'fleet' extra (PyArrow, NumPy): said before it starts, not as an ImportError."""
    from domosec.extras import require

    require("fleet", "domosec fleet")


class FleetFormat(StrEnum):
    parquet = "parquet"
    jsonl = "jsonl"


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def _progress(what: str) -> Progress:
    """A progress bar on standard error with the count done and the rate, shown only on a terminal."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    from domosec.cli.output import errors

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.completed / task.elapsed if task.elapsed else 0.0
            return Text(f"{speed:,.0f} {what}/s")

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        Rate(),
        TimeElapsedColumn(),
        console=errors,
        disable=not errors.is_terminal,
    )


@app.command()
def generate(
    output: Annotated[Path, typer.Option("--output", "-o", help="Fleet directory (parquet) or file (jsonl) to write.")],
    homes: Annotated[int, typer.Option("--homes", min=1, help="Number of homes.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same fleet.")] = 1,
    output_format: Annotated[FleetFormat, typer.Option("--format", help="parquet: the normalised tables; jsonl: one model per line.")] = (
        FleetFormat.parquet
    ),
    part_homes: Annotated[int, typer.Option("--part-homes", help="Homes per Parquet part (a multiple of 5,000).")] = 5_000,
) -> None:
    """Generate a deterministic synthetic fleet (distributions in docs/fleet.md).

    Examples:

      domosec fleet generate --homes 100000 --seed 7 -o fleet/

      domosec fleet generate --homes 1000 --format jsonl -o fleet.jsonl
    """
    from domosec.cli.output import console, errors
    from domosec.fleet.export import write_jsonl_fleet, write_parquet_fleet
    from domosec.fleet.generate import BLOCK, generate
    from domosec.output_file import refuse_stdout

    refuse_stdout(output, "a fleet directory or JSON Lines file")
    if part_homes < BLOCK or part_homes % BLOCK:
        errors.print(f"domosec fleet generate: error: --part-homes must be a multiple of {BLOCK:,}", markup=False)
        raise typer.Exit(2)
    parts = generate(homes=homes, seed=seed, part_size=part_homes)
    with _progress("homes") as bar:
        task = bar.add_task("generating", total=homes)
        writer = write_parquet_fleet if output_format is FleetFormat.parquet else write_jsonl_fleet
        written = writer(parts, output, progress=lambda n: bar.advance(task, n))
    console.print(f"wrote {written:,} homes to {output}", style="dim", markup=False)


@app.command()
def export(
    source: Annotated[Path, typer.Argument(help="A fleet directory (Parquet) or a JSON Lines file.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the other form.")],
    output_format: Annotated[
        FleetFormat | None, typer.Option("--format", help="Form to write; default: the other one.", show_default=False)
    ] = None,
    part_homes: Annotated[int, typer.Option("--part-homes", min=1, help="Homes per Parquet part.")] = 5_000,
) -> None:
    """Convert a fleet between JSON Lines (one model per line) and Parquet (the normalised tables).

    Every home must be a valid model; the first invalid ones are listed and nothing is written.
    """
    from domosec.cli.output import console
    from domosec.fleet.export import convert
    from domosec.fleet.layout import is_fleet_dir
    from domosec.output_file import refuse_stdout

    refuse_stdout(output, "a fleet directory or JSON Lines file")
    to = output_format or (FleetFormat.jsonl if is_fleet_dir(source) else FleetFormat.parquet)
    written = convert(source, output, to=to.value, part_homes=part_homes)
    console.print(f"wrote {written:,} homes to {output}", style="dim", markup=False)


@app.command()
def assess(
    source: Annotated[Path, typer.Argument(help="A fleet directory (Parquet) or a JSON Lines file.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for findings/, summary.json, summary.html, rejects.jsonl.")],
    engine: Annotated[Engine, typer.Option(help="duckdb on this machine, or spark.")] = Engine.duckdb,
    workers: Annotated[
        int | None,
        typer.Option(help="DuckDB engine: processes working on batches in parallel (default: CPU count).", min=1, show_default=False),
    ] = None,
    batch_homes: Annotated[int, typer.Option(help="JSON Lines input: homes per batch (a Parquet part is a batch).", min=1)] = 5_000,
    master: Annotated[str | None, typer.Option(help="Spark master URL (default local[2], or what spark-submit sets).")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Judge support periods and acceptances on this date (YYYY-MM-DD); default today.")
    ] = None,
    matrix: Annotated[Path | None, typer.Option(help="Risk matrix and context factors (YAML); see docs/scoring.md.")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Add the rules in this directory (repeatable).")] = None,
    since: Annotated[
        Path | None,
        typer.Option(help="An earlier run's output directory: reuse the findings of homes that did not change (docs/fleet.md)."),
    ] = None,
) -> None:
    """Assess every home of a fleet with the built-in rules: findings as Parquet, a summary as JSON and HTML.

    Homes that are not valid models are set aside in rejects.jsonl with their reasons; the command
    checks that homes in = homes assessed + homes rejected.

    Examples:

      domosec fleet assess fleet/ -o out/ --as-of 2026-11-23

      domosec fleet assess fleet/ -o out/ --engine spark --master local[2]

      domosec fleet assess fleet/ -o out-today/ --since out-yesterday/
    """
    from domosec.cli.output import console, errors
    from domosec.engine.ruleset import load_rules
    from domosec.engine.scoring import load_matrix
    from domosec.fleet.run import FleetCountError, Job, assess_fleet
    from domosec.output_file import refuse_stdout

    refuse_stdout(output, "a directory of findings and summaries")
    if engine is Engine.spark:
        from domosec.extras import require

        require("spark", "domosec fleet assess --engine spark")
    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        errors.print(f"domosec fleet assess: error: --as-of '{as_of}' is not a date (expected YYYY-MM-DD)", markup=False)
        raise typer.Exit(2) from None
    job = Job(load_rules(rules or []), load_matrix(matrix), day, str(output), since=str(since) if since else None)
    with _progress("homes") as bar:
        task = bar.add_task("assessing", total=None)
        try:
            result = assess_fleet(
                source,
                job,
                engine=engine.value,
                workers=workers or (os.cpu_count() or 1),
                batch_homes=batch_homes,
                spark_master=master,
                on_start=lambda total: bar.update(task, total=total),
                on_done=lambda o: bar.advance(task, o.homes_in),
            )
        except FleetCountError as exc:
            errors.print(f"domosec fleet assess: internal error: {exc}", markup=False)
            raise typer.Exit(3) from None
        except KeyboardInterrupt:
            bar.stop()
            progress = bar.tasks[task]  # it counts the homes even when no bar is shown
            errors.print(
                f"domosec fleet assess: interrupted after {progress.completed:,.0f} of {progress.total or 0:,.0f} homes; "
                f"nothing was written to {output} (what an earlier run wrote there is as it was)",
                markup=False,
            )
            raise typer.Exit(130) from None
    counts = result.summary["homes"]
    console.print(
        f"{counts['in']:,} homes in: {counts['assessed']:,} assessed, {counts['rejected']:,} rejected; "
        f"{result.summary['findings']['total']:,} findings in {result.seconds:.1f} s "
        f"({counts['in'] / result.seconds if result.seconds else 0:,.0f} homes/s); wrote {output}",
        markup=False,
    )
    if since:
        reused = sum(o.reused for o in result.outcomes)
        console.print(f"--since {since}: {reused:,} homes' findings reused, {counts['assessed'] - reused:,} assessed", markup=False)
        if result.since_note:
            console.print(f"--since {since}: {result.since_note}", markup=False)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="Output directory of the earlier run.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="Output directory of the later run.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON here instead of printing a table.")] = None,
    top: Annotated[int, typer.Option(help="Device models and firmware to list.", min=1)] = 20,
) -> None:
    """What changed between two runs: new and resolved findings per rule and per device model and firmware."""
    from rich.table import Table

    from domosec.cli.output import console
    from domosec.fleet.diff import diff_runs, render_diff_json
    from domosec.output_file import check_output_file, write_atomically

    to_stdout = output is not None and str(output) == "-"
    if output is not None and not to_stdout:
        check_output_file(output)
    result = diff_runs(old, new, top=top)
    if to_stdout:
        from domosec.cli.output import echo_document

        echo_document(render_diff_json(result))
        return
    if output is not None:
        write_atomically(output, render_diff_json(result))
        console.print(f"wrote {output}", style="dim", markup=False)
        return
    t = result["totals"]
    console.print(f"{t['new']:,} new, {t['resolved']:,} resolved, {t['changed']:,} changed level, {t['same']:,} unchanged", markup=False)
    rules = Table("rule", "new", "resolved", "changed", title="By rule")
    for r in result["rules"]:
        rules.add_row(r["rule_id"], f"{r['new']:,}", f"{r['resolved']:,}", f"{r['changed']:,}")
    console.print(rules)
    equipment = Table("vendor", "model", "firmware", "new", "resolved", title="By device model and firmware")
    for e in result["equipment"]:
        equipment.add_row(e["vendor"], e["model"], e["firmware"], f"{e['new']:,}", f"{e['resolved']:,}")
    console.print(equipment)
