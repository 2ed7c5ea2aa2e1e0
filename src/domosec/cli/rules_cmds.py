"""``domosec rules``: list, show and test rules."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from domosec.engine.rule import Rule


class ListFormat(StrEnum):
    table = "table"
    json = "json"


app = typer.Typer(help="List, show and test the rules (built-in and your own rule packs).", no_args_is_help=True)

RulesOption = Annotated[list[Path] | None, typer.Option("--rules", help="Add the rules in this directory (repeatable).")]


@app.command("list")
def list_rules(
    rules: RulesOption = None,
    clause: Annotated[str | None, typer.Option(help="Only rules of this risk-source clause, e.g. 6.2.3.")] = None,
    output_format: Annotated[
        ListFormat, typer.Option("--format", "-f", help="table, or json: one object per rule, sorted by ID.")
    ] = ListFormat.table,
) -> None:
    """List rules with their risk-source clause and base rating.

    Examples:

      domosec rules list --clause 6.2.3

      domosec rules list --format json | jq -r '.[] | select(.impact >= 4) | .id'
    """
    from domosec.engine.ruleset import load_rules

    chosen = [lr for lr in load_rules(rules or []) if not clause or lr.rule.risk_source.startswith(clause)]
    if output_format is ListFormat.json:
        import json

        from domosec.cli.output import echo_document

        records = [_rule_record(lr.rule, builtin=lr.builtin) for lr in chosen]
        echo_document(json.dumps(sorted(records, key=lambda r: str(r["id"])), indent=2, ensure_ascii=False) + "\n")
        return
    from rich.table import Table

    from domosec.cli.output import console

    table = Table(header_style="bold")
    for col in ("ID", "Name", "Clause", "L×I", "Summary"):
        table.add_column(col, overflow="fold")
    for lr in chosen:
        r = lr.rule
        table.add_row(r.id, r.name, r.risk_source, f"{r.likelihood}×{r.impact}", r.summary)
    console.print(table)


def _rule_record(r: Rule, *, builtin: bool) -> dict[str, object]:
    """What ``rules list --format json`` says of a rule (the fields of an assessment's ``rules``, without the long texts)."""
    return {
        "id": r.id,
        "name": r.name,
        "title": r.title,
        "summary": r.summary,
        "dimension": r.dimension,
        "part": r.part,
        "risk_source": r.risk_source,
        "risk_items": list(r.risk_items),
        "controls": list(r.mitigated_by),
        "likelihood": r.likelihood,
        "impact": r.impact,
        "builtin": builtin,
    }


@app.command("show")
def show(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="Rule ID, e.g. DEV-S01.")],
    rules: RulesOption = None,
) -> None:
    """Show a rule's documentation page: what it finds, why it matters, how to fix, its query."""
    from domosec.cli.output import errors, print_markdown
    from domosec.engine.ruledoc import rule_page
    from domosec.engine.ruleset import load_rules
    from domosec.errors import did_you_mean

    loaded = {lr.rule.id: lr for lr in load_rules(rules or [])}
    if rule_id not in loaded:
        hint = did_you_mean(rule_id, list(loaded))
        errors.print(f"domosec rules show: error: no rule '{rule_id}'" + (f"; {hint}" if hint else ""), markup=False)
        raise typer.Exit(2)
    print_markdown(rule_page(loaded[rule_id]))


@app.command("test")
def test(directory: Annotated[Path, typer.Argument(help="A rule pack directory (or one clause folder).")]) -> None:
    """Run each rule in DIRECTORY on its .fail.yaml and .pass.yaml examples and check the findings."""
    from rich.text import Text

    from domosec.cli.output import console, errors
    from domosec.engine.examples import check_examples
    from domosec.engine.ruleset import load_rules

    results = [check_examples(lr) for lr in load_rules([directory], include_builtin=False)]
    failed = [r for r in results if not r.ok]
    for r in results:
        console.print(Text.assemble(("ok  " if r.ok else "FAIL", "green" if r.ok else "red"), f" {r.rule_id}"))
        for p in r.problems:
            errors.print(f"  {p}", markup=False)
    console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)
