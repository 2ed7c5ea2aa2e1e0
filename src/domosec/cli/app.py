"""The ``domosec`` command line: a thin layer that parses options, calls the library and renders.

Exit codes: 0 done; 1 findings at or above --fail-on; 2 bad input or usage.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from domosec.cli import (
    assess_cmd,
    catalog_cmds,
    fleet_cmds,
    import_cmds,
    model_cmds,
    report_cmds,
    rules_cmds,
    sbom_cmds,
    scan_cmds,
    serve_cmds,
    traffic_cmds,
    view_options,
)

APP_SETTINGS: dict[str, Any] = {
    "name": "domosec",
    "help": "Security and privacy risk assessment of smart homes, following ISO/IEC 27403:2024.\n\n"
    "Exit codes: 0 done, 1 findings at or above --fail-on, 2 bad input or usage.",
    "no_args_is_help": True,
    "add_completion": True,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": "rich",
}
COMMANDS: dict[str, Callable[..., Any]] = {
    "assess": assess_cmd.assess,
    "report": report_cmds.report,
    "diff": report_cmds.diff,
    "validate": model_cmds.validate,
    "schema": model_cmds.schema,
    "init": model_cmds.init,
    "scan": scan_cmds.scan,
    "traffic": traffic_cmds.traffic,
}
ONE_SHOT_COMMANDS = frozenset({"assess"})
"""Commands that run once and exit: they get the process settings of :mod:`domosec.cli.process`."""
GROUPS: dict[str, typer.Typer] = {
    "catalog": catalog_cmds.app,
    "rules": rules_cmds.app,
    "import": import_cmds.app,
    "fleet": fleet_cmds.app,
    "vulndb": sbom_cmds.vulndb_app,
    "audit": serve_cmds.audit_app,
    "workspace": serve_cmds.workspace_app,
}

view_options.install_help_format()
app = typer.Typer(**APP_SETTINGS)
for _name, _command in COMMANDS.items():
    app.command(_name)(_command)
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)
app.command("serve")(serve_cmds.serve)  # not in COMMANDS: without arguments it runs until stopped


def _print_version(value: bool) -> None:
    if value:
        from domosec.cli.entry import version_line

        print(version_line())
        raise typer.Exit()


@app.callback()
def _domosec(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version (domosec X.Y.Z) and exit.", is_eager=True, callback=_print_version)
    ] = False,
) -> None:
    """Security and privacy risk assessment of smart homes, following ISO/IEC 27403:2024."""


def _single_command_app(name: str) -> typer.Typer:
    """The app with only the command ``name``: the same command line, without building the other commands.

    Typer turns every command's signature into Click parameters on each run (~30 ms for all of
    them); a run that names its command needs only that one.
    """
    single = typer.Typer(**APP_SETTINGS)
    single.command(name)(COMMANDS[name])

    @single.callback()
    def _group() -> None:
        """A group of one, so the command's name stays on the command line."""

    return single


def main() -> None:
    """Entry point: run the app, turning expected errors into messages and exit code 2."""
    from domosec.cli import process, streams
    from domosec.errors import CatalogueError, InputError

    streams.prepare()
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in ONE_SHOT_COMMANDS:
        process.one_shot()  # before the command imports the engine: its imports alone ran ~30 ms of collections
    try:
        (_single_command_app(command) if command in COMMANDS else app)()
    except SystemExit as exc:
        streams.flush_output()  # a full disk or a closed pipe is reported now, not as a traceback at exit
        if process.leaves_at_once():
            process.leave(streams.exit_status(exc.code))
        raise SystemExit(streams.exit_status(exc.code)) from None
    except OSError as exc:
        if not streams.is_write_failure(exc):
            raise
        streams.write_failed(exc)
    except InputError as exc:
        from domosec.cli.output import print_diagnostics

        print_diagnostics(exc.diagnostics)
        sys.exit(2)
    except CatalogueError as exc:
        from domosec.safe_text import visible

        print(visible(f"domosec: internal error: {exc}"), file=sys.stderr)
        sys.exit(3)
    except KeyboardInterrupt:
        print("domosec: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
