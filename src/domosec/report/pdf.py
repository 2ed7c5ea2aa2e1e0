"""The HTML report as a PDF, laid out by WeasyPrint with the page's print styles.

WeasyPrint runs no JavaScript, so the PDF shows the report as printed: every finding with its
details, the diagrams as vector graphics cut into readable page-sized parts (``html/tiles.py``).
It is given a URL fetcher that refuses everything, so no file or network address named in the
page can be read while the PDF is made. WeasyPrint was measured against headless Chromium printing
the same HTML (docs/performance.md): Chromium is faster, but stamps the time into every PDF and
breaks the findings table into half-empty pages, so the PDF stays with WeasyPrint.

Making a PDF takes seconds to tens of seconds; ``progress`` is told what is happening (laying out
page N, writing the file), and on a terminal a status line on stderr shows it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from domosec.assessment import Assessment
from domosec.report.html import Audience, render_html

Progress = Callable[[str], None]
_LOGGER = "weasyprint.progress"


def render_pdf(assessment: Assessment, *, audience: Audience = "expert", progress: Progress | None = None) -> bytes:
    """The report for ``audience`` as PDF bytes (A4). The same Assessment gives the same bytes.

    ``progress`` receives short messages while the PDF is made; by default they go to a status line
    on stderr when stderr is a terminal, and nowhere otherwise."""
    from weasyprint import HTML

    html = render_html(assessment, audience=audience, print_diagrams=True)
    with _reporting(progress) as report:
        report("reading the report")
        document = HTML(string=html, url_fetcher=_refuse, base_url=None).render()
        report(f"writing {len(document.pages)} pages")
        pdf: bytes = document.write_pdf()
    return pdf


@contextmanager
def _reporting(progress: Progress | None) -> Iterator[Progress]:
    if progress is not None:
        with _listening(progress):
            yield progress
        return
    if not sys.stderr.isatty():
        yield lambda message: None
        return
    from rich.console import Console

    with Console(stderr=True).status("Making the PDF…") as status:

        def show(message: str) -> None:
            status.update(f"Making the PDF: {message}…")

        with _listening(show):
            yield show


class _Relay(logging.Handler):
    """WeasyPrint's progress log ("Step 5 - Creating layout - Page 3") as plain messages."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Creating layout - Page" in message:
            self.progress("laying out page " + message.rsplit(" ", 1)[-1])


@contextmanager
def _listening(progress: Progress) -> Iterator[None]:
    logger = logging.getLogger(_LOGGER)
    handler = _Relay(progress)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _refuse(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"the report is self-contained and fetches nothing (refused {url!r})")
