"""The PDF report: WeasyPrint's output rasterised with pdftoppm (Debian poppler-utils), page by page."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

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
    diagram_pages = " ".join(text[text.index("System diagram\n") : text.index("Heat maps\n")].split())
    assert "Along the ISO/IEC 27403" in diagram_pages
    assert device.name in diagram_pages, "the diagram is vector graphics with real text"
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


# --- Layout of the expert PDF, read back from the PDF itself (poppler's word boxes) --------------------------------

SECTIONS = ("Summary", "System diagram", "Heat maps", "Findings", "Statement of Applicability", "Privacy view", "Treatment plan")
SECTIONS += ("Rules and remediation",)
RULE_ID = re.compile(r"^[A-Z]{2,4}-[SP]\d{2}$")
BOTTOM_MARGIN = 16 * 72 / 25.4  # the page number sits in the bottom margin (@page in report.css)


@dataclass(frozen=True)
class Word:
    x: float
    y: float
    height: float
    text: str


@dataclass(frozen=True)
class PdfPage:
    width: float
    height: float
    words: list[Word]

    def first_line(self) -> str:
        body = [w for w in self.words if w.y < self.height - BOTTOM_MARGIN]
        if not body:
            return ""
        top = min(w.y for w in body)
        return " ".join(w.text for w in sorted(body, key=lambda w: w.x) if w.y - top < 3)


def word_boxes(path: Path) -> list[PdfPage]:
    xml = subprocess.run([tool("pdftotext"), "-bbox", str(path), "-"], capture_output=True, text=True, check=True, timeout=120).stdout
    root = ElementTree.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", xml))
    ns = "{http://www.w3.org/1999/xhtml}"
    pages = []
    for p in root.iter(f"{ns}page"):
        words = [
            Word(float(w.get("xMin", 0)), float(w.get("yMin", 0)), float(w.get("yMax", 0)) - float(w.get("yMin", 0)), w.text or "")
            for w in p.iter(f"{ns}word")
        ]
        pages.append(PdfPage(float(p.get("width", 0)), float(p.get("height", 0)), words))
    return pages


@dataclass(frozen=True)
class Printed:
    path: Path
    pages: list[PdfPage]
    pngs: list[Path]
    progress: list[str]


@pytest.fixture(scope="module")
def family_pdf(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """The family home's expert PDF, made once for the layout tests (it takes a while)."""
    folder = tmp_path_factory.mktemp("family-pdf")
    progress: list[str] = []
    path = folder / "report.pdf"
    path.write_bytes(render_pdf(golden("family-home"), progress=progress.append))
    subprocess.run([tool("pdftoppm"), "-png", "-r", "30", str(path), str(folder / "page")], check=True, timeout=300)
    return Printed(path, word_boxes(path), sorted(folder.glob("page-*.png")), progress)


def section_pages(printed: Printed, title: str) -> list[PdfPage]:
    """The pages of one section: from the page that starts with its heading to the page before the next heading."""
    starts = [i for i, p in enumerate(printed.pages) if p.first_line() in SECTIONS or p.first_line().startswith(SECTIONS)]
    for n, i in enumerate(starts):
        if printed.pages[i].first_line().startswith(title):
            end = starts[n + 1] if n + 1 < len(starts) else len(printed.pages)
            return printed.pages[i:end]
    raise AssertionError(f"no section {title!r} in the PDF")


def test_findings_table_headers_sit_over_their_columns_on_every_page(family_pdf: Printed) -> None:
    pages = section_pages(family_pdf, "Findings")
    checked = 0
    for page in pages:
        ids = [w for w in page.words if RULE_ID.match(w.text)]
        if not ids:
            continue
        headers = {w.text: w for w in page.words if w.text in ("Risk", "Inherent", "Rule", "Status") and w.y < min(i.y for i in ids)}
        assert set(headers) == {"Risk", "Inherent", "Rule", "Status"}, "the table header repeats on every page"
        for word in ids:
            assert abs(word.x - headers["Rule"].x) < 2, f"rule {word.text} at x={word.x:.0f}, its header at x={headers['Rule'].x:.0f}"
        statuses = [w for w in page.words if w.text in ("open", "accepted") and abs(w.x - headers["Status"].x) < 40]
        assert statuses and all(abs(w.x - headers["Status"].x) < 2 for w in statuses)
        checked += 1
    assert checked >= 3


def test_no_page_is_more_than_half_empty_except_the_last_of_a_section(family_pdf: Printed) -> None:
    starts = {i for i, p in enumerate(family_pdf.pages) if p.first_line().startswith(SECTIONS)}
    for i, png in enumerate(family_pdf.pngs):
        if i + 1 == len(family_pdf.pngs) or i + 1 in starts:
            continue  # the last page of a section may be short
        with Image.open(png) as im:
            grey = im.convert("L")
            body = grey.crop((0, 0, grey.width, int(grey.height * (1 - BOTTOM_MARGIN / family_pdf.pages[i].height))))
            ink = body.point(lambda v: 255 if v < 200 else 0).getbbox()
        used = (ink[3] if ink else 0) / body.height
        assert used > 0.5, f"page {i + 1} ({family_pdf.pages[i].first_line()[:40]!r}) is {1 - used:.0%} empty"


def test_diagram_text_is_readable_and_the_print_says_nothing_about_clicking(family_pdf: Printed) -> None:
    pages = section_pages(family_pdf, "System diagram")
    text = " ".join(w.text for p in pages for w in p.words)
    home = golden("family-home").homes[0]
    for element in home.elements:
        if element.kind in ("device", "service") and element.name:
            assert element.name.split()[0] in text, f"{element.name} is not in the printed diagram"
    smallest = min(w.height for p in pages for w in p.words if w.y < p.height - BOTTOM_MARGIN)
    assert smallest >= 6.0, f"diagram text is {smallest:.1f} pt high"
    everything = " ".join(w.text for p in family_pdf.pages for w in p.words).lower()
    assert "click" not in everything


def test_page_count_and_progress(family_pdf: Printed) -> None:
    count = len(family_pdf.pages)
    assert count == len(family_pdf.pngs)
    a = golden("family-home")
    assert count <= 3 + len(a.findings) // 2 + 45 // 8 + 40, "about two findings a page, plus diagram parts and other sections"
    assert family_pdf.progress[0] == "reading the report"
    assert "laying out page 1" in family_pdf.progress and f"laying out page {count}" in family_pdf.progress
    assert family_pdf.progress[-1] == f"writing {count} pages"
