"""VEX documents given beside an SBOM: OpenVEX (0.0.x and 0.2) JSON, or a CycloneDX VEX (a BOM of vulnerabilities)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domosec.errors import Diagnostic, InputError
from domosec.evidence.sbom.components import VexStatement
from domosec.model.source import read_bounded

OPENVEX_STATES = frozenset({"not_affected", "affected", "fixed", "under_investigation"})


def read_vex(path: Path, *, max_bytes: int = 16 * 1024 * 1024) -> list[VexStatement]:
    """The statements of the VEX document at ``path``."""
    name = str(path)
    data = read_bounded(path, max_bytes, name=name, what="a VEX document")
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InputError([Diagnostic(name, None, None, "vex-invalid", f"not valid JSON: {exc}")]) from None
    if isinstance(raw, dict) and raw.get("bomFormat") == "CycloneDX":
        from domosec.evidence.sbom.reader import read_sbom

        return read_sbom(path, max_bytes=max_bytes).vex
    if not isinstance(raw, dict) or "openvex" not in str(raw.get("@context", "")) or not isinstance(raw.get("statements"), list):
        raise InputError([Diagnostic(name, None, None, "vex-invalid", "neither an OpenVEX document nor a CycloneDX VEX")])
    out: list[VexStatement] = []
    for i, st in enumerate(raw["statements"]):
        if not isinstance(st, dict) or st.get("status") not in OPENVEX_STATES:
            raise InputError([Diagnostic(name, None, None, "vex-invalid", f"statements[{i}]: no status of {sorted(OPENVEX_STATES)}")])
        vuln = st.get("vulnerability")
        vid = str(vuln.get("name", "")) if isinstance(vuln, dict) else str(vuln or "")
        why = "; ".join(str(x) for x in (st.get("justification"), st.get("impact_statement")) if x)
        for product in _products(st):
            out.append(VexStatement(vid, product, str(st["status"]), why))
    return sorted(out, key=lambda v: (v.vulnerability, v.component))


def _products(statement: dict[str, Any]) -> list[str]:
    """A statement's subcomponent purls; ``*`` (every component of the asset) when it names none.

    The VEX file is given for one asset (``--vex`` beside ``--asset``), so a statement about the product
    as a whole applies to each of its components."""
    names: list[str] = []
    for product in statement.get("products") or []:
        if isinstance(product, str):
            names.append("*")
        elif isinstance(product, dict):
            names.extend(str(s.get("@id")) for s in product.get("subcomponents") or [] if isinstance(s, dict) and s.get("@id"))
            if not product.get("subcomponents"):
                names.append("*")
    return names or ["*"]
