"""The scenario corpus: homes written from public incidents and studies, and what an assessor expects in each.

Each scenario is a model (``NAME.yaml``, citing its source in a comment) and an expectations file
(``NAME.expect.yaml``) written from the same source *before* running domosec:

```yaml
well_kept: false          # true: a well-kept home or product, expected to get nothing high or critical
expected:
  - concept: factory-default login on the DVR     # what the assessor would write down
    clause: "6.2.3"                               # the risk-source clause of ISO/IEC 27403 (6.x.y)
    asset: dvr                                    # the element the finding is about
    controls: ["7.2.15", "7.2.16"]                # clause-7 items that treat it (any one counts)
    needs: "no fact for ..."                      # optional: why today's model cannot say it yet
```

A concept is **found** when a finding has the same asset and clause and treats at least one of the
listed controls, each finding counting for one concept at most. **Recall** is found concepts over expected concepts. A finding is **on target** when
its asset and clause match an expected concept; **precision** is on-target findings over all findings
(findings an assessor did not list are not necessarily wrong, so this is a lower bound).

**Unverified findings** (a fact the rule needs is not stated; docs/scoring.md) count toward recall, because
the assessor's open question about the expected asset and clause is what an assessor writes down; the
table also gives the concepts found by confirmed findings alone. They do not count in precision, which is
over confirmed findings: an unverified finding is a question, not a claim. Their number and how many are on
target are columns of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

from domosec.assessment import Assessment, Finding
from domosec.engine.assess import assess
from domosec.engine.ruleset import LoadedRule, load_rules
from domosec.model.elements import SystemModel
from domosec.model.load import load_model

HERE = Path(__file__).resolve().parent
AS_OF = dt.date(2026, 12, 1)
HIGH = ("high", "critical")


@dataclass(frozen=True)
class Concept:
    concept: str
    clause: str
    asset: str
    controls: tuple[str, ...]
    needs: str = ""

    def matches(self, f: Finding) -> bool:
        return f.asset.id == self.asset and f.risk_source == self.clause and bool(set(f.controls) & set(self.controls))

    def on_target(self, f: Finding) -> bool:
        return f.asset.id == self.asset and f.risk_source == self.clause


@dataclass
class Score:
    name: str
    well_kept: bool
    concepts: list[Concept]
    findings: list[Finding]
    found: list[Concept] = field(default_factory=list)
    missed: list[Concept] = field(default_factory=list)
    on_target: list[Finding] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    found_confirmed: int = 0
    unverified: list[Finding] = field(default_factory=list)
    unverified_on_target: int = 0

    @property
    def high(self) -> list[Finding]:
        return [f for f in (*self.findings, *self.unverified) if f.is_open and f.inherent.level in HIGH]


def scenario_names() -> list[str]:
    return sorted(p.name.removesuffix(".expect.yaml") for p in HERE.glob("*.expect.yaml"))


def read_expectations(name: str) -> tuple[bool, list[Concept]]:
    data = YAML(typ="safe").load((HERE / f"{name}.expect.yaml").read_text(encoding="utf-8"))
    concepts = [
        Concept(
            concept=str(c["concept"]),
            clause=str(c["clause"]),
            asset=str(c["asset"]),
            controls=tuple(str(x) for x in c["controls"]),
            needs=str(c.get("needs", "")),
        )
        for c in data.get("expected") or []
    ]
    return bool(data.get("well_kept", False)), concepts


def _elements(model: SystemModel) -> dict[str, str]:
    kinds: dict[str, str] = {model.system.id: "home"}
    sections = (
        ("user", model.users),
        ("zone", model.zones),
        ("network", model.networks),
        ("gateway", model.gateways),
        ("device", model.devices),
        ("service", model.services),
        ("flow", model.flows),
    )
    for kind, items in sections:
        for item in items:
            kinds[item.id] = kind
    return kinds


def _match(concepts: list[Concept], findings: list[Finding]) -> set[int]:
    """The concepts found, each by a finding of its own (a maximum bipartite matching, Kuhn's algorithm).

    One finding never counts for two concepts: a single "service accepts one shared login" finding does
    not also find "a former partner still holds the admin account" on the same service.
    """
    edges = [[j for j, f in enumerate(findings) if c.matches(f)] for c in concepts]
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    # concepts the model can state go first, so that a finding is not credited to a concept the model cannot say
    for i in sorted(range(len(concepts)), key=lambda i: bool(concepts[i].needs)):
        augment(i, set())
    return set(owner.values())


def score(name: str, rules: list[LoadedRule]) -> Score:
    well_kept, concepts = read_expectations(name)
    loaded = load_model(str(HERE / f"{name}.yaml"))
    result: Assessment = assess([loaded], rules, as_of=AS_OF)
    confirmed = [f for f in result.findings if not f.is_unverified]
    s = Score(name, well_kept, concepts, confirmed)
    s.unverified = [f for f in result.findings if f.is_unverified]
    matched = _match(concepts, list(result.findings))
    for i, c in enumerate(concepts):
        (s.found if i in matched else s.missed).append(c)
    s.found_confirmed = len(_match(concepts, confirmed))
    s.on_target = [f for f in s.findings if any(c.on_target(f) for c in concepts)]
    s.unverified_on_target = sum(1 for f in s.unverified if any(c.on_target(f) for c in concepts))
    elements = _elements(loaded.model)
    for f in result.findings:
        if elements.get(f.asset.id) != f.asset.kind:
            s.unsupported.append(f"{f.rule_id} on {f.asset.kind} '{f.asset.id}', which the model does not have")
    for c in concepts:
        if c.asset not in elements:
            raise ValueError(f"{name}.expect.yaml: concept {c.concept!r} names asset {c.asset!r}, which is not in the model")
    return s


def score_all(rules: list[LoadedRule] | None = None) -> list[Score]:
    rules = rules if rules is not None else load_rules()
    return [score(n, rules) for n in scenario_names()]


def totals(scores: list[Score]) -> tuple[float, float]:
    """Overall recall and precision over the corpus."""
    expected = sum(len(s.concepts) for s in scores)
    found = sum(len(s.found) for s in scores)
    findings = sum(len(s.findings) for s in scores)
    on_target = sum(len(s.on_target) for s in scores)
    return (found / expected if expected else 1.0), (on_target / findings if findings else 1.0)


def table(scores: list[Score]) -> str:
    """The corpus as a Markdown table, then every missed concept."""
    lines = [
        "| scenario | kept | expected | found | of which confirmed | recall | findings | on target | precision "
        "| unverified | unverified on target | high+ |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        recall = f"{len(s.found) / len(s.concepts):.0%}" if s.concepts else "-"
        precision = f"{len(s.on_target) / len(s.findings):.0%}" if s.findings else "-"
        lines.append(
            f"| {s.name} | {'yes' if s.well_kept else ''} | {len(s.concepts)} | {len(s.found)} | {s.found_confirmed} | {recall} "
            f"| {len(s.findings)} | {len(s.on_target)} | {precision} | {len(s.unverified)} | {s.unverified_on_target} | {len(s.high)} |"
        )
    recall, precision = totals(scores)
    expected = sum(len(s.concepts) for s in scores)
    found = sum(len(s.found) for s in scores)
    findings = sum(len(s.findings) for s in scores)
    on_target = sum(len(s.on_target) for s in scores)
    confirmed = sum(s.found_confirmed for s in scores)
    unverified = sum(len(s.unverified) for s in scores)
    unverified_on_target = sum(s.unverified_on_target for s in scores)
    lines.append(
        f"| **all {len(scores)}** | | {expected} | {found} | {confirmed} | {recall:.1%} | {findings} | {on_target} | {precision:.1%} "
        f"| {unverified} | {unverified_on_target} | |"
    )
    lines += ["", "Recall counts concepts found by confirmed or unverified findings; precision is over confirmed findings."]
    missed = [(s.name, c) for s in scores for c in s.missed]
    if missed:
        lines += ["", "Missed concepts:", ""]
        for name, c in missed:
            why = f" — model: {c.needs}" if c.needs else ""
            lines.append(f"- {name}: {c.concept} ({c.clause}, {c.asset}){why}")
    return "\n".join(lines)
