"""``domosec import …``: build a model from evidence of a real system."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Build a system model from a real system (facts get provenance 'imported').",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.command(
    "homeassistant",
    epilog="Examples: domosec import homeassistant /config -o home.yaml; "
    "domosec import homeassistant /config --overlay additions.yaml -o home.yaml && domosec assess home.yaml",
)
def homeassistant(
    config_dir: Annotated[
        Path,
        typer.Argument(help="The Home Assistant configuration directory (holds configuration.yaml and .storage/).", show_default=False),
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the model here instead of standard output.")] = None,
    overlay: Annotated[
        Path | None, typer.Option("--overlay", help="A partial model merged over the import: what Home Assistant cannot know.")
    ] = None,
    max_bytes: Annotated[int, typer.Option(help="Refuse any single file larger than this many bytes.")] = 64 * 1024 * 1024,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print warnings only, not the summary.")] = False,
) -> None:
    """Import devices, areas, users, exposure and cloud integrations of a Home Assistant installation.

    Reads the files only (Home Assistant need not run and is never imported). Secret values —
    password hashes, tokens, TOTP secrets, secrets.yaml — are never read into the model.
    Exit codes: 0 imported (warnings say what was skipped), 2 bad input.
    """
    from domosec.cli.output import errors, print_diagnostics
    from domosec.evidence.homeassistant import import_homeassistant
    from domosec.output_file import check_output_file, write_atomically

    if output is not None:
        check_output_file(output)
    result = import_homeassistant(config_dir, overlay=overlay, max_bytes=max_bytes)
    print_diagnostics(result.warnings)
    if output is None:
        typer.echo(result.text, nl=False)
    else:
        write_atomically(output, result.text)
    if not quiet:
        for line in result.summary:
            errors.print(line, markup=False)
        if output is not None:
            errors.print(f"wrote {output}; next: domosec assess {output}", markup=False)
