"""The Statement of Applicability: every clause-7 item, for every home, with its status.

Applicability comes from the catalogue's ``when`` expression over ``home_context``; status
combines what the model declares (``controls:``) with what the findings show.
"""

from __future__ import annotations

from collections import defaultdict

from domosec.assessment import ControlAssessment, ControlState, Finding
from domosec.catalog.load import Catalogue, clause_sort_key
from domosec.catalog.types import Control
from domosec.engine.database import Database
from domosec.engine.software import SBOM_CONTROLS, sbom_evidence, sbom_partial_reason
from domosec.model.elements import ControlStatus, SystemModel

HOUSEHOLD_ROLES = frozenset({"user", "installer", "network_operator"})
"""Stakeholder roles a household can act through: itself, its installer, its internet provider."""


HOUSEHOLD_COMPOSITION = ("has_multiple_users", "has_guest_users")
"""``home_context`` columns about who lives in or visits the home: for a product, its users are sample personas."""

APPLICABILITY_CONTEXT = (
    "(select * replace ("
    + ", ".join(f"case when is_product then has_personal_data else {col} end as {col}" for col in HOUSEHOLD_COMPOSITION)
    + ") from home_context)"
)
"""``home_context`` as applicability reads it, for one home here and for a batch in the fleet engine."""

PRODUCT_COMPOSITION_REASON = (
    "The product handles no personal data and has no camera or microphone, so it does not affect the people of the homes it is sold to"
)


def applicability(db: Database, cat: Catalogue) -> dict[str, dict[str, bool]]:
    """``{home_id: {control_id: applicable}}``, from one query over ``home_context``.

    A product model's users are sample personas, not the household that will use it: a product that handles
    personal data is used by several people and their visitors in most homes it is sold to, so for a product
    the household-composition columns follow ``has_personal_data`` instead of the number of personas listed.
    """
    controls = sorted(cat.controls.values(), key=lambda c: clause_sort_key(c.id))
    columns = ", ".join(f"coalesce(({c.applicability.when}), false) as c{i}" for i, c in enumerate(controls))
    rows = db.query(f"select home_id, {columns} from {APPLICABILITY_CONTEXT}").records
    return {row["home_id"]: {c.id: bool(row[f"c{i}"]) for i, c in enumerate(controls)} for row in rows}


def _uses_composition(control: Control) -> bool:
    return any(col in control.applicability.when for col in HOUSEHOLD_COMPOSITION)


def statement_of_applicability(
    model: SystemModel,
    applicable: dict[str, bool],
    findings: list[Finding],
    cat: Catalogue,
    covered_risk_items: set[str],
) -> list[ControlAssessment]:
    home = model.system.id
    declared = {c.id: c for c in model.controls}
    linked: dict[str, list[str]] = defaultdict(list)
    asks: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        if f.home_id == home and f.is_open:
            for cid in f.controls:
                # An unverified finding neither shows a control missing nor contradicts one: it is a question to settle.
                if f.unverified is not None:
                    asks[cid].append(f"{f.asset.name or f.asset.id}: {f.unverified.question}")
                else:
                    linked[cid].append(f.id)
    sbom = sbom_evidence(model)
    sbom_reason = sbom_partial_reason(model) if sbom else ""
    out = []
    for control in sorted(cat.controls.values(), key=lambda c: clause_sort_key(c.id)):
        out.append(
            _assess_control(
                home,
                control,
                applicable.get(control.id, True),
                declared.get(control.id),
                sorted(set(linked[control.id])),
                cat,
                covered_risk_items,
                model.system.kind,
                unverified_questions=sorted(set(asks[control.id])),
                sbom=(sbom, sbom_reason) if control.id in SBOM_CONTROLS and sbom else None,
            )
        )
    return out


def _addressed(control: Control, kind: str, questions: list[str]) -> list[str]:
    """In a home, a question only the maker or provider can answer (secure boot, signing keys) says so."""
    if kind != "deployment" or set(control.responsible) & HOUSEHOLD_ROLES:
        return questions
    return [f"Ask the maker or service provider: {q}" for q in questions]


def _assess_control(
    home: str,
    control: Control,
    applies: bool,
    decl: ControlStatus | None,
    finding_ids: list[str],
    cat: Catalogue,
    covered: set[str],
    kind: str = "deployment",
    *,
    unverified_questions: list[str] | None = None,
    sbom: tuple[list[str], str] | None = None,
) -> ControlAssessment:
    """``sbom``: evidence lines of the gateways' and devices' SBOMs for an item they serve, and the reason an
    undeclared item without findings is then partial instead of unknown."""
    app = control.applicability
    reason = app.applies_because if applies else (app.not_applicable_because or "The model shows no element it applies to.")
    if kind == "product" and not applies:
        if _uses_composition(control):
            reason = PRODUCT_COMPOSITION_REASON + "."
        reason = f"{reason} (judged on the sample users and devices the product model lists)"
    evidence = [f"{e.kind}: {e.ref}" + (f" — {e.description}" if e.description else "") for e in decl.evidence] if decl else []
    evidence += sbom[0] if sbom else []
    n = len(finding_ids)
    status: ControlState
    questions: list[str] = []
    if decl is not None and decl.status == "not_applicable":
        if applies:
            status, why = "contradicted", f"Declared not applicable, but the model shows it applies: {app.applies_because}"
        else:
            status, why = "not_applicable", "Declared not applicable, and the model agrees."
    elif not applies and decl is None:
        status, why = "not_applicable", reason
    elif decl is not None and decl.status in ("implemented", "partial") and n:
        status, why = (
            "contradicted",
            f"Declared {decl.status}, but {n} open finding{'s' if n != 1 else ''} show{'' if n != 1 else 's'} gaps it should close.",
        )
    elif decl is not None and decl.status == "implemented":
        if evidence:
            status, why = (
                "implemented",
                f"Declared implemented with {len(evidence)} piece{'s' if len(evidence) != 1 else ''} of evidence, and no finding contradicts it.",
            )
        else:
            status, why = "declared_without_evidence", "Declared implemented, but no evidence is recorded."
            questions = list(control.assessor_questions)
    elif decl is not None:
        status = decl.status  # partial, planned or not_implemented
        why = f"Declared {decl.status.replace('_', ' ')}" + (f"; {n} open finding{'s' if n != 1 else ''} depend on it." if n else ".")
    elif n:
        status, why = (
            "not_implemented",
            f"Not declared, and {n} open finding{'s' if n != 1 else ''} show{'' if n != 1 else 's'} it is missing.",
        )
    else:
        status, why = (
            ("partial", sbom[1]) if sbom else ("unknown", "Not declared, and the model cannot show it: ask the assessor questions.")
        )
        questions = list(control.assessor_questions)
        questions += [
            cat.risk_sources[r].assessor_question for r in control.treats if r not in covered and cat.risk_sources[r].assessor_question
        ]
    return ControlAssessment(
        home_id=home,
        control_id=control.id,
        title=control.title,
        kind=control.kind,
        applicable=applies,
        applicability_reason=reason,
        declared=decl.status if decl else None,
        status=status,
        status_reason=why,
        evidence=evidence,
        findings=finding_ids,
        questions=_addressed(control, kind, questions) + (list(unverified_questions or []) if applies else []),
    )
