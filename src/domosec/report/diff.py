"""An AssessmentDiff as terminal tables, as Markdown for a pull-request comment, or as JSON."""

from __future__ import annotations

import orjson
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from domosec.assessment import LEVELS, Finding
from domosec.diff import AssessmentDiff, FindingState
from domosec.report.markdown import COMMENT_LIMIT, Budget, asset_cell, cell, code, length, plural, risk_cell
from domosec.report.terminal import LEVEL_STYLES
from domosec.safe_text import rich_text

TREATMENT = {"open": "open", "treatment_planned": "treatment planned", "accepted": "accepted", "acceptance_expired": "acceptance expired"}


def render_diff_json(diff: AssessmentDiff) -> str:
    return orjson.dumps(diff.model_dump(mode="json"), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode("utf-8") + "\n"


def headline(diff: AssessmentDiff) -> str:
    s = diff.summary
    worst = ", ".join(f"{n} {lvl}" for lvl in LEVELS[::-1] if (n := s.new_by_level.get(lvl, 0)))
    text = f"{plural(s.new, 'new finding')}"
    if worst:
        text += f" ({worst} open)"
    text += f", {s.resolved} resolved, {s.changed} changed, {s.unchanged} unchanged; {plural(s.controls_changed, 'control')} changed status"
    return text


def notes(diff: AssessmentDiff) -> list[str]:
    """What the reader should know to trust the comparison (different dates, rules or homes)."""
    found = []
    if diff.old.as_of != diff.new.as_of:
        found.append(
            f"The two were judged on different dates ({diff.old.as_of} and {diff.new.as_of}): support periods and acceptances may differ."
        )
    if diff.rules_added:
        found.append(f"Rules only in the new assessment: {', '.join(diff.rules_added)}.")
    if diff.rules_removed:
        found.append(f"Rules only in the old assessment: {', '.join(diff.rules_removed)} (their findings count as resolved).")
    if diff.homes_added:
        found.append(f"Homes only in the new assessment: {', '.join(diff.homes_added)}.")
    if diff.homes_removed:
        found.append(f"Homes only in the old assessment: {', '.join(diff.homes_removed)}.")
    return found


def render_diff_table(diff: AssessmentDiff) -> RenderableType:
    parts: list[RenderableType] = [rich_text(f"{diff.old.source or 'old'} → {diff.new.source or 'new'}: {headline(diff)}", style="bold")]
    parts += [rich_text(n, style="yellow") for n in notes(diff)]
    if diff.new_findings:
        parts.append(_findings_table("New findings", diff.new_findings))
    if diff.changed:
        table = _table("Changed findings", "Rule", "Asset", "Before", "After", "Finding")
        for c in diff.changed:
            table.add_row(
                rich_text(c.rule_id),
                rich_text(f"{c.home_id}/{c.asset_id}"),
                _state_text(c.before),
                _state_text(c.after),
                rich_text(c.reason),
            )
        parts.append(table)
    if diff.resolved:
        parts.append(_findings_table("Resolved findings", diff.resolved))
    if diff.control_changes:
        table = _table("Control status changes (clause 7)", "Control", "Home", "Before", "After", "Why")
        for cc in diff.control_changes:
            table.add_row(
                rich_text(f"{cc.control_id} {cc.title}"),
                rich_text(cc.home_id),
                rich_text(_control_state(cc.before, cc.applicable_before)),
                rich_text(_control_state(cc.after, cc.applicable_after)),
                rich_text(cc.reason),
            )
        parts.append(table)
    return Group(*parts)


def render_diff_markdown(diff: AssessmentDiff, *, limit: int = COMMENT_LIMIT) -> str:
    head = [f"## domosec diff: {headline(diff)}", ""]
    head += [f"{code(diff.old.source or 'old')} ({diff.old.as_of}) → {code(diff.new.source or 'new')} ({diff.new.as_of})", ""]
    head += [f"> {cell(n)}" for n in notes(diff)] + ([""] if notes(diff) else [])
    budget = Budget(limit - length(head), tables=4)
    body: list[str] = []
    if diff.new_findings:
        body += budget.spend([f"### New findings ({len(diff.new_findings)})", ""])
        body += budget.table(["risk", "rule", "asset", "finding", "status"], [_finding_row(f) for f in diff.new_findings])
        body += budget.spend([""])
    if diff.changed:
        rows = [
            f"| {cell(c.rule_id)} | {code(c.asset_id)} ({cell(c.home_id)}) | {_state_md(c.before)} | {_state_md(c.after)} | {cell(c.reason)} |"
            for c in diff.changed
        ]
        body += budget.spend([f"### Changed findings ({len(diff.changed)})", ""])
        body += budget.table(["rule", "asset", "before", "after", "finding"], rows)
        body += budget.spend([""])
    if diff.control_changes:
        rows = [
            f"| {cell(c.control_id)} {cell(c.title)} | {cell(c.home_id)} | {_control_state(c.before, c.applicable_before)} | "
            f"{_control_state(c.after, c.applicable_after)} |"
            for c in diff.control_changes
        ]
        body += budget.spend([f"### Control status changes ({len(diff.control_changes)})", ""])
        body += budget.table(["control", "home", "before", "after"], rows)
        body += budget.spend([""])
    if diff.resolved:
        body += budget.spend([f"<details><summary><b>Resolved findings ({len(diff.resolved)})</b></summary>", ""])
        body += budget.table(["risk", "rule", "asset", "finding", "status"], [_finding_row(f) for f in diff.resolved])
        body += budget.spend(["", "</details>", ""])
    if not (diff.new_findings or diff.changed or diff.control_changes or diff.resolved):
        body += ["No differences in findings or control status.", ""]
    return "\n".join(head + body)


def _findings_table(title: str, findings: list[Finding]) -> Table:
    table = _table(title, "Risk", "Rule", "Asset", "Finding", "Status")
    for f in findings:
        risk = Text(f"{f.inherent.level} {f.inherent.score}", style=LEVEL_STYLES[f.inherent.level])
        table.add_row(risk, rich_text(f.rule_id), rich_text(f"{f.home_id}/{f.asset.id}"), rich_text(f.reason), TREATMENT[f.treatment])
    return table


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _state_text(s: FindingState) -> Text:
    text = Text(f"{s.inherent.level} {s.inherent.score}", style=LEVEL_STYLES[s.inherent.level])
    if s.residual.level != s.inherent.level:
        text.append(f" → {s.residual.level}", style=LEVEL_STYLES[s.residual.level])
    text.append(f", {TREATMENT[s.treatment]}")
    return text


def _state_md(s: FindingState) -> str:
    text = f"{s.inherent.level} {s.inherent.score}"
    if s.residual.level != s.inherent.level:
        text += f" → {s.residual.level}"
    return f"{text}, {TREATMENT[s.treatment]}"


def _control_state(status: str, applicable: bool) -> str:
    return status.replace("_", " ") if applicable else "not applicable"


def _finding_row(f: Finding) -> str:
    return f"| {risk_cell(f)} | {cell(f.rule_id)} | {asset_cell(f)} | {cell(f.reason)} | {TREATMENT[f.treatment]} |"
