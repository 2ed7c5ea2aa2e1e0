"""Check a rule against its example models: the ``.fail.yaml`` and the ``.pass.yaml`` beside it.

The fail example names the findings it expects with comment lines anywhere in the file::

    # expect: DEV-S01 hall-cam

The rule must find exactly those assets in the fail example, and nothing in the pass example.
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

EXPECT = re.compile(r"^\s*#\s*expect:\s*([A-Z]+-[SP]\d+)\s+(\S+)\s*$")
EXAMPLE_DATE = dt.date(2026, 11, 23)
"""Examples are judged on a fixed date, so that support periods in them do not age."""


@dataclass
class ExampleResult:
    rule_id: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def expected_assets(path: Path, rule_id: str) -> set[str]:
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT.match(line)
        if m and m.group(1) == rule_id:
            found.add(m.group(2))
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
        got = {f.asset.id for f in findings}
        want = expected_assets(path, lr.rule.id) if kind == "fail" else set()
        if kind == "fail" and not want:
            result.problems.append(f"{lr.rule.id}: {path.name} has no '# expect: {lr.rule.id} <asset-id>' line")
        for asset in sorted(want - got):
            result.problems.append(f"{lr.rule.id}: {path.name}: expected a finding on '{asset}', got none")
        for asset in sorted(got - want):
            result.problems.append(f"{lr.rule.id}: {path.name}: unexpected finding on '{asset}'")
    return result
