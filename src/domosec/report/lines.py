"""The assessment as lines: the summary, the risks to fix first, then one line per finding.

``LEVEL RULE file:line asset — reason``: each finding on one line, so ``grep``, an editor's
quickfix list and a CI log all find ``file:line``. This is the default on the terminal (where
:mod:`domosec.report.terminal` colours and wraps these lines) and ``--format text`` (the same
lines, never wrapped, no colour); ``--format github`` writes them as GitHub Actions workflow
commands, which GitHub shows as annotations on the file and line.

Every text from the assessment goes through :func:`domosec.safe_text.one_line`: control
characters shown as escapes, newlines and tabs too, so a line stays one line. No Rich here.
"""

from __future__ import annotations

from dataclasses import dataclass

from domosec.assessment import LEVELS, Assessment, Finding
from domosec.report.grouping import PART_TITLES, by_part, location
from domosec.safe_text import one_line
from domosec.wording import plural

FIX_FIRST = 5
"""How many open findings the "Fix first" list names."""
LEVEL_WIDTH = max(len(lvl) for lvl in LEVELS)
GITHUB_COMMANDS = {"critical": "error", "high": "error", "medium": "warning", "low": "notice", "info": "notice"}


@dataclass(frozen=True)
class Line:
    """One line of output: its text, and the level whose colour it takes on a terminal ("" for none)."""

    text: str
    level: str = ""
    heading: bool = False


def is_unverified(f: Finding) -> bool:
    """Whether the finding rests on a fact nobody has confirmed (shown apart, after the verified ones)."""
    return bool(getattr(f, "confidence", "confirmed") == "unverified")


def finding_line(f: Finding, *, verbose: bool = False) -> str:
    """``LEVEL RULE file:line asset — reason``, with the treatment when the finding is not simply open."""
    level = f.inherent.level.upper().ljust(LEVEL_WIDTH)
    text = f"{level} {f.rule_id} {location(f)} {f.asset.id} — {f.reason}"
    if f.residual.level != f.inherent.level:
        text += f" (residual {f.residual.level})"
    if f.treatment != "open":
        text += f" [{f.treatment.replace('_', ' ')}]"
    if is_unverified(f):
        text += " [unverified]"
    if verbose:
        text += f" | rating: {f.rating_reason} | id {f.id}"
        question = getattr(getattr(f, "unverified", None), "question", None)
        if question:
            text += f" | ask: {question}"
    return one_line(text)


def fix_first(assessment: Assessment, n: int = FIX_FIRST) -> list[Finding]:
    """The ``n`` open, verified findings of highest residual risk (ties by rule, home and asset)."""
    candidates = [f for f in assessment.findings if f.is_open and not is_unverified(f)]
    candidates.sort(key=lambda f: (-f.residual.score, -f.inherent.score, f.rule_id, f.home_id, f.asset.id))
    return candidates[:n]


def summary_line(assessment: Assessment) -> str:
    s = assessment.summary
    homes = ", ".join(h.name for h in assessment.homes) or "no homes"
    levels = ", ".join(f"{lvl} {s.by_level[lvl]}" for lvl in LEVELS[::-1])
    return one_line(f"{homes}: {plural(s.findings, 'finding')}, {s.open:,} open, {s.accepted:,} accepted — {levels}")


def controls_line(assessment: Assessment, *, show_controls: bool) -> str:
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in assessment.summary.controls_by_status.items())
    hint = "" if show_controls else " Use --controls to list them."
    return f"Controls (clause 7): {counts or 'none'}.{hint}"


def assessment_lines(assessment: Assessment, *, quiet: bool = False, verbose: bool = False, show_controls: bool = False) -> list[Line]:
    """The summary, "Fix first", then the findings grouped by reference-model part (unverified ones last).

    ``quiet``: the finding lines alone.
    """
    lines: list[Line] = []
    if not quiet:
        lines.append(Line(summary_line(assessment), heading=True))
        first = fix_first(assessment)
        if first:
            lines.append(Line(""))
            lines.append(Line(f"Fix first ({len(first)} of {plural(assessment.summary.open, 'open finding')}):", heading=True))
            lines.extend(Line(finding_line(f, verbose=verbose), f.inherent.level) for f in first)
    verified = [f for f in assessment.findings if not is_unverified(f)]
    unverified = [f for f in assessment.findings if is_unverified(f)]
    for title, findings in _groups(assessment, verified):
        if not quiet:
            lines.append(Line(""))
            lines.append(Line(f"{title} — {plural(len(findings), 'finding')}", heading=True))
        lines.extend(Line(finding_line(f, verbose=verbose), f.inherent.level) for f in findings)
    if unverified:
        if not quiet:
            lines.append(Line(""))
            rest = "rests" if len(unverified) == 1 else "rest"
            title = f"Unverified — {plural(len(unverified), 'finding')} that {rest} on facts the model does not state (ask, then re-assess)"
            lines.append(Line(title, heading=True))
        lines.extend(Line(finding_line(f, verbose=verbose), f.inherent.level) for f in _sorted(unverified))
    if show_controls and not quiet:
        lines.append(Line(""))
        lines.append(Line("Statement of Applicability (clause 7):", heading=True))
        for c in assessment.controls:
            applies = "applies" if c.applicable else "does not apply"
            status = c.status.replace("_", " ")
            lines.append(Line(one_line(f"{c.control_id} {c.home_id} {status} ({applies}) — {c.title}: {c.status_reason}")))
    if not quiet:
        lines.append(Line(""))
        lines.append(Line(controls_line(assessment, show_controls=show_controls)))
    return lines


def render_text(assessment: Assessment, *, quiet: bool = False, verbose: bool = False, show_controls: bool = False) -> str:
    """``--format text``: the lines, no colour, never wrapped."""
    lines = assessment_lines(assessment, quiet=quiet, verbose=verbose, show_controls=show_controls)
    return "".join(line.text + "\n" for line in lines)


def render_github(assessment: Assessment) -> str:
    """``--format github``: one workflow command per finding that is not accepted (verified ones first).

    ``::error file=F,line=L,col=C,title=T::MESSAGE`` (``warning`` for medium, ``notice`` below), escaped as the
    GitHub Actions runner reads them: ``%``, CR and LF in the message; also ``:`` and ``,`` in properties.
    """
    out: list[str] = []
    findings = [f for f in _sorted(assessment.findings) if f.is_open]
    findings.sort(key=is_unverified)
    for f in findings:
        props = [f"file={_property(f.asset.file)}"]
        if f.asset.line is not None:
            props.append(f"line={f.asset.line}")
            if f.asset.col is not None:
                props.append(f"col={f.asset.col}")
        mark = "unverified " if is_unverified(f) else ""
        props.append(f"title={_property(f'{mark}{f.inherent.level} {f.rule_id}: {f.title}')}")
        message = f"{f.asset.id} — {f.reason} (risk {f.inherent.level} {f.inherent.score}, {f.risk_source}; {f.key})"
        out.append(f"::{GITHUB_COMMANDS[f.inherent.level]} {','.join(props)}::{_data(message)}\n")
    return "".join(out)


def _data(text: str) -> str:
    return one_line(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.inherent.score, -f.residual.score, f.rule_id, f.home_id, f.asset.id))


def _groups(assessment: Assessment, findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    keep = {id(f) for f in findings}
    groups = []
    for part, items in by_part(assessment):
        chosen = [f for f in items if id(f) in keep]
        if chosen:
            groups.append((PART_TITLES[part], chosen))
    return groups
