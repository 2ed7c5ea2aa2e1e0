"""The domosec catalogue as an OSCAL catalog: clause 7 of ISO/IEC 27403 with its 45 items as controls.

Groups follow the clauses (7 → 7.1 principles, 7.2 security controls, 7.3 privacy controls). Each
control has a ``statement`` (the item's intent), ``guidance`` (when it applies), an
``assessment-objective`` per evidence item and an ``assessment-method`` (INTERVIEW) with the
assessor's questions; its properties give the label, responsible stakeholders, life-cycle stages,
the risk sources it treats and the cross-maps to other frameworks. The text is domosec's own
wording; the back matter cites the standard.
"""

from __future__ import annotations

from typing import Any

import orjson

from domosec.catalog.load import Catalogue, clause_sort_key
from domosec.catalog.types import Clause, Control
from domosec.report.oscal.common import (
    STANDARD,
    control_id,
    line,
    metadata,
    multiline,
    prop,
    props,
    stable_uuid,
    statement_id,
    with_list,
)

CLASSES = {"principle": "principle", "security_control": "security-control", "privacy_control": "privacy-control"}


def render_catalog(catalogue: Catalogue, *, as_of: str) -> str:
    """OSCAL catalog JSON; ``as_of`` (an ISO date) gives ``last-modified``, so the output is deterministic."""
    return orjson.dumps({"catalog": catalog(catalogue, as_of=as_of)}, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def catalog(catalogue: Catalogue, *, as_of: str) -> dict[str, Any]:
    std = catalogue.standard
    citation = stable_uuid("standard", std.id, str(std.edition))
    meta = metadata(
        f"{STANDARD} {std.title}: principles and controls (domosec catalogue)",
        as_of,
        std.catalogue_version,
        props(prop("standard", STANDARD), prop("catalogue-version", std.catalogue_version)),
        remarks=std.note.strip(),
    )
    top = catalogue.clauses["7"]
    return {
        "uuid": stable_uuid("catalog", std.id, std.catalogue_version),
        "metadata": meta,
        "groups": [
            {
                "id": control_id(top.id),
                "class": "clause",
                "title": line(f"{top.id} {top.title}"),
                "parts": [{"id": control_id(top.id) + "_ovw", "name": "overview", "prose": multiline(top.summary)}],
                "groups": [_group(catalogue, clause, citation) for clause in catalogue.children(top.id) if catalogue.children(clause.id)],
            }
        ],
        "back-matter": {
            "resources": [
                {
                    "uuid": citation,
                    "title": f"{STANDARD} {std.title}",
                    "citation": {"text": f"{STANDARD}, {std.title}, edition {std.edition}, published {std.published}."},
                }
            ]
        },
    }


def _group(catalogue: Catalogue, clause: Clause, citation: str) -> dict[str, Any]:
    items = sorted((catalogue.controls[c.id] for c in catalogue.children(clause.id) if c.id in catalogue.controls), key=_order)
    group: dict[str, Any] = {
        "id": control_id(clause.id),
        "class": "clause",
        "title": line(f"{clause.id} {clause.title}"),
        "parts": [{"id": control_id(clause.id) + "_ovw", "name": "overview", "prose": multiline(clause.summary)}],
    }
    return with_list(group, "controls", [_control(c, citation) for c in items])


def _order(control: Control) -> tuple[Any, ...]:
    return clause_sort_key(control.id)


def _control(c: Control, citation: str) -> dict[str, Any]:
    cid = control_id(c.id)
    cross = [prop(ref.framework, item, cls=ref.provenance) for ref in c.cross_map for item in ref.ids]
    guidance = c.applicability.applies_because
    if c.applicability.when.strip() != "true":
        guidance += f"\n\nApplies when: `{c.applicability.when}`. Otherwise: {c.applicability.not_applicable_because}"
    return {
        "id": cid,
        "class": CLASSES[c.kind],
        "title": line(c.title),
        "props": props(
            prop("label", c.id, ns=None),
            prop("sort-id", ".".join(f"{int(p):02d}" for p in c.id.split(".")), ns=None),
            *(prop("responsible", role) for role in c.responsible),
            *(prop("lifecycle-stage", stage) for stage in c.lifecycle),
            *(prop("entity", entity) for entity in c.entities),
            *(prop("treats-risk-source", rs) for rs in c.treats),
            *cross,
        ),
        "links": [{"href": f"#{citation}", "rel": "reference"}],
        "parts": [
            {"id": statement_id(c.id), "name": "statement", "prose": multiline(c.intent)},
            {"id": f"{cid}_gdn", "name": "guidance", "prose": multiline(guidance)},
            {
                "id": f"{cid}_obj",
                "name": "assessment-objective",
                "parts": [
                    {"id": f"{cid}_obj.{i}", "name": "assessment-objective", "prose": multiline(text)}
                    for i, text in enumerate(c.evidence, 1)
                ],
            },
            {
                "id": f"{cid}_asm-interview",
                "name": "assessment-method",
                "props": [{"name": "method", "value": "INTERVIEW"}],
                "parts": [{"name": "assessment-objects", "prose": "\n".join(f"- {q}" for q in c.assessor_questions)}],
            },
        ],
    }
