"""Benchmark the interchange renderers (JSON, Markdown, CSV, SARIF, OSCAL) on generated models.

Assesses the models of bench/assess.py (50, 500 and 5,000 devices) once in-process, then renders each
format N times (default 3) and prints the median time and the output size, and the ratio per device
against the 500-device model (1.0 means the cost grows linearly with the model). Figures: docs/reports.md.

    .venv/bin/python bench/interchange.py [--runs 3] [--sizes 50,500,5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from assess import generate  # the model generator of the assess benchmark

from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model_text
from domosec.report.formats import render

FORMATS = ("json", "markdown", "csv", "sarif", "oscal", "oscal-poam")
BASELINE = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="50,500,5000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rules = load_rules()
    figures: dict[tuple[int, str], tuple[float, int]] = {}
    for devices in sizes:
        a = assess([load_model_text(generate(devices), f"bench-{devices}.yaml")], rules, as_of=dt.date(2026, 11, 23))
        print(f"{devices:>6} devices, {len(a.findings):>5} findings")
        for fmt in FORMATS:
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                out = render(a, fmt)
                times.append(time.perf_counter() - start)
            figures[devices, fmt] = (statistics.median(times), len(out))
            line = f"    {fmt:<11} {figures[devices, fmt][0]:7.3f} s {len(out) / 1e6:8.2f} MB"
            if (BASELINE, fmt) in figures and devices != BASELINE:
                base_time, base_size = figures[BASELINE, fmt]
                scale = devices / BASELINE
                line += f"   per-device ratio vs {BASELINE}: time {figures[devices, fmt][0] / base_time / scale:.2f}, size {len(out) / base_size / scale:.2f}"
            print(line)


if __name__ == "__main__":
    main()
