"""The Assessment as Markdown, short enough for a pull-request comment."""

from __future__ import annotations

from domosec.assessment import LEVELS, Assessment
from domosec.report.grouping import PART_TITLES, by_part, location

TREATMENT_LABELS = {
    "open": "open",
    "treatment_planned": "treatment planned",
    "accepted": "accepted",
    "acceptance_expired": "acceptance expired",
}


def render_markdown(assessment: Assessment) -> str:
    s = assessment.summary
    homes = ", ".join(f"{h.name} (`{h.home_id}`)" for h in assessment.homes)
    lines = [
        "## domosec assessment",
        "",
        f"{homes} — {s.findings} findings ({s.open} open, {s.accepted} accepted), judged on {assessment.as_of}, "
        f"{len(assessment.rules)} rules, ISO/IEC 27403 catalogue {assessment.catalogue_version}.",
        "",
        "| level | " + " | ".join(LEVELS[::-1]) + " |",
        "|---|" + "---|" * len(LEVELS),
        "| inherent | " + " | ".join(str(s.by_level[lvl]) for lvl in LEVELS[::-1]) + " |",
        "| residual | " + " | ".join(str(s.by_level_residual[lvl]) for lvl in LEVELS[::-1]) + " |",
        "",
    ]
    for part, findings in by_part(assessment):
        lines += [f"### {PART_TITLES[part]}", "", "| risk | rule | asset | finding | status |", "|---|---|---|---|---|"]
        for f in findings:
            risk = f"{f.inherent.level} ({f.inherent.score})"
            if f.residual.score != f.inherent.score:
                risk += f" → {f.residual.level}"
            reason = f.reason.replace("|", "\\|")
            lines.append(f"| {risk} | {f.rule_id} | `{f.asset.id}` ({location(f)}) | {reason} | {TREATMENT_LABELS[f.treatment]} |")
        lines.append("")
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in assessment.summary.controls_by_status.items())
    lines += [f"**Controls (clause 7):** {counts}.", ""]
    return "\n".join(lines)
