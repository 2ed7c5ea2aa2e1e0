"""A rule's documentation page, from its fields (the same text feeds the CLI, docs and reports)."""

from __future__ import annotations

from domosec.catalog.load import load_catalogue
from domosec.engine.ruleset import LoadedRule


def rule_page(lr: LoadedRule) -> str:
    r = lr.rule
    cat = load_catalogue()
    classes = ", ".join(c.replace("_", " ") for c in (*r.stride, *r.linddun))
    lines = [
        f"# {r.id} {r.name}",
        "",
        f"**{r.title}**",
        "",
        f"{r.status.capitalize()} since {r.since} · risk source {r.risk_source} {cat.clauses[r.risk_source].title} · {r.dimension} · {classes}",
        f"· base likelihood {r.likelihood}, impact {r.impact}",
        "",
        "## What it finds",
        r.summary,
        "",
        "## Why it matters in a home",
        r.why_it_matters.strip(),
        "",
        "## How to fix",
        r.how_to_fix.strip(),
    ]
    if r.limitations.strip():
        lines += ["", "## Known limitations", r.limitations.strip()]
    if r.unverified is not None:
        u = r.unverified
        lines += [
            "",
            "## Unverified findings",
            f"For {u.when}, when the model does not state {', '.join(f'`{f}`' for f in u.facts)}, the rule reports an unverified "
            "finding (likelihood one step lower; not counted by `--fail-on` unless `--fail-on-unverified`; docs/scoring.md).",
            "",
            f"Question for the assessor: {u.question}",
        ]
    lines += ["", "## Clause refs"]
    lines += [f"- risk source **{i}** {cat.risk_sources[i].title}" for i in r.risk_items if i in cat.risk_sources]
    lines += [f"- mitigated by **{c}** {cat.controls[c].title}" for c in r.mitigated_by if c in cat.controls]
    for framework, ids in sorted(r.cross_map.items()):
        lines.append(f"- {framework}: {', '.join(ids)}")
    if r.references:
        lines += ["", "## References", *[f"- {ref}" for ref in r.references]]
    lines += ["", "## Detection logic", "```sql", r.query.strip(), "```", ""]
    return "\n".join(lines)
