"""``domosec catalog``: browse the ISO/IEC 27403 catalogue."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Browse the ISO/IEC 27403 catalogue: clauses, controls, risk sources, device types.", no_args_is_help=True)

KINDS = ("clauses", "controls", "risk-sources", "device-types", "data-categories", "roles", "lifecycle")


@app.command("list")
def list_items(
    kind: Annotated[str, typer.Argument(help=f"What to list: {', '.join(KINDS)}.")] = "clauses",
    clause: Annotated[str | None, typer.Option(help="Only items under this clause, e.g. 7.2 or 6.2.3.")] = None,
) -> None:
    """List catalogue items of one kind, as a table."""
    from domosec.catalog.browse import list_rows
    from domosec.cli.output import console, errors

    if kind not in KINDS:
        errors.print(f"domosec catalog list: error: unknown kind '{kind}'; choose one of: {', '.join(KINDS)}", markup=False)
        raise typer.Exit(2)
    console.print(list_rows(kind, clause))


@app.command("show")
def show(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="A clause (7.2.16), risk source (R-S-GW-03), device type or data category.")],
) -> None:
    """Show one catalogue item in full, with what links to it."""
    from domosec.catalog.browse import show_item
    from domosec.cli.output import errors, print_markdown

    text = show_item(item_id)
    if text is None:
        from domosec.catalog.browse import suggest

        errors.print(f"domosec catalog show: error: no catalogue item '{item_id}'{suggest(item_id)}", markup=False)
        raise typer.Exit(2)
    print_markdown(text)


@app.command("search")
def search(text: Annotated[str, typer.Argument(help="Words to look for (all must appear).")]) -> None:
    """Find catalogue items whose text mentions all the given words."""
    from domosec.catalog.browse import search_rows
    from domosec.cli.output import console

    console.print(search_rows(text))
