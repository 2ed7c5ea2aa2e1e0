"""Counts in words: ``1 flow``, ``2 flows``, ``1 admin``; never ``1 flow(s)``."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word``, in the plural unless ``n`` is 1 (``many`` for an irregular plural): ``1,204 devices``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
