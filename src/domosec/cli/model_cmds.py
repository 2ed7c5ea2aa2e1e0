"""Commands about models: ``validate``, ``schema`` and ``init``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

TEMPLATES = ("family-home", "elderly-care", "rental", "product")


def validate(
    models: Annotated[list[Path], typer.Argument(help="Model files (YAML or JSON).", show_default=False)],
    max_bytes: Annotated[int, typer.Option(help="Refuse files larger than this many bytes.")] = 10 * 1024 * 1024,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing when every model is valid.")] = False,
    suggest: Annotated[
        bool, typer.Option("--suggest", help="Also name the facts each model leaves out that a rule would read (as warnings).")
    ] = False,
) -> None:
    """Check that model files parse, match the schema and reference only defined elements.

    Every problem of every file is reported, as file:line:col: error[code]: message.
    """
    from rich.text import Text

    from domosec.cli.output import console, print_diagnostics
    from domosec.errors import ModelError
    from domosec.model.load import load_model
    from domosec.safe_text import rich_text
    from domosec.wording import plural

    failed = False
    for path in models:
        try:
            loaded = load_model(path, max_bytes=max_bytes)
        except ModelError as exc:
            print_diagnostics(exc.diagnostics)
            failed = True
            continue
        if not quiet:
            m = loaded.model
            console.print(
                Text("ok", style="green"),
                rich_text(
                    f"{path}: {m.system.name} — {plural(len(m.devices), 'device')}, {plural(len(m.gateways), 'gateway')}, "
                    f"{plural(len(m.networks), 'network')}, {plural(len(m.services), 'service')}, {plural(len(m.flows), 'flow')}"
                ),
            )
        if suggest:
            from domosec.model.suggest import suggestions

            print_diagnostics(suggestions(loaded))  # facts worth stating, as warnings; the model stays valid
    if failed:
        raise typer.Exit(2)


def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of standard output.")] = None,
    assessment: Annotated[bool, typer.Option("--assessment", help="Print the schema of the assessment JSON instead of the model.")] = False,
) -> None:
    """Print the JSON Schema of the model (for editors and other tools), or of the assessment."""
    import json

    from domosec.assessment import Assessment
    from domosec.model.schema import model_json_schema_text
    from domosec.output_file import stdout_or_path

    text = json.dumps(Assessment.model_json_schema(), indent=2, sort_keys=True) + "\n" if assessment else model_json_schema_text()
    output = stdout_or_path(output)
    if output is None:
        typer.echo(text, nl=False)
    else:
        from domosec.output_file import write_atomically

        write_atomically(output, text)


def init(
    path: Annotated[Path, typer.Argument(help="Where to write the starter model.")] = Path("home.yaml"),
    template: Annotated[str, typer.Option(help=f"Starting point: {', '.join(TEMPLATES)}.")] = "family-home",
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
) -> None:
    """Write a commented starter model to edit."""
    from importlib import resources

    from domosec.cli.output import console, errors

    if template not in TEMPLATES:
        errors.print(f"domosec init: error: unknown template '{template}'; choose one of: {', '.join(TEMPLATES)}", markup=False)
        raise typer.Exit(2)
    if path.exists() and not force:
        errors.print(f"domosec init: error: {path} already exists; pass --force to overwrite it", markup=False)
        raise typer.Exit(2)
    text = (resources.files("domosec.model") / "templates" / f"{template}.yaml").read_text(encoding="utf-8")
    from domosec.output_file import write_atomically

    write_atomically(path, text)
    console.print(f"wrote {path} (template {template}); next: domosec validate {path}")
