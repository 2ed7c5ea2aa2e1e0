"""The Assessment as a CSV risk register: one row per finding, worst first, for spreadsheets and trackers.

RFC 4180 CSV (comma, double quotes, CRLF), UTF-8 without a byte-order mark. List values are joined
with ``; ``. A text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is prefixed with an apostrophe, since model text is user input.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from domosec.assessment import Assessment, Finding

COLUMNS = (
    "finding_id",
    "key",
    "home_id",
    "home_name",
    "rule_id",
    "title",
    "dimension",
    "part",
    "risk_source",
    "risk_items",
    "asset_kind",
    "asset_id",
    "asset_name",
    "file",
    "line",
    "col",
    "reason",
    "inherent_likelihood",
    "inherent_impact",
    "inherent_score",
    "inherent_level",
    "factors",
    "residual_likelihood",
    "residual_impact",
    "residual_score",
    "residual_level",
    "treatment",
    "controls",
    "accepted_by",
    "accepted_until",
    "acceptance_reason",
    "ticket",
    "how_to_fix",
    "confidence",
    "question",
    "facts_to_state",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render_csv(assessment: Assessment) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(risk_register(assessment))
    return buffer.getvalue()


def risk_register(assessment: Assessment) -> Iterable[list[str | int]]:
    """The register's rows, worst inherent risk first, then by home, rule, asset and ID."""
    homes = {h.home_id: h.name for h in assessment.homes}
    fixes = {r.id: r.how_to_fix for r in assessment.rules}
    ordered = sorted(assessment.findings, key=lambda f: (-f.inherent.score, -f.residual.score, f.home_id, f.rule_id, f.asset.id, f.id))
    for f in ordered:
        yield _row(f, homes.get(f.home_id, ""), fixes.get(f.rule_id, ""))


def _row(f: Finding, home_name: str, how_to_fix: str) -> list[str | int]:
    a = f.acceptance
    return [
        f.id,
        _text(f.key),
        f.home_id,
        _text(home_name),
        f.rule_id,
        _text(f.title),
        f.dimension,
        f.part,
        f.risk_source,
        "; ".join(f.risk_items),
        f.asset.kind,
        _text(f.asset.id),
        _text(f.asset.name),
        _text(f.asset.file),
        "" if f.asset.line is None else f.asset.line,
        "" if f.asset.col is None else f.asset.col,
        _text(f.reason),
        f.inherent.likelihood,
        f.inherent.impact,
        f.inherent.score,
        f.inherent.level,
        "; ".join(f.factors),
        f.residual.likelihood,
        f.residual.impact,
        f.residual.score,
        f.residual.level,
        f.treatment,
        "; ".join(f.controls),
        _text(a.approver) if a else "",
        a.expires if a else "",
        _text(a.reason) if a else "",
        _text(a.ticket) if a else "",
        _text(how_to_fix.strip()),
        f.confidence,
        _text(f.unverified.question) if f.unverified else "",
        "; ".join(f.unverified.facts) if f.unverified else "",
    ]


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value
