"""The Assessment as Markdown that fits a pull-request comment.

A headline with the counts, the level table (inherent and residual), the open findings to fix
first, then every confirmed finding by reference-model part in collapsed ``<details>`` blocks, and
the unverified findings (facts the model does not state) apart, with the question that settles each. GitHub refuses
comments over 65,536 characters: the output stays under :data:`COMMENT_LIMIT`; when findings do not
fit, the tables end with a line that says how many were left out.

Text from the assessment is inert: no raw HTML, no link or image syntax (so no ``javascript:`` link
and no remote image that would load when the comment is opened), no control characters, and code
spans that the text cannot close (:func:`cell`, :func:`code`).
"""

from __future__ import annotations

from collections.abc import Iterable

from domosec.assessment import LEVELS, Assessment, Finding
from domosec.report.grouping import PART_TITLES, by_part, location
from domosec.safe_text import one_line

COMMENT_LIMIT = 60_000
"""Characters; GitHub's limit for a comment is 65,536."""
FIX_FIRST = 10
TREATMENT_LABELS = {
    "open": "open",
    "treatment_planned": "treatment planned",
    "accepted": "accepted",
    "acceptance_expired": "acceptance expired",
}


def render_markdown(assessment: Assessment, *, limit: int = COMMENT_LIMIT) -> str:
    s = assessment.summary
    homes = ", ".join(f"{cell(h.name)} ({code(h.home_id)})" for h in assessment.homes)
    head = [
        f"## domosec: {plural(s.findings, 'finding')} in {homes}",
        "",
        f"**{s.open} open**, {s.accepted} accepted{f' ({s.unverified} of the open ones unverified)' if s.unverified else ''} · judged on {assessment.as_of} · {plural(len(assessment.rules), 'rule')} · "
        f"ISO/IEC 27403 catalogue {assessment.catalogue_version} · domosec {assessment.tool_version}",
        "",
        *level_table(s.by_level, s.by_level_residual),
        "",
    ]
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(s.controls_by_status.items()))
    tail = [f"**Statement of Applicability (clause 7):** {counts or 'none'}.", ""]
    first = sorted((f for f in assessment.findings if f.is_open and not f.is_unverified), key=_worst_first)[:FIX_FIRST]
    groups = [(part, kept) for part, findings in by_part(assessment) if (kept := [f for f in findings if not f.is_unverified])]
    unverified = [f for f in assessment.findings if f.is_unverified]
    from domosec.report.components import markdown_tables  # it builds on this module's cell and code

    software = markdown_tables(assessment)
    budget = Budget(limit - length(head) - length(tail), tables=len(groups) + 1 + bool(unverified) + len(software))
    body: list[str] = []
    if first:
        body += budget.spend(["### Fix first", ""])
        body += budget.table(["risk", "rule", "asset", "finding"], [_first_row(f) for f in first])
        body += budget.spend([""])
    for part, findings in groups:
        by_level = ", ".join(f"{n} {lvl}" for lvl in LEVELS[::-1] if (n := sum(1 for f in findings if f.inherent.level == lvl)))
        body += budget.spend(
            [f"<details><summary><b>{PART_TITLES[part]}</b>: {plural(len(findings), 'finding')} ({by_level})</summary>", ""]
        )
        body += budget.table(["risk", "rule", "asset", "finding", "status"], [_part_row(f) for f in findings])
        body += budget.spend(["", "</details>", ""])
    if unverified:
        body += budget.spend(
            [
                f"<details><summary><b>Unverified</b>: {plural(len(unverified), 'finding')} on facts the model does not state</summary>",
                "",
            ]
        )
        body += budget.table(["risk", "rule", "asset", "question to settle it", "fact to state"], [_unverified_row(f) for f in unverified])
        body += budget.spend(["", "</details>", ""])
    if not assessment.findings:
        body += ["No findings.", ""]
    for t in software:
        body += budget.spend(t.intro)
        body += budget.table(t.header, t.rows, noun="rows") if t.header else []
        body += budget.spend(t.outro)
    return "\n".join(head + body + tail)


def level_table(inherent: dict[str, int], residual: dict[str, int]) -> list[str]:
    order = LEVELS[::-1]
    return [
        "| | " + " | ".join(order) + " |",
        "|---|" + "---:|" * len(order),
        "| inherent | " + " | ".join(str(inherent.get(lvl, 0)) for lvl in order) + " |",
        "| residual (after planned treatment) | " + " | ".join(str(residual.get(lvl, 0)) for lvl in order) + " |",
    ]


def risk_cell(f: Finding) -> str:
    text = f"{f.inherent.level} {f.inherent.score}"
    if f.residual.score != f.inherent.score:
        text += f" → {f.residual.level} {f.residual.score}"
    return text


def asset_cell(f: Finding) -> str:
    return f"{code(f.asset.id)} ({cell(location(f))})"


_MARKDOWN_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", "<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]", "`": "\\`"})


def cell(text: str) -> str:
    """Text safe inside a table cell: one line, no pipes breaking the row, no raw HTML, no links or images
    (``[`` and ``]`` escaped), no code spans, control characters shown as escapes."""
    return one_line(" ".join(text.split())).translate(_MARKDOWN_ESCAPES)


def code(text: str) -> str:
    """``text`` as an inline code span it cannot close (a longer run of backticks around it), on one line."""
    flat = one_line(" ".join(text.split())).replace("|", "\\|")
    ticks = "`" * (_longest_backtick_run(flat) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return longest


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def length(lines: Iterable[str]) -> int:
    return sum(len(line) + 1 for line in lines)


class Budget:
    """Characters left for the body. Fixed lines are always spent; a table stops adding rows when the rest
    would not fit, keeping :data:`RESERVE` characters for each table still to come (its heading, header and
    the line saying how many rows it left out)."""

    RESERVE = 400

    def __init__(self, chars: int, *, tables: int) -> None:
        self.left = chars
        self.tables = tables

    def spend(self, lines: list[str]) -> list[str]:
        self.left -= length(lines)
        return lines

    def table(self, header: list[str], rows: list[str], *, noun: str = "findings") -> list[str]:
        self.tables -= 1
        keep = self.RESERVE * (self.tables + 1)
        lines = self.spend(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)])
        shown = 0
        for row in rows:
            if self.left - len(row) - 1 < keep:
                break
            lines.append(row)
            self.left -= len(row) + 1
            shown += 1
        if shown == 0 and rows:
            self.left += length(lines)
            lines = []
        if shown < len(rows):
            more = f"{len(rows) - shown} more" if shown else f"{len(rows)} {noun}"
            lines += self.spend(["", f"_{more} not shown here (comment size limit): the HTML or CSV report lists all._"])
        return lines


def _worst_first(f: Finding) -> tuple[int, int, str, str, str]:
    return (-f.inherent.score, -f.residual.score, f.rule_id, f.home_id, f.asset.id)


def _first_row(f: Finding) -> str:
    return f"| {risk_cell(f)} | {cell(f.rule_id)} | {asset_cell(f)} | {cell(f.reason)} |"


def _unverified_row(f: Finding) -> str:
    question, facts = (f.unverified.question, ", ".join(f.unverified.facts)) if f.unverified else (f.reason, "")
    return f"| {risk_cell(f)} | {cell(f.rule_id)} | {asset_cell(f)} | {cell(question)} | {code(facts) if facts else ''} |"


def _part_row(f: Finding) -> str:
    return f"| {risk_cell(f)} | {cell(f.rule_id)} | {asset_cell(f)} | {cell(f.reason)} | {TREATMENT_LABELS[f.treatment]} |"
