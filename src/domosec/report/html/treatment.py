"""The treatment plan: controls to put in place (by the open risk they would treat), planned treatments, accepted risks."""

from __future__ import annotations

from dataclasses import dataclass

from domosec.assessment import LEVELS, Assessment, ControlAssessment, Finding, LevelName


@dataclass(frozen=True)
class ControlStep:
    control: ControlAssessment
    findings: int
    worst: LevelName
    worst_score: int


@dataclass(frozen=True)
class TreatmentPlan:
    steps: list[ControlStep]
    planned: list[Finding]
    accepted: list[Finding]


def treatment_plan(assessment: Assessment) -> TreatmentPlan:
    by_id = {f.id: f for f in assessment.findings}
    steps = []
    for c in assessment.controls:
        treated = [by_id[i] for i in c.findings if i in by_id and by_id[i].is_open]
        if not treated or c.status == "implemented":
            continue
        worst = max(treated, key=lambda f: (f.residual.score, LEVELS.index(f.residual.level)))
        steps.append(ControlStep(c, len(treated), worst.residual.level, worst.residual.score))
    steps.sort(key=lambda s: (-s.worst_score, -s.findings, s.control.home_id, _clause_key(s.control.control_id)))
    planned = [f for f in assessment.findings if f.treatment == "treatment_planned"]
    accepted = [f for f in assessment.findings if f.acceptance is not None]
    return TreatmentPlan(steps, planned, accepted)


def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in clause.split("."))
