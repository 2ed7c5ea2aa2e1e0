"""The PDF report: WeasyPrint's output rasterised with pdftoppm (Debian poppler-utils), page by page."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from domosec.assessment import Assessment
from domosec.report.householder import home_plans
from domosec.report.pdf import render_pdf

ROOT = Path(__file__).resolve().parents[2]


def golden(name: str) -> Assessment:
    return Assessment.model_validate_json((ROOT / "tests" / "golden" / f"{name}.json").read_text(encoding="utf-8"))


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is needed to check PDFs: run `make system-deps` (apt-get install poppler-utils)")
    return found


def pages_of(pdf: bytes, tmp_path: Path) -> tuple[int, list[Path], str]:
    """The page count pdfinfo reports, one PNG per page from pdftoppm, and the text from pdftotext."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run([tool("pdfinfo"), str(path)], capture_output=True, text=True, check=True, timeout=60).stdout
    count = int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1))  # type: ignore[union-attr]
    subprocess.run([tool("pdftoppm"), "-png", "-r", "30", str(path), str(tmp_path / "page")], check=True, timeout=120)
    text = subprocess.run([tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True, timeout=60).stdout
    return count, sorted(tmp_path.glob("page-*.png")), text


def has_ink(png: Path) -> bool:
    with Image.open(png) as im:
        return bool(ImageStat.Stat(im.convert("L")).extrema[0][0] < 128)


def test_expert_pdf_has_every_section_on_real_pages(tmp_path: Path) -> None:
    a = golden("well-kept-home")
    count, pngs, text = pages_of(render_pdf(a), tmp_path)
    assert count == len(pngs) >= 8
    assert all(has_ink(p) for p in pngs)
    flat = " ".join(text.split())
    for heading in ("Summary", "System diagram", "Heat maps", "Findings", "Statement of Applicability", "Privacy view", "Treatment plan"):
        assert heading in flat
    assert sum(1 for c in a.controls if c.control_id in flat) == 45
    for f in a.findings:
        assert f.rule_id in flat
    device = next(e for e in a.homes[0].elements if e.kind == "device")
    diagram_page = next(
        page for page in text.split("\f") if "System diagram" in page and "Along the ISO/IEC 27403" in " ".join(page.split())
    )
    assert device.name in " ".join(diagram_page.split()), "the diagram is vector graphics with real text"
    with Image.open(pngs[0]) as first:
        assert first.height > first.width, "A4 portrait"
    findings_page = next(i for i, page in enumerate(text.split("\f")) if "Findings" in page and "Risk" in page)
    with Image.open(pngs[findings_page]) as wide:
        assert wide.width > wide.height, "the findings table is printed on landscape pages"


def test_householder_pdf_is_a_few_plain_pages(tmp_path: Path) -> None:
    a = golden("family-home")
    count, pngs, text = pages_of(render_pdf(a, audience="home"), tmp_path)
    assert 1 <= count == len(pngs) <= 6
    assert all(has_ink(p) for p in pngs)
    flat = " ".join(text.split())
    plan = home_plans(a)[0]
    assert "what to fix first" in flat
    assert all(act.title in flat for act in plan.first)
    assert not re.search(r"\b[A-Z]{2,4}-[SP]\d{2}\b", flat), "no rule IDs for householders"


def test_the_same_assessment_gives_the_same_pdf_bytes() -> None:
    a = golden("well-kept-home")
    assert render_pdf(a, audience="home") == render_pdf(a, audience="home")
