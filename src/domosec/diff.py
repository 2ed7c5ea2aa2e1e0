"""Compare two assessments: new, resolved and changed findings, and clause-7 status changes.

Findings are matched by their stable ID (rule, home, asset and detail), so moving an element in the
model file or rewording a device name changes nothing here. A finding is *changed* when its inherent
level, residual level or treatment differs. The result is a plain, versioned, JSON-serialisable
document that the renderers in :mod:`domosec.report.diff` format; CI gates on :func:`new_at_or_above`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domosec.assessment import LEVELS, Assessment, ControlState, Finding, Rating, Treatment
from domosec.errors import Diagnostic

DIFF_VERSION = "1"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Side(_Out):
    """One of the two assessments compared."""

    source: str = Field(description="The file it was read from, or assessed from.")
    as_of: str
    tool_version: str
    catalogue_version: str
    homes: list[str]
    findings: int
    open: int


class FindingState(_Out):
    inherent: Rating
    residual: Rating
    treatment: Treatment


class FindingChange(_Out):
    """A finding present in both assessments whose level or treatment differs."""

    id: str
    key: str
    rule_id: str
    title: str
    home_id: str
    asset_id: str
    reason: str = Field(description="The reason as the new assessment gives it.")
    changes: list[str] = Field(description="What changed: inherent level, residual level, treatment.")
    before: FindingState
    after: FindingState


class ControlChange(_Out):
    """A clause-7 item of a home present in both assessments whose status or applicability differs."""

    home_id: str
    control_id: str
    title: str
    before: ControlState
    after: ControlState
    applicable_before: bool
    applicable_after: bool
    reason: str = Field(description="The status reason as the new assessment gives it.")


class DiffSummary(_Out):
    new: int
    resolved: int
    changed: int
    unchanged: int
    controls_changed: int
    new_by_level: dict[str, int] = Field(description="New open findings by inherent level.")


class AssessmentDiff(_Out):
    version: str = DIFF_VERSION
    old: Side
    new: Side
    new_findings: list[Finding]
    resolved: list[Finding]
    changed: list[FindingChange]
    control_changes: list[ControlChange]
    rules_added: list[str]
    rules_removed: list[str]
    homes_added: list[str]
    homes_removed: list[str]
    summary: DiffSummary


def diff_assessments(old: Assessment, new: Assessment, *, old_source: str = "", new_source: str = "") -> AssessmentDiff:
    before = {f.id: f for f in old.findings}
    after = {f.id: f for f in new.findings}
    added = sorted((f for i, f in after.items() if i not in before), key=_worst_first)
    gone = sorted((f for i, f in before.items() if i not in after), key=_worst_first)
    changed = [change for i in sorted(before.keys() & after.keys()) if (change := _change(before[i], after[i])) is not None]
    changed.sort(key=lambda c: (-c.after.inherent.score, c.home_id, c.rule_id, c.asset_id, c.id))
    old_controls = {(c.home_id, c.control_id): c for c in old.controls}
    control_changes = []
    for c in new.controls:
        was = old_controls.get((c.home_id, c.control_id))
        if was is not None and (was.status != c.status or was.applicable != c.applicable):
            control_changes.append(
                ControlChange(
                    home_id=c.home_id,
                    control_id=c.control_id,
                    title=c.title,
                    before=was.status,
                    after=c.status,
                    applicable_before=was.applicable,
                    applicable_after=c.applicable,
                    reason=c.status_reason,
                )
            )
    old_rules, new_rules = {r.id for r in old.rules}, {r.id for r in new.rules}
    old_homes, new_homes = {h.home_id for h in old.homes}, {h.home_id for h in new.homes}
    return AssessmentDiff(
        old=_side(old, old_source),
        new=_side(new, new_source),
        new_findings=added,
        resolved=gone,
        changed=changed,
        control_changes=control_changes,
        rules_added=sorted(new_rules - old_rules),
        rules_removed=sorted(old_rules - new_rules),
        homes_added=sorted(new_homes - old_homes),
        homes_removed=sorted(old_homes - new_homes),
        summary=DiffSummary(
            new=len(added),
            resolved=len(gone),
            changed=len(changed),
            unchanged=len(before.keys() & after.keys()) - len(changed),
            controls_changed=len(control_changes),
            new_by_level={lvl: sum(1 for f in added if f.is_open and f.inherent.level == lvl) for lvl in LEVELS},
        ),
    )


def comparability_warnings(old: Assessment, new: Assessment, *, old_source: str = "", new_source: str = "") -> list[Diagnostic]:
    """Why the two assessments may differ for reasons other than the homes: a different catalogue version.

    The catalogue maps rules to risk sources and clause-7 items and says which items apply; when it
    changed, findings and control statuses may change although the homes did not. The diff is still
    made (a baseline from before an upgrade is the common case); these warnings say so.
    """
    if old.catalogue_version == new.catalogue_version:
        return []
    message = (
        f"the assessments were made with different catalogue versions ({old.catalogue_version} in {old_source or 'the old one'}, "
        f"{new.catalogue_version} in {new_source or 'the new one'}): some changes may come from the catalogue, not the homes"
    )
    hint = "assess both with the same domosec for a like-for-like diff"
    return [Diagnostic(new_source or "<assessment>", None, None, "catalogue-mismatch", message, severity="warning", hint=hint)]


def new_at_or_above(diff: AssessmentDiff, level: str) -> list[Finding]:
    """New findings, still open, whose inherent level is ``level`` or worse: what a change introduced."""
    names: tuple[str, ...] = LEVELS
    floor = names.index(level)
    return [f for f in diff.new_findings if f.is_open and names.index(f.inherent.level) >= floor]


def _side(a: Assessment, source: str) -> Side:
    return Side(
        source=source,
        as_of=a.as_of,
        tool_version=a.tool_version,
        catalogue_version=a.catalogue_version,
        homes=[h.home_id for h in a.homes],
        findings=a.summary.findings,
        open=a.summary.open,
    )


def _change(old: Finding, new: Finding) -> FindingChange | None:
    changes = []
    if old.inherent.level != new.inherent.level:
        changes.append("inherent level")
    if old.residual.level != new.residual.level:
        changes.append("residual level")
    if old.treatment != new.treatment:
        changes.append("treatment")
    if not changes:
        return None
    return FindingChange(
        id=new.id,
        key=new.key,
        rule_id=new.rule_id,
        title=new.title,
        home_id=new.home_id,
        asset_id=new.asset.id,
        reason=new.reason,
        changes=changes,
        before=FindingState(inherent=old.inherent, residual=old.residual, treatment=old.treatment),
        after=FindingState(inherent=new.inherent, residual=new.residual, treatment=new.treatment),
    )


def _worst_first(f: Finding) -> tuple[int, str, str, str, str]:
    return (-f.inherent.score, f.home_id, f.rule_id, f.asset.id, f.id)
