"""Which findings to show: ``--severity`` (at or above a level), ``--select`` and ``--ignore``.

A selector names a rule (``DEV-S01``) or a prefix of rule IDs (``DEV-S``, ``DEV``), a risk-source clause
(``6.2.3``, or ``6.2`` for all its sub-clauses), a control (``7.1.6``) or a risk item (``R-S-DV-09``).
``--select`` keeps the findings any selector matches; ``--ignore`` then drops those any of its selectors
matches; ``--severity`` keeps those whose inherent level is at or above the level. The summary is counted
again from the findings kept, so every count printed matches what is listed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from domosec.assessment import LEVELS, Assessment, Finding

_CLAUSE = re.compile(r"\d+(\.\d+)*")


@dataclass(frozen=True)
class Selection:
    severity: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return self.severity in (None, "info", "none") and not self.select and not self.ignore


def parse_selectors(values: Sequence[str] | None) -> tuple[str, ...]:
    """``--select A,B --select C`` → ``("A", "B", "C")``: commas and repeats both work, blanks are dropped."""
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


def matches(f: Finding, selector: str) -> bool:
    """Whether ``selector`` names the finding's rule (or a prefix of it), clause, a control or a risk item."""
    if _CLAUSE.fullmatch(selector):
        under = selector + "."
        return f.risk_source == selector or f.risk_source.startswith(under) or any(c == selector or c.startswith(under) for c in f.controls)
    upper = selector.upper()
    return f.rule_id.upper().startswith(upper) or upper in (r.upper() for r in f.risk_items)


def keeps(f: Finding, selection: Selection) -> bool:
    if selection.select and not any(matches(f, s) for s in selection.select):
        return False
    if any(matches(f, s) for s in selection.ignore):
        return False
    if selection.severity not in (None, "none"):
        return LEVELS.index(f.inherent.level) >= LEVELS.index(selection.severity)
    return True


def select_findings(assessment: Assessment, selection: Selection) -> Assessment:
    """``assessment`` with only the findings ``selection`` keeps, and the summary counted from them."""
    if selection.everything:
        return assessment
    return with_findings(assessment, [f for f in assessment.findings if keeps(f, selection)])


def with_findings(assessment: Assessment, kept: list[Finding]) -> Assessment:
    """``assessment`` with only the findings ``kept`` (a subset of its own), its summary counted from them."""
    open_findings = [f for f in kept if f.is_open]
    counts: dict[str, object] = {
        "findings": len(kept),
        "open": len(open_findings),
        "accepted": len(kept) - len(open_findings),
        "by_level": {lvl: sum(1 for f in open_findings if f.inherent.level == lvl) for lvl in LEVELS},
        "by_level_residual": {lvl: sum(1 for f in open_findings if f.residual.level == lvl) for lvl in LEVELS},
        "by_part": dict(sorted(Counter(f.part for f in open_findings).items())),
    }
    if "unverified" in type(assessment.summary).model_fields:
        counts["unverified"] = sum(1 for f in open_findings if getattr(f, "confidence", "confirmed") == "unverified")
    summary = assessment.summary.model_copy(update=counts)
    return assessment.model_copy(update={"findings": kept, "summary": summary})


def unknown_selectors(assessment: Assessment, selection: Selection) -> list[str]:
    """The selectors of ``selection`` that name no rule, rule prefix, clause, control or risk item of ``assessment``
    (a typo there would silently show nothing, or hide nothing)."""
    rule_ids = [r.id.upper() for r in assessment.rules]
    clauses = {r.risk_source for r in assessment.rules}
    controls = {c.control_id for c in assessment.controls} | {c for r in assessment.rules for c in r.controls}
    items = {i.upper() for r in assessment.rules for i in r.risk_items}

    def known(selector: str) -> bool:
        if _CLAUSE.fullmatch(selector):
            under = selector + "."
            return any(x == selector or x.startswith(under) for x in clauses | controls)
        upper = selector.upper()
        return upper in items or any(r.startswith(upper) for r in rule_ids)

    return [s for s in (*selection.select, *selection.ignore) if not known(s)]
