"""Read a YAML or JSON document into plain Python data plus the position of every node.

Built on ruamel.yaml's C event stream (``ruamel.yaml.clib``): the parser emits events with
their marks and this module builds the objects itself, which gives

- a ``line:col`` for every mapping key and every value (``devices[3].networks[0]``);
- hard limits checked *while* parsing: document size, nesting depth, and the size of the
  document after alias expansion (a "billion laughs" bomb is refused, not expanded);
- no recursion, so a deeply nested document cannot overflow the stack.

Plain scalars are resolved with the YAML 1.2 core schema (``yes`` stays a string; dates
stay strings and are parsed by the model).
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domosec.errors import Diagnostic, InputError, ModelError
from domosec.output_file import protect_input

Path_ = tuple[str | int, ...]
Position = tuple[int, int]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 2_000_000
MAX_NUMBER_DIGITS = 100
"""A plain number longer than this is refused: no field takes one, and Python refuses to parse them past 4,300 digits."""

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_STD_TAGS = "tag:yaml.org,2002:"


@dataclass
class SourceDocument:
    """A parsed document: its data, and where each node stands in the file (1-based)."""

    file: str
    data: Any
    positions: dict[Path_, Position] = field(default_factory=dict)
    key_positions: dict[Path_, Position] = field(default_factory=dict)

    def position(self, path: Path_) -> Position | None:
        """The position of the node at ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            if probe in self.positions:
                return self.positions[probe]
            if not probe:
                return None
            probe = probe[:-1]


def read_document(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, display_name: str | None = None) -> SourceDocument:
    """Read and parse one model file. Raises :class:`ModelError` with a positioned diagnostic."""
    name = display_name or str(path)
    raw = read_bounded(path, max_bytes, name=name, what="a model file", error=ModelError)
    return parse_bytes(raw, name, max_bytes=max_bytes, is_json=Path(path).suffix.lower() == ".json")


def read_bounded(
    path: str | Path,
    max_bytes: int,
    *,
    name: str = "",
    what: str = "a file",
    error: type[InputError] = InputError,
    hint: str = "raise it with --max-bytes",
) -> bytes:
    """The bytes of ``path``, never more than ``max_bytes`` read; :class:`InputError` (or ``error``) otherwise.

    A regular file over the limit is refused before it is read (``file-too-large``). A pipe or a device
    (``/dev/stdin``, ``<(…)``, ``/dev/zero``) is read up to the limit and refused past it
    (``input-too-large``). The file is opened without blocking, so a FIFO with no writer is not waited on
    forever; a directory or a socket is ``not-a-file``.
    """
    name = name or str(path)

    def fail(code: str, message: str, hint: str = "") -> InputError:
        return error([Diagnostic.at(name, None, code, message, hint=hint)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise fail("file-not-found", "no such file") from None
    except IsADirectoryError:
        raise fail("not-a-file", f"is a directory, expected {what}") from None
    except PermissionError:
        raise fail("unreadable", "permission denied") from None
    except OSError as exc:  # a socket (ENXIO), a name too long, a loop of symbolic links…
        raise fail("not-a-file" if exc.errno == errno.ENXIO else "unreadable", f"cannot open: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    mode = st.st_mode
    protect_input(st)  # no -o of this process may replace a file it read
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise fail("not-a-file", f"is a directory, expected {what}")
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if stat.S_ISREG(mode):
            size = st.st_size
            if size > max_bytes:
                raise fail("file-too-large", f"the file is {size:,} bytes, over the limit of {max_bytes:,} bytes", hint)
        else:
            os.set_blocking(fd, True)  # a pipe or device: opened without waiting for a writer, now read normally
        chunks: list[bytes] = []
        total = 0
        want = st.st_size + 1 if stat.S_ISREG(mode) else 1 << 20  # a file in one read (and one more byte, if it grew)
        try:
            while total <= max_bytes:
                chunk = handle.read(min(want, max_bytes + 1 - total))
                want = 1 << 20
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        except OSError as exc:
            raise fail("unreadable", f"cannot read: {exc.strerror or exc}") from None
    if total > max_bytes:
        code = "file-too-large" if stat.S_ISREG(mode) else "input-too-large"
        raise fail(code, f"more than {max_bytes:,} bytes were read, over the limit; refused", hint)
    return b"".join(chunks)


def parse_bytes(raw: bytes, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES, is_json: bool = False) -> SourceDocument:
    """Parse a document held in memory (YAML, or JSON when ``is_json``)."""
    if len(raw) > max_bytes:
        raise _error(name, None, "file-too-large", f"the document is over the limit of {max_bytes:,} bytes", "raise it with --max-bytes")
    if b"\x00" in raw[:65536]:
        raise _error(name, None, "binary-file", "the file holds binary data, expected YAML or JSON text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _error(name, (line, 1), "not-utf8", f"byte {exc.start} is not valid UTF-8; a model must be UTF-8 text") from None
    if not text.strip():
        raise _error(name, None, "empty-document", "the file is empty; expected a model with at least a 'system' section")
    if is_json:
        return _parse_json(text, name)
    return _Builder(name).build(text)


def _parse_json(text: str, name: str) -> SourceDocument:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(name, (exc.lineno, exc.colno), "syntax", f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise _error(name, None, "too-deep", f"the document nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        pass  # a number too long for Python's int(): the parser below says where it is
    # Valid JSON is valid YAML, except that YAML has no surrogate escapes: write each pair as one \U escape.
    text = _SURROGATE_PAIR.sub(_join_surrogates, text)
    return _Builder(name).build(text)


_SURROGATE_PAIR = re.compile(r"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")


def _join_surrogates(m: re.Match[str]) -> str:
    high, low = int(m.group(2), 16), int(m.group(3), 16)
    return f"{m.group(1)}\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


def _error(name: str, pos: Position | None, code: str, message: str, hint: str = "") -> ModelError:
    return ModelError([Diagnostic.at(name, pos, code, message, hint=hint)])


class _Frame:
    """A mapping or sequence being built, with the key waiting for its value."""

    __slots__ = ("anchor", "container", "has_key", "is_list", "path", "pending_key", "pending_key_pos", "start_count")

    def __init__(self, container: dict[Any, Any] | list[Any], path: Path_, anchor: str | None, start_count: int, is_list: bool) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.start_count = start_count
        self.is_list = is_list
        self.pending_key: Any = None
        self.pending_key_pos: Position | None = None
        self.has_key = False


class _Builder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.doc = SourceDocument(name, None)
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.count = 0

    def build(self, text: str) -> SourceDocument:
        from ruamel.yaml.error import MarkedYAMLError, YAMLError
        from ruamel.yaml.reader import ReaderError

        try:
            c_parser = _c_parser_class()
            if c_parser is not None:
                # The C parser's events, fetched one by one (a generator around it costs a fifth of the parse).
                parser = c_parser(text)
                try:
                    self._consume(parser.get_event)
                finally:
                    parser.dispose()
            else:
                from ruamel.yaml import YAML

                self._consume(YAML(typ="safe", pure=False).parse(text).__next__)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            pos = (mark.line + 1, mark.column + 1) if mark else None
            problem = exc.problem or exc.context or "invalid YAML"
            raise _error(self.name, pos, "syntax", f"invalid YAML: {problem}") from None
        except ReaderError as exc:
            # libyaml counts bytes of the UTF-8 text; columns are counted in characters.
            where = len(text.encode("utf-8")[: exc.position].decode("utf-8", "ignore"))
            pos = (text.count("\n", 0, where) + 1, where - text.rfind("\n", 0, where))
            raise _error(self.name, pos, "syntax", f"invalid YAML: character U+{exc.character:04X} is not allowed ({exc.reason})") from None
        except YAMLError as exc:
            raise _error(self.name, None, "syntax", f"invalid YAML: {' '.join(str(exc).split())}") from None
        return self.doc

    def _consume(self, next_event: Any) -> None:
        """Build the document from the event stream; the common events are handled inline, for speed."""
        from ruamel.yaml import events as ev

        stack: list[_Frame] = []
        positions = self.doc.positions
        key_positions = self.doc.key_positions
        anchors = self.anchors
        documents = 0
        scalar_event, mapping_start, sequence_start = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent
        ends = (ev.MappingEndEvent, ev.SequenceEndEvent)
        special_words = _SPECIAL_WORDS
        top: _Frame | None = None
        while True:
            event = next_event()
            kind = type(event)
            if kind is scalar_event:
                mark = event.start_mark
                pos = (mark.line + 1, mark.column + 1)
                self.count += 1
                if self.count > MAX_EXPANDED_NODES:
                    self._grow(0, pos)
                tag = event.tag
                raw = event.value
                if tag is None and raw[:1].isalpha() and raw not in special_words:
                    value: Any = raw
                else:
                    if tag and not tag.startswith(_STD_TAGS) and tag != "!":
                        raise _error(self.name, pos, "unsupported-tag", f"the tag '{tag}' is not supported in a model")
                    try:
                        value = _resolve(raw, event.implicit, tag)
                    except _NumberTooLong:
                        raise _error(
                            self.name,
                            pos,
                            "number-too-large",
                            f"a number of {len(raw):,} characters; numbers have at most {MAX_NUMBER_DIGITS} digits",
                            "quote it if it is text",
                        ) from None
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                if top is None:
                    self._attach(stack, value, None, pos)
                elif top.is_list:
                    items: list[Any] = top.container  # type: ignore[assignment]
                    positions[(*top.path, len(items))] = pos
                    items.append(value)
                elif top.has_key:
                    child = (*top.path, top.pending_key)
                    positions[child] = pos
                    if top.pending_key_pos is not None:
                        key_positions[child] = top.pending_key_pos
                    top.container[top.pending_key] = value
                    top.has_key = False
                else:
                    key = value if isinstance(value, str) else str(value) if value is not None else "null"
                    if key in top.container:
                        raise _error(self.name, pos, "duplicate-key", f"the key '{key}' appears twice in the same mapping")
                    top.pending_key, top.pending_key_pos, top.has_key = key, pos, True
                continue
            if kind in ends:
                frame = stack.pop()
                top = stack[-1] if stack else None
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, self.count - frame.start_count)
                self._attach(stack, frame.container, frame.path, None)
                continue
            if kind is mapping_start or kind is sequence_start:
                pos = _mark(event)
                self._grow(1, pos)
                tag = event.tag
                if tag and not tag.startswith(_STD_TAGS) and tag != "!":
                    raise _error(self.name, pos, "unsupported-tag", f"the tag '{tag}' is not supported in a model")
                container: dict[Any, Any] | list[Any] = {} if kind is mapping_start else []
                path = self._child_path(stack, pos)
                if len(stack) >= MAX_DEPTH:
                    raise _error(self.name, pos, "too-deep", f"the document nests deeper than {MAX_DEPTH} levels")
                positions[path] = pos
                top = _Frame(container, path, event.anchor, self.count - 1, kind is not mapping_start)
                stack.append(top)
                continue
            if kind is ev.AliasEvent:
                pos = _mark(event)
                value, size = self._alias(event, pos)
                self._grow(size, pos)
                self._attach(stack, value, None, pos)
                continue
            if kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _error(
                        self.name, _mark(event), "multiple-documents", "the file holds more than one YAML document; a model is one document"
                    )
                continue
            if kind is ev.StreamEndEvent:
                if documents == 0:
                    raise _error(
                        self.name, None, "empty-document", "the file holds only comments; expected a model with at least a 'system' section"
                    )
                return

    def _alias(self, event: Any, pos: Position) -> tuple[Any, int]:
        if event.anchor not in self.anchors:
            raise _error(self.name, pos, "syntax", f"invalid YAML: unknown alias '*{event.anchor}'")
        return self.anchors[event.anchor]

    def _grow(self, size: int, pos: Position) -> None:
        self.count += size
        if self.count > MAX_EXPANDED_NODES:
            raise _error(
                self.name,
                pos,
                "expansion-limit",
                f"the document expands to more than {MAX_EXPANDED_NODES:,} nodes (an alias bomb?); refused before parsing completed",
            )

    def _child_path(self, stack: list[_Frame], pos: Position) -> Path_:
        if not stack:
            return ()
        top = stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        if not top.has_key:
            raise _error(self.name, pos, "complex-key", "a mapping key must be a plain scalar")
        return (*top.path, top.pending_key)

    def _attach(self, stack: list[_Frame], value: Any, path: Path_ | None, pos: Position | None) -> None:
        if not stack:
            self.doc.data = value
            if pos is not None:
                self.doc.positions[()] = pos
            return
        top = stack[-1]
        if isinstance(top.container, list):
            if pos is not None:
                self.doc.positions[(*top.path, len(top.container))] = pos
            top.container.append(value)
            return
        if not top.has_key:
            if isinstance(value, (dict, list)):
                raise _error(self.name, pos or self.doc.positions.get(path or ()), "complex-key", "a mapping key must be a plain scalar")
            key = value if isinstance(value, str) else str(value) if value is not None else "null"
            if key in top.container:
                raise _error(self.name, pos, "duplicate-key", f"the key '{key}' appears twice in the same mapping")
            top.pending_key, top.pending_key_pos, top.has_key = key, pos, True
            return
        key = top.pending_key
        child = (*top.path, key)
        if pos is not None:
            self.doc.positions[child] = pos
        if top.pending_key_pos is not None:
            self.doc.key_positions[child] = top.pending_key_pos
        top.container[key] = value
        top.has_key = False


def _c_parser_class() -> Any:
    """ruamel's C parser (libyaml), or None without ``ruamel.yaml.clib`` (then ruamel's Python parser is used)."""
    try:
        from ruamel.yaml import cyaml
    except ImportError:
        return None
    return getattr(cyaml, "CParser", None)


def _mark(event: Any) -> Position:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1)


_SPECIAL_WORDS = frozenset({"null", "Null", "NULL", *_BOOL})


class _NumberTooLong(ValueError):
    """A plain scalar that is a number of more than :data:`MAX_NUMBER_DIGITS` characters."""


def _resolve(value: str, implicit: Any, tag: str | None) -> Any:
    plain = bool(implicit and implicit[0]) and tag in (None, "!")
    if tag and tag.startswith(_STD_TAGS):
        return _explicit(value, tag[len(_STD_TAGS) :])
    if not plain or (value[:1].isalpha() and value not in _SPECIAL_WORDS):
        return value
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if len(value) > MAX_NUMBER_DIGITS and (_INT.match(value) or _FLOAT.match(value)):
        raise _NumberTooLong
    if _INT.match(value):
        return int(value, 0) if value.lstrip("+-")[:2] in ("0o", "0x") else int(value)
    if _FLOAT.match(value):
        return float(value)
    if value.lower() in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[value.lower()]
    return value


def _explicit(value: str, kind: str) -> Any:
    if kind == "str":
        return value
    if kind == "null":
        return None
    if kind == "bool":
        return _BOOL.get(value, value)
    if kind in ("int", "float") and len(value) > MAX_NUMBER_DIGITS:
        raise _NumberTooLong
    try:
        if kind == "int":
            return int(value, 0)
        if kind == "float":
            return float(value)
    except ValueError:
        return value
    return value
