"""Check a rule against its example models: the ``.fail.yaml`` and the ``.pass.yaml`` beside it.

The fail example names the findings it expects with comment lines anywhere in the file::

    # expect: DEV-S01 hall-cam

A rule with an ``unverified:`` block also names, in its fail example, the assets whose fact is
not stated and that it reports as *unverified* findings::

    # expect-unverified: DEV-S15 boiler

The rule must find exactly those assets in the fail example (confirmed findings on the ``expect``
assets, unverified ones on the ``expect-unverified`` assets), and nothing in the pass example,
which states every fact.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from domosec.engine.assess import assess
from domosec.engine.ruleset import LoadedRule
from domosec.errors import InputError
from domosec.model.load import load_model

EXPECT = re.compile(r"^\s*#\s*expect(-unverified)?:\s*([A-Z]+-[SP]\d+)\s+(\S+)\s*$")
EXAMPLE_DATE = dt.date(2026, 11, 23)
"""Examples are judged on a fixed date, so that support periods in them do not age."""


@dataclass
class ExampleResult:
    rule_id: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def expected_assets(path: Path, rule_id: str, *, unverified: bool = False) -> set[str]:
    """The assets an example's ``# expect:`` lines (or ``# expect-unverified:`` lines) name for the rule."""
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT.match(line)
        if m and m.group(2) == rule_id and bool(m.group(1)) == unverified:
            found.add(m.group(3))
    return found


def check_examples(lr: LoadedRule, *, as_of: dt.date = EXAMPLE_DATE) -> ExampleResult:
    result = ExampleResult(lr.rule.id)
    for kind in ("fail", "pass"):
        path = lr.example(kind)
        if not path.exists():
            result.problems.append(f"{lr.rule.id}: missing {kind} example {path.name}")
            continue
        try:
            model = load_model(path)
            findings = assess([model], [lr], as_of=as_of).findings
        except InputError as exc:
            result.problems.extend(f"{lr.rule.id}: {d.render()}" for d in exc.diagnostics)
            continue
        for unverified in (False, True):
            label = "an unverified finding" if unverified else "a finding"
            got = {f.asset.id for f in findings if f.is_unverified == unverified}
            want = expected_assets(path, lr.rule.id, unverified=unverified) if kind == "fail" else set()
            only_unverified = lr.rule.unverified is not None and lr.rule.unverified.only
            needed = lr.rule.unverified is not None if unverified else not only_unverified
            if kind == "fail" and not want and needed:
                line = f"# expect{'-unverified' if unverified else ''}: {lr.rule.id} <asset-id>"
                result.problems.append(f"{lr.rule.id}: {path.name} has no '{line}' line")
            for asset in sorted(want - got):
                result.problems.append(f"{lr.rule.id}: {path.name}: expected {label} on '{asset}', got none")
            for asset in sorted(got - want):
                result.problems.append(f"{lr.rule.id}: {path.name}: unexpected {label.split(' ', 1)[1]} on '{asset}'")
    return result
