"""Benchmark the HTML report (and the PDF) on generated models of 50, 500 and 5,000 devices.

The models come from bench/assess.py's generator. For each size the model is assessed once; then

- ``render_html`` is timed in-process (median of --runs) and the page's size is measured;
- the whole ``domosec assess MODEL --format html -o FILE`` process is timed (median of --cli-runs),
  with its peak memory;
- the growth exponent between consecutive sizes is log(CPU time ratio) / log(findings ratio): 1.0 means
  linear, 2.0 quadratic (OWASP pytm's report, the baseline in docs/performance.md).

Targets (docs/performance.md): for 5,000 devices the HTML is written in <= 10 s and is <= 20 MB.

    .venv/bin/python bench/report.py [--runs 5] [--cli-runs 3] [--sizes 50,500,5000] [--pdf-sizes 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from assess import generate, time_runs  # bench/assess.py, beside this file

from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.load import load_model
from domosec.report.html import render_html
from domosec.report.pdf import render_pdf

DAY = dt.date(2026, 11, 23)


def median_time(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``action``, its child processes (Graphviz) included.

    CPU time is what a busy machine distorts least.
    """
    wall, cpu = [], []
    for _ in range(runs):
        before, start_cpu = os.times(), time.process_time()
        start = time.perf_counter()
        action()
        wall.append(time.perf_counter() - start)
        after = os.times()
        children = after.children_user + after.children_system - before.children_user - before.children_system
        cpu.append(time.process_time() - start_cpu + children)
    return statistics.median(wall), statistics.median(cpu)


def cli_run(model: Path, out: Path, runs: int) -> tuple[float, float, float]:
    """Median wall and CPU seconds of the whole `domosec assess … --format html` process, and the peak RSS (MB) so far."""
    cmd = [sys.executable, "-m", "domosec", "assess", str(model), "--format", "html", "-o", str(out), "--as-of", DAY.isoformat()]
    wall, cpu = time_runs(cmd, runs)
    return statistics.median(wall), statistics.median(cpu), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument("--sizes", default="50,500,5000")
    parser.add_argument("--pdf-sizes", default="50", help="sizes to time the PDF for (slow: WeasyPrint lays out every page)")
    args = parser.parse_args()
    rules = load_rules()
    rows: list[tuple[int, float]] = []
    head = ("devices", "findings", "render s", "cpu s", "MB", "µs/finding", "B/finding", "exponent", "cli s", "cli cpu s", "cli MB")
    print(" ".join(f"{h:>10}" for h in head))
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            model = Path(tmp) / f"bench-{size}.yaml"
            model.write_text(generate(size), encoding="utf-8")
            result = assess([load_model(model)], rules, as_of=DAY)
            size_bytes = len(render_html(result).encode("utf-8"))
            seconds, cpu = median_time(partial(render_html, result), args.runs)
            cli_seconds, cli_cpu, cli_mb = cli_run(model, Path(tmp) / "out.html", args.cli_runs)
            findings = len(result.findings)
            exponent = ""
            if rows:
                prev_findings, prev_cpu = rows[-1]
                exponent = f"{math.log(cpu / prev_cpu) / math.log(findings / prev_findings):.2f}"
            rows.append((findings, cpu))
            cells = (
                f"{size:,}",
                f"{findings:,}",
                f"{seconds:.3f}",
                f"{cpu:.3f}",
                f"{size_bytes / 1e6:.2f}",
                f"{1e6 * cpu / findings:.0f}",
                f"{size_bytes / findings:.0f}",
                exponent,
                f"{cli_seconds:.2f}",
                f"{cli_cpu:.2f}",
                f"{cli_mb:.0f}",
            )
            print(" ".join(f"{c:>10}" for c in cells))
        for size in (int(s) for s in args.pdf_sizes.split(",") if s):
            model = Path(tmp) / f"bench-{size}.yaml"
            model.write_text(generate(size), encoding="utf-8")
            result = assess([load_model(model)], rules, as_of=DAY)
            start = time.perf_counter()
            pdf = render_pdf(result)
            print(
                f"pdf {size:,} devices: {time.perf_counter() - start:.2f} s, {len(pdf) / 1e6:.2f} MB, {len(result.findings):,} findings (one run)"
            )


if __name__ == "__main__":
    main()
