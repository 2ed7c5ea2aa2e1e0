"""The HTML report as a PDF, laid out by WeasyPrint with the page's print styles.

WeasyPrint runs no JavaScript, so the PDF shows the report as printed: every finding with its
details, the diagrams as vector graphics. It is given a URL fetcher that refuses everything, so
no file or network address named in the page can be read while the PDF is made.
"""

from __future__ import annotations

from typing import Any, NoReturn

from domosec.assessment import Assessment
from domosec.report.html import Audience, render_html


def render_pdf(assessment: Assessment, *, audience: Audience = "expert") -> bytes:
    """The report for ``audience`` as PDF bytes (A4). The same Assessment gives the same bytes."""
    from weasyprint import HTML

    html = render_html(assessment, audience=audience)
    document = HTML(string=html, url_fetcher=_refuse, base_url=None)
    pdf: bytes = document.write_pdf()
    return pdf


def _refuse(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"the report is self-contained and fetches nothing (refused {url!r})")
