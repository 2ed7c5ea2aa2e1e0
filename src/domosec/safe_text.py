"""Text from inputs made safe to show: no control sequences for a terminal, no markup for Rich.

Names, reasons and messages come from models, rule packs, assessments and captures that someone
else may have written. A terminal acts on what it receives: ESC/CSI/OSC sequences move the cursor,
clear the screen, set the window title or write hyperlinks (OSC 8), and C1 bytes do the same on
terminals that read them. :func:`visible` turns every such character into a visible escape
(``\\x1b``), so the user sees that the name holds one and nothing is lost; the bidirectional
overrides that reorder what is shown ("Trojan Source") are treated the same way. Newlines and tabs
stay. :func:`rich_text` also keeps Rich from parsing ``[link=…]`` or ``[bold]`` in that text as
markup: every string from an input that goes into a Rich renderable goes through it.

Rich is imported only by :func:`rich_text`, so plain-line output stays free of it.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.style import StyleType
    from rich.text import Text

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional marks, embeddings, overrides, isolates
    "\u2028\u2029\ufeff\ufffe\uffff"  # line and paragraph separators, byte order mark, non-characters
    "\ud800-\udfff]"  # lone surrogates (JSON can hold them; no terminal or UTF-8 file can)
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control, bidirectional-override and separator character shown as an escape."""
    return _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """:func:`visible` on one line: newlines and tabs shown as escapes too (for table cells and messages)."""
    return visible(text).replace("\t", "\\t").replace("\n", "\\n")


def json_escaped(text: str) -> str:
    """``text`` with every character :func:`visible` escapes written as ``\\uXXXX`` instead: inside a JSON (or
    double-quoted YAML) string that is the same character, so a document printed to a terminal stays valid."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def has_lone_surrogate(value: object) -> bool:
    """Whether parsed JSON holds a lone UTF-16 surrogate (from a ``\\ud800``–``\\udfff`` escape not in a pair): not
    text, and no UTF-8 file, terminal or renderer can take it, so readers refuse such input."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def rich_text(text: str, style: StyleType = "") -> Text:
    """A Rich ``Text`` of :func:`visible` ``text``: shown as written, never parsed as markup."""
    from rich.text import Text

    return Text(visible(text), style=style)
