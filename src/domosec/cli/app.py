"""The ``domosec`` command line: a thin layer that parses options, calls the library and renders.

Exit codes: 0 done; 1 findings at or above --fail-on; 2 bad input or usage.
"""

from __future__ import annotations

import sys

import typer

from domosec.cli import assess_cmd, catalog_cmds, fleet_cmds, import_cmds, model_cmds, report_cmds, rules_cmds, scan_cmds

app = typer.Typer(
    name="domosec",
    help="Security and privacy risk assessment of smart homes, following ISO/IEC 27403:2024.\n\n"
    "Exit codes: 0 done, 1 findings at or above --fail-on, 2 bad input or usage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.command("assess")(assess_cmd.assess)
app.command("report")(report_cmds.report)
app.command("diff")(report_cmds.diff)
app.command("validate")(model_cmds.validate)
app.command("schema")(model_cmds.schema)
app.command("init")(model_cmds.init)
app.command("scan")(scan_cmds.scan)
app.add_typer(catalog_cmds.app, name="catalog")
app.add_typer(rules_cmds.app, name="rules")
app.add_typer(import_cmds.app, name="import")
app.add_typer(fleet_cmds.app, name="fleet")


def main() -> None:
    """Entry point: run the app, turning expected errors into messages and exit code 2."""
    from domosec.errors import CatalogueError, InputError

    try:
        app()
    except InputError as exc:
        from domosec.cli.output import print_diagnostics

        print_diagnostics(exc.diagnostics)
        sys.exit(2)
    except CatalogueError as exc:
        print(f"domosec: internal error: {exc}", file=sys.stderr)
        sys.exit(3)
    except KeyboardInterrupt:
        print("domosec: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
