"""A system diagram cut into page-sized parts for print, so that its text stays readable on paper.

A home's diagram is often far larger than a page (the family-home example is 1,633 × 1,864 pt);
shrunk onto one page its 8-point text would print at about 2 points. For the PDF, the diagram is
instead printed at ``PRINT_SCALE`` (8-point text prints at 6.4 points) and cut into as many equal
parts as it needs, each on its own landscape page and overlapping its neighbours a little so that
nothing falls on a cut. A part is the same SVG with a narrower ``viewBox``, holding only the nodes,
arrows and boxes that reach into it (so the PDF does not draw the whole diagram once per part); IDs
are dropped from the copies, since an ID may appear only once in a page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

PRINT_SCALE = 0.8
"""Printed size of the diagram: Graphviz draws its smallest text at 8 pt, so it prints at 6.4 pt."""
PAGE_WIDTH = 770.0
PAGE_HEIGHT = 360.0
"""Points available for one part on an A4 landscape page (margins, heading and caption taken off)."""
OVERLAP = 24.0
"""Points each part repeats of its neighbour."""

_ROOT = re.compile(r'<svg class="diagram"[^>]*?viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"[^>]*>', re.S)
_ID = re.compile(r'\sid="[^"]*"')
_SHIFT = re.compile(r'<g class="graph" transform="[^"]*translate\((-?[\d.]+) (-?[\d.]+)\)"')
_GROUP = re.compile(r'<g class="(?:node|edge|cluster)[^"]*">.*?</g>\n?', re.S)
_PAIR = re.compile(r"(-?[\d.]+),(-?[\d.]+)")
_XY = re.compile(r'\b(?:c?x)="(-?[\d.]+)" (?:c?y)="(-?[\d.]+)"')
_REACH = 60.0
"""Points around a coordinate that its text or shape may cover (an ellipse's radius, a label's width)."""
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Tile:
    """One printed part of a diagram: its SVG and where it sits (row and column from 1)."""

    svg: str
    row: int
    column: int
    rows: int
    columns: int


def tiles(svg: str) -> list[Tile]:
    """The parts to print ``svg`` (an inline Graphviz diagram) with; none when it is not one."""
    root = _ROOT.search(svg)
    end = svg.rfind("</svg>")
    if root is None or end < root.end():
        return []
    x0, y0, width, height = (float(v) for v in root.groups())
    body = _ID.sub("", svg[root.end() : end])
    if width * PRINT_SCALE <= PAGE_WIDTH and height * PRINT_SCALE <= PAGE_HEIGHT:
        scale = min(1.0, PAGE_WIDTH / width, PAGE_HEIGHT / height)
        return [Tile(_part(body, x0, y0, width, height, scale), 1, 1, 1, 1)]
    shift = _SHIFT.search(body)
    dx, dy = (float(shift.group(1)), float(shift.group(2))) if shift else (0.0, 0.0)
    groups = [(m.start(), m.end(), _extent(m.group(0), dx, dy)) for m in _GROUP.finditer(body)]
    columns, part_width = _split(width, PAGE_WIDTH / PRINT_SCALE)
    rows, part_height = _split(height, PAGE_HEIGHT / PRINT_SCALE)
    overlap = OVERLAP / PRINT_SCALE
    parts = []
    for r in range(rows):
        for c in range(columns):
            x = x0 + c * (part_width - overlap)
            y = y0 + r * (part_height - overlap)
            kept = _within(body, groups, (x, y, x + part_width, y + part_height))
            parts.append(Tile(_part(kept, x, y, part_width, part_height, PRINT_SCALE), r + 1, c + 1, rows, columns))
    return parts


def _extent(group: str, dx: float, dy: float) -> Box | None:
    """The box a node, arrow or cluster covers in the SVG's own coordinates; None when it has no coordinates."""
    points = [(float(a), float(b)) for a, b in _PAIR.findall(group)] + [(float(a), float(b)) for a, b in _XY.findall(group)]
    if not points:
        return None
    xs, ys = [p[0] + dx for p in points], [p[1] + dy for p in points]
    return min(xs) - _REACH, min(ys) - _REACH, max(xs) + _REACH, max(ys) + _REACH


def _within(body: str, groups: list[tuple[int, int, Box | None]], view: Box) -> str:
    """``body`` without the groups that lie wholly outside ``view``."""
    out, at = [], 0
    for start, stop, box in groups:
        if box is not None and (box[2] < view[0] or box[0] > view[2] or box[3] < view[1] or box[1] > view[3]):
            out.append(body[at:start])
            at = stop
    out.append(body[at:])
    return "".join(out)


def _split(length: float, most: float) -> tuple[int, float]:
    """How many equal, overlapping parts cover ``length`` with none longer than ``most``, and their length."""
    overlap = OVERLAP / PRINT_SCALE
    count = max(1, math.ceil((length - overlap) / (most - overlap)))
    return count, (length + (count - 1) * overlap) / count


def _part(body: str, x: float, y: float, width: float, height: float, scale: float) -> str:
    return (
        f'<svg class="diagram-part" width="{width * scale:.1f}pt" height="{height * scale:.1f}pt" '
        f'viewBox="{x:.2f} {y:.2f} {width:.2f} {height:.2f}" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" aria-hidden="true">{body}</svg>'
    )
