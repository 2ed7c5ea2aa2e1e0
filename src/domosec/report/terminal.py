"""The Assessment on the terminal: the finding lines of :mod:`domosec.report.lines` in colour, wrapped at the
terminal's width (never cut), or (``--format table``) Rich tables grouped by reference-model part.

Every text from the assessment goes in as :func:`domosec.safe_text.rich_text`: shown as written,
control characters as visible escapes, never parsed as Rich markup.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from domosec.assessment import LEVELS, Assessment
from domosec.report.grouping import PART_TITLES, by_part, location
from domosec.report.lines import LEVEL_WIDTH, Line, assessment_lines, controls_line
from domosec.safe_text import rich_text, visible

LEVEL_STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_terminal(assessment: Assessment, *, show_controls: bool = False) -> RenderableType:
    parts: list[RenderableType] = []
    s = assessment.summary
    homes = ", ".join(h.name for h in assessment.homes)
    head = Text(f"{visible(homes)}: {s.findings} findings, {s.open} open, {s.accepted} accepted — ")
    for lvl in LEVELS[::-1]:
        head.append(f"{lvl} {s.by_level[lvl]}  ", style=LEVEL_STYLES[lvl] if s.by_level[lvl] else "dim")
    parts.append(head)
    for part, findings in by_part(assessment):
        table = Table(title=PART_TITLES[part], title_justify="left", header_style="bold", expand=False)
        for col in ("Risk", "Rule", "Asset", "Finding", "Status"):
            table.add_column(col, overflow="fold")
        for f in findings:
            risk = Text(f"{f.inherent.level} {f.inherent.score}", style=LEVEL_STYLES[f.inherent.level])
            if f.residual.score != f.inherent.score:
                risk.append(f" → {f.residual.level}", style=LEVEL_STYLES[f.residual.level])
            table.add_row(
                risk,
                rich_text(f.rule_id),
                rich_text(f"{f.asset.id}\n{location(f)}"),
                rich_text(f.reason if f.unverified is None else f"{f.reason}\nUnverified; ask: {f.unverified.question}"),
                rich_text(f.treatment.replace("_", " ") + (", unverified" if f.is_unverified else "")),
            )
        parts.append(table)
    if show_controls:
        parts.append(render_controls(assessment))
    parts.append(Text(controls_line(assessment, show_controls=show_controls), style="dim"))
    return Group(*parts)


def print_terminal(assessment: Assessment, console: Console, *, show_controls: bool = False) -> None:
    console.print(render_terminal(assessment, show_controls=show_controls))


def line_text(line: Line) -> Text:
    """One line of :func:`domosec.report.lines.assessment_lines` as Rich text: the level word in its colour."""
    if line.heading:
        return rich_text(line.text, style="bold")
    if not line.level:
        return rich_text(line.text, style="dim" if line.text.startswith("Controls") else "")
    text = Text(line.text[:LEVEL_WIDTH], style=LEVEL_STYLES.get(line.level, ""))
    text.append_text(rich_text(line.text[LEVEL_WIDTH:]))
    return text


def print_lines(
    assessment: Assessment, console: Console, *, quiet: bool = False, verbose: bool = False, show_controls: bool = False
) -> None:
    """The summary, fix first and one line per finding, wrapped at the console's width (nothing is cut off)."""
    for line in assessment_lines(assessment, quiet=quiet, verbose=verbose, show_controls=show_controls):
        console.print(line_text(line), soft_wrap=False, overflow="fold", crop=False)


def render_controls(assessment: Assessment) -> Table:
    """The Statement of Applicability as a table (``--controls``)."""
    table = Table(title="Statement of Applicability (clause 7)", title_justify="left", header_style="bold")
    for col in ("Control", "Title", "Applies", "Status", "Why"):
        table.add_column(col, overflow="fold")
    for c in assessment.controls:
        table.add_row(
            rich_text(c.control_id),
            rich_text(c.title),
            "yes" if c.applicable else "no",
            rich_text(c.status.replace("_", " ")),
            rich_text(c.status_reason),
        )
    return table
