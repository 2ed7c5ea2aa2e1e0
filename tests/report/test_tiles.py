"""The diagram cut into printed parts: every part fits a page at a readable scale, and together they show it all."""

from __future__ import annotations

import re
from pathlib import Path

from domosec.assessment import Assessment
from domosec.report.html.diagram import draw
from domosec.report.html.tiles import PAGE_HEIGHT, PAGE_WIDTH, PRINT_SCALE, tiles

ROOT = Path(__file__).resolve().parents[2]
VIEWBOX = re.compile(r'viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"')


def diagram_of(name: str) -> str:
    a = Assessment.model_validate_json((ROOT / "tests" / "golden" / f"{name}.json").read_text(encoding="utf-8"))
    return draw(a.homes[0], [f for f in a.findings if f.is_open], prefix="d0").svg


def test_a_large_diagram_is_cut_into_readable_parts_that_cover_it_all() -> None:
    svg = diagram_of("family-home")
    full = [float(v) for v in VIEWBOX.search(svg).groups()]  # type: ignore[union-attr]
    parts = tiles(svg)
    assert len(parts) > 1
    right = bottom = 0.0
    for part in parts:
        x, y, w, h = (float(v) for v in VIEWBOX.search(part.svg).groups())  # type: ignore[union-attr]
        assert w * PRINT_SCALE <= PAGE_WIDTH + 0.5 and h * PRINT_SCALE <= PAGE_HEIGHT + 0.5
        assert f'width="{w * PRINT_SCALE:.1f}pt"' in part.svg, "printed at the readable scale, not shrunk"
        assert ' id="' not in part.svg, "IDs may appear only once in a page"
        right, bottom = max(right, x + w), max(bottom, y + h)
    assert (round(right, 1), round(bottom, 1)) == (round(full[2], 1), round(full[3], 1)), "the parts reach the edges"
    names = set(re.findall(r"<title>([^<]+)</title>", svg))
    shown = {t for p in parts for t in re.findall(r"<title>([^<]+)</title>", p.svg)}
    assert names - {"d0"} <= shown, "every node, arrow and box is in some part"
    assert sum(p.svg.count('class="node') for p in parts) < len(parts) * svg.count('class="node'), "each part draws only what it shows"


def test_a_diagram_that_fits_a_page_is_one_part() -> None:
    svg = diagram_of("product-under-design")
    (_, _, w, h) = (float(v) for v in VIEWBOX.search(svg).groups())  # type: ignore[union-attr]
    parts = tiles(svg)
    if w * PRINT_SCALE <= PAGE_WIDTH and h * PRINT_SCALE <= PAGE_HEIGHT:
        assert len(parts) == 1 and (parts[0].rows, parts[0].columns) == (1, 1)
    assert tiles("<p>no diagram</p>") == []
