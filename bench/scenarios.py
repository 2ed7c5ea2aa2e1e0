"""The scenario corpus table: recall and precision of the built-in rules on homes written from public incidents.

    .venv/bin/python bench/scenarios.py            # Markdown table and every missed concept
    .venv/bin/python bench/scenarios.py --rules DIR  # with an extra rule pack

The scenarios and their expectations live in tests/scenarios/ (see tests/scenarios/corpus.py for the
scoring); tests/scenarios/test_scenarios.py asserts the same figures as floors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domosec.engine.ruleset import load_rules  # noqa: E402
from tests.scenarios.corpus import score_all, table  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", action="append", default=[], help="an extra rule directory (repeatable)")
    args = parser.parse_args()
    rules = load_rules()
    for extra in args.rules:
        rules += load_rules(Path(extra))
    print(table(score_all(rules)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
