"""Views of the catalogue for people: tables to list, Markdown pages to show, search."""

from __future__ import annotations

from rich.table import Table

from domosec.catalog.load import Catalogue, clause_sort_key, load_catalogue
from domosec.catalog.types import Control, DataCategory, DeviceType, RiskSource
from domosec.errors import did_you_mean


def list_rows(kind: str, clause: str | None = None, cat: Catalogue | None = None) -> Table:
    cat = cat or load_catalogue()

    def under(item_clause: str) -> bool:
        return clause is None or item_clause == clause or item_clause.startswith(clause + ".")

    if kind == "clauses":
        table = _table("ID", "Title", "Kind")
        for c in sorted(cat.clauses.values(), key=lambda c: clause_sort_key(c.id)):
            if under(c.id):
                table.add_row(c.id, c.title, c.kind.replace("_", " "))
    elif kind == "controls":
        table = _table("ID", "Title", "Treats", "Applies when")
        for ctl in sorted(cat.controls.values(), key=lambda c: clause_sort_key(c.id)):
            if under(ctl.id):
                table.add_row(ctl.id, ctl.title, str(len(ctl.treats)), ctl.applicability.when)
    elif kind == "risk-sources":
        table = _table("ID", "Clause", "Title", "Classes")
        for rs in sorted(cat.risk_sources.values(), key=lambda r: (clause_sort_key(r.clause), r.id)):
            if under(rs.clause):
                table.add_row(rs.id, rs.clause, rs.title, ", ".join(rs.stride + rs.linddun))
    elif kind == "device-types":
        table = _table("ID", "Title", "Tier", "Examples")
        for dt in cat.device_types.values():
            table.add_row(dt.id, dt.title, dt.tier, ", ".join(dt.examples[:4]))
    elif kind == "data-categories":
        table = _table("ID", "Title", "Sensitivity")
        for dc in cat.data_categories.values():
            table.add_row(dc.id, dc.title, dc.sensitivity)
    elif kind == "roles":
        table = _table("ID", "Title", "Kind")
        for r in sorted(cat.roles.values(), key=lambda r: (r.kind, r.id)):
            table.add_row(r.id, r.title, r.kind)
    else:
        table = _table("ID", "Title", "View", "Order")
        for s in sorted(cat.lifecycle_stages.values(), key=lambda s: (s.view, s.order)):
            table.add_row(s.id, s.title, s.view, str(s.order))
    return table


def _table(*headers: str) -> Table:
    table = Table(show_lines=False, header_style="bold")
    for h in headers:
        table.add_column(h, overflow="fold")
    return table


def show_item(item_id: str, cat: Catalogue | None = None) -> str | None:
    """A Markdown page for one item, or None when there is no such item."""
    cat = cat or load_catalogue()
    if item_id in cat.controls:
        return _control_page(cat.controls[item_id], cat)
    if item_id in cat.risk_sources:
        return _risk_page(cat.risk_sources[item_id], cat)
    if item_id in cat.device_types:
        return _device_page(cat.device_types[item_id], cat)
    if item_id in cat.data_categories:
        return _data_page(cat.data_categories[item_id])
    if item_id in cat.clauses:
        c = cat.clauses[item_id]
        lines = [f"# {c.id} {c.title}", "", c.summary, ""]
        kids = cat.children(c.id)
        if kids:
            lines += ["## Contents", *[f"- {k.id} {k.title}" for k in kids], ""]
        sources = cat.risk_sources_of(c.id)
        if sources:
            lines += ["## Risk sources", *[f"- **{r.id}** {r.title}" for r in sources], ""]
        return "\n".join(lines)
    item = cat.item(item_id)
    if item is not None:
        title = getattr(item, "title", "")
        description = getattr(item, "description", "")
        return f"# {item_id} {title}\n\n{description}\n"
    return None


def suggest(item_id: str, cat: Catalogue | None = None) -> str:
    cat = cat or load_catalogue()
    ids: set[str] = set()
    for table in cat.tables():
        ids.update(k for k in table if ":" not in k)
    hint = did_you_mean(item_id, ids)
    return f"; {hint}" if hint else ""


def _control_page(c: Control, cat: Catalogue) -> str:
    lines = [f"# {c.id} {c.title}", "", f"*{c.kind.replace('_', ' ')}*", "", "## Intent", c.intent, "", "## Evidence an assessor checks"]
    lines += [f"- {e}" for e in c.evidence]
    lines += ["", "## Applies", f"- when: `{c.applicability.when}`", f"- {c.applicability.applies_because}"]
    if c.applicability.not_applicable_because:
        lines.append(f"- otherwise: {c.applicability.not_applicable_because}")
    lines += ["", "## Treats"]
    lines += [f"- **{rs}** {cat.risk_sources[rs].title}" for rs in c.treats] or [f"- none: {c.treats_none_reason}"]
    lines += [
        "",
        "## Responsibility and life cycle",
        f"- responsible: {', '.join(c.responsible)}",
        f"- stages: {', '.join(c.lifecycle)}",
        f"- entities: {', '.join(c.entities)}",
    ]
    lines += ["", "## Assessor questions", *[f"- {q}" for q in c.assessor_questions]]
    if c.cross_map:
        lines += ["", "## Cross-map"]
        lines += [f"- {ref.framework}: {', '.join(ref.ids)} ({ref.provenance})" for ref in c.cross_map]
    return "\n".join(lines) + "\n"


def _risk_page(r: RiskSource, cat: Catalogue) -> str:
    lines = [f"# {r.id} {r.title}", "", f"*{r.dimension} risk source of {r.clause} {cat.clauses[r.clause].title}*", "", r.description, ""]
    classes = ", ".join(r.stride + r.linddun)
    lines += [f"- classes: {classes}", f"- entity: {r.entity}", f"- provenance: {r.provenance}"]
    if r.safety_relevant:
        lines.append("- safety relevant")
    if r.assessor_question:
        lines += ["", "## Assessor question", r.assessor_question]
    lines += ["", "## Treated by", *[f"- **{c.id}** {c.title}" for c in cat.controls_treating(r.id)]]
    return "\n".join(lines) + "\n"


def _device_page(d: DeviceType, cat: Catalogue) -> str:
    lines = [f"# {d.id} {d.title}", "", d.description, "", f"- tier: {d.tier}", f"- examples: {', '.join(d.examples)}"]
    if d.typical_data:
        lines.append(f"- typical data: {', '.join(d.typical_data)}")
    lines += ["", "## Measures"]
    lines += [f"- **{m.control}** {cat.controls[m.control].title}: {m.measure}" for m in d.measures]
    return "\n".join(lines) + "\n"


def _data_page(d: DataCategory) -> str:
    return f"# {d.id} {d.title}\n\n{d.description}\n\n- sensitivity: {d.sensitivity}\n- personal: {'yes' if d.personal else 'no'}\n"


def search_rows(text: str, cat: Catalogue | None = None) -> Table:
    cat = cat or load_catalogue()
    words = [w.lower() for w in text.split() if w]
    table = _table("ID", "Kind", "Title")
    for table_items in cat.tables():
        for key, item in table_items.items():
            # A clause-7 item is also a clause heading; the item, listed first, says more.
            if ":" in key or (table_items is cat.clauses and key in cat.controls):
                continue
            blob = " ".join(str(v) for v in item.model_dump().values()).lower()
            if all(w in blob for w in words):
                table.add_row(key, type(item).__name__, str(getattr(item, "title", "")))
    return table
