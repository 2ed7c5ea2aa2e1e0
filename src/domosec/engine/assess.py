"""Assess models: normalise, run every rule, rate, treat, and build the Statement of Applicability."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable
from typing import Any

from domosec import __version__
from domosec.assessment import LEVELS, Acceptance, Assessment, Asset, Finding, Home, Rating, RuleInfo, Summary, Treatment, Unverified
from domosec.catalog.load import Catalogue, load_catalogue
from domosec.engine import inventory
from domosec.engine.database import Database
from domosec.engine.rule import UNVERIFIED_LIKELIHOOD_DROP
from domosec.engine.rulerun import RawFinding, run_rules
from domosec.engine.ruleset import LoadedRule
from domosec.engine.scoring import Matrix, rate_finding
from domosec.engine.soa import applicability, statement_of_applicability
from domosec.engine.software import software as software_inventory
from domosec.errors import Diagnostic, InputError
from domosec.model.elements import SystemModel
from domosec.model.load import LoadedModel
from domosec.model.normalise import normalise_rows

CONTEXT_COLUMNS = ("is_safety_actuator", "in_private_zone", "is_internet_exposed", "handles_sensitive_data")


def finding_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def assess(
    models: list[LoadedModel],
    rules: list[LoadedRule],
    *,
    matrix: Matrix | None = None,
    as_of: dt.date | None = None,
    catalogue: Catalogue | None = None,
    keep: Callable[[Database], None] | None = None,
) -> Assessment:
    """Assess one or more homes. ``as_of`` (default today) is the date support periods and acceptances are judged on.

    ``keep``: a one-shot command that leaves without tearing the process down takes the database
    instead of it being closed (closing frees it piece by piece, ~8 ms for a home; :mod:`domosec.cli.process`).
    """
    cat = catalogue or load_catalogue()
    matrix = matrix or Matrix()
    as_of = as_of or dt.date.today()
    _check_unique_homes(models)
    by_home = {m.model.system.id: m for m in models}
    trusted = all(lr.builtin for lr in rules)
    db = Database(normalise_rows([(m.model, m.file) for m in models], cat), as_of=as_of, trusted_queries=trusted)
    try:
        raw = run_rules(db, rules)
        context = _asset_context(db)
        vulnerable = {
            r["home_id"]: bool(r["has_vulnerable_users"])
            for r in db.query("select home_id, has_vulnerable_users from home_context").records
        }
        applicable = applicability(db, cat)
    finally:
        if keep is None:
            db.close()
        else:
            keep(db)
    locations = {h: m.element_locations() for h, m in by_home.items()}
    names = {h: _names(m.model) for h, m in by_home.items()}
    findings = sorted(
        (
            _finding(
                r,
                by_home[r.home_id].model,
                matrix,
                as_of,
                context,
                vulnerable,
                locations[r.home_id],
                names[r.home_id],
                by_home[r.home_id].file,
            )
            for r in raw
        ),
        key=lambda f: (f.home_id, -f.inherent.score, f.rule_id, f.asset.id, f.id),
    )
    covered = {item for lr in rules for item in lr.rule.risk_items}
    controls = [
        c for h, m in sorted(by_home.items()) for c in statement_of_applicability(m.model, applicable.get(h, {}), findings, cat, covered)
    ]
    return Assessment(
        tool_version=__version__,
        catalogue_version=cat.standard.catalogue_version,
        as_of=as_of.isoformat(),
        matrix=matrix.model_dump(mode="json"),
        homes=[
            Home(
                home_id=h,
                name=m.model.system.name,
                kind=m.model.system.kind,
                file=m.file,
                elements=inventory.elements(m.model),
                flows=inventory.flows(m.model),
                software=software_inventory(m.model),
            )
            for h, m in sorted(by_home.items())
        ],
        data_categories=inventory.data_categories([m.model for m in models], cat),
        rules=[_rule_info(lr) for lr in rules],
        findings=findings,
        controls=controls,
        summary=_summary(len(by_home), findings, controls),
    )


def _check_unique_homes(models: list[LoadedModel]) -> None:
    seen: dict[str, str] = {}
    problems = []
    for m in models:
        h = m.model.system.id
        if h in seen:
            pos = m.source.position(("system", "id"))
            message = f"system.id '{h}' is also used by {seen[h]}; each model needs its own system.id"
            problems.append(Diagnostic.at(m.file, pos, "duplicate-home", message))
        seen[h] = m.file
    if problems:
        raise InputError(problems)


def _asset_context(db: Database) -> dict[tuple[str, str], dict[str, bool]]:
    rows = db.query(f"select home_id, asset_id, {', '.join(CONTEXT_COLUMNS)} from asset_context").records
    return {(r["home_id"], r["asset_id"]): {c: bool(r[c]) for c in CONTEXT_COLUMNS} for r in rows}


def _names(model: SystemModel) -> dict[str, str]:
    names: dict[str, str] = {model.system.id: model.system.name}
    for section in (model.users, model.zones, model.networks, model.gateways, model.devices, model.services):
        for item in section:
            names[item.id] = item.name
    return names


def _finding(
    r: RawFinding,
    model: SystemModel,
    matrix: Matrix,
    as_of: dt.date,
    context: dict[tuple[str, str], dict[str, bool]],
    vulnerable: dict[str, bool],
    locations: dict[str, tuple[int, int]],
    names: dict[str, str],
    file: str,
) -> Finding:
    rule = r.rule.rule
    ctx = context.get((r.home_id, r.asset_id), {})
    factors = {
        "safety_actuator": ctx.get("is_safety_actuator", False),
        "private_zone": ctx.get("in_private_zone", False),
        "internet_exposure": ctx.get("is_internet_exposed", False),
        "sensitive_data": ctx.get("handles_sensitive_data", False),
        "vulnerable_users": vulnerable.get(r.home_id, False),
    }
    inherent, applied, rating_reason = rate_finding(
        matrix,
        dimension=rule.dimension,
        likelihood=rule.likelihood,
        impact=rule.impact,
        likelihood_adjust=r.likelihood_adjust,
        impact_adjust=r.impact_adjust,
        context=factors,
        unverified_drop=0 if r.verified else UNVERIFIED_LIKELIHOOD_DROP,
    )
    unverified = None
    if not r.verified and rule.unverified is not None:
        unverified = Unverified(question=rule.unverified.question.strip(), facts=list(rule.unverified.facts))
    key = "@".join(p for p in (rule.id, r.home_id, r.asset_id, r.detail_key) if p)
    treatment, acceptance, residual = _treat(rule.id, r.asset_id, rule.mitigated_by, model, inherent, matrix, as_of)
    line, col = locations.get(r.asset_id, (None, None))
    return Finding(
        id=finding_id(key),
        key=key,
        rule_id=rule.id,
        title=rule.title,
        home_id=r.home_id,
        asset=Asset(kind=r.asset_kind, id=r.asset_id, name=names.get(r.asset_id, ""), file=file, line=line, col=col),
        reason=r.reason,
        explain=r.explain,
        dimension=rule.dimension,
        part=rule.part,
        risk_source=rule.risk_source,
        risk_items=list(rule.risk_items),
        controls=list(rule.mitigated_by),
        inherent=inherent,
        factors=applied,
        rating_reason=rating_reason,
        residual=residual,
        treatment=treatment,
        acceptance=acceptance,
        confidence="confirmed" if unverified is None else "unverified",
        unverified=unverified,
    )


def _treat(
    rule_id: str,
    asset_id: str,
    controls: tuple[str, ...],
    model: SystemModel,
    inherent: Rating,
    matrix: Matrix,
    as_of: dt.date,
) -> tuple[Treatment, Acceptance | None, Rating]:
    for ar in sorted(model.accepted_risks, key=lambda a: (a.asset == "*", a.expires)):
        if ar.rule == rule_id and ar.asset in ("*", asset_id):
            expired = ar.expires < as_of
            acceptance = Acceptance(
                reason=ar.reason, approver=ar.approver, expires=ar.expires.isoformat(), ticket=ar.ticket, expired=expired
            )
            return ("acceptance_expired" if expired else "accepted"), acceptance, inherent
    declared = {c.id: c.status for c in model.controls}
    # Only a planned control is a treatment still to come; a partial one is in place and the finding shows its gap.
    reduction = min(2, sum(1 for c in controls if declared.get(c) == "planned"))
    if reduction:
        return "treatment_planned", None, matrix.rate(inherent.likelihood - reduction, inherent.impact)
    return "open", None, inherent


def _rule_info(lr: LoadedRule) -> RuleInfo:
    r = lr.rule
    return RuleInfo(
        id=r.id,
        name=r.name,
        title=r.title,
        summary=r.summary,
        dimension=r.dimension,
        part=r.part,
        risk_source=r.risk_source,
        risk_items=list(r.risk_items),
        controls=list(r.mitigated_by),
        likelihood=r.likelihood,
        impact=r.impact,
        how_to_fix=r.how_to_fix.strip(),
        why_it_matters=r.why_it_matters.strip(),
        cross_map={k: list(v) for k, v in sorted(r.cross_map.items())},
        builtin=lr.builtin,
    )


def _summary(homes: int, findings: list[Finding], controls: list[Any]) -> Summary:
    open_findings = [f for f in findings if f.is_open]
    return Summary(
        homes=homes,
        findings=len(findings),
        open=len(open_findings),
        accepted=len(findings) - len(open_findings),
        unverified=sum(1 for f in open_findings if f.is_unverified),
        by_level={lvl: sum(1 for f in open_findings if f.inherent.level == lvl) for lvl in LEVELS},
        by_level_residual={lvl: sum(1 for f in open_findings if f.residual.level == lvl) for lvl in LEVELS},
        by_part=dict(sorted(Counter(f.part for f in open_findings).items())),
        controls_by_status=dict(sorted(Counter(c.status for c in controls).items())),
    )
