"""Evidence files: content-addressed storage with size and type limits, and safe download headers.

A file is stored once under ``<evidence dir>/<first 2 hex digits>/<sha256>``, written beside its
name and renamed, so a crash never leaves half a file under a digest; the same bytes attached twice
take the space once. Only the listed kinds are taken, and the kind is read from the bytes (a PDF
must start ``%PDF-``, a picture with its signature, text must be UTF-8 without NUL bytes), never
from what the browser says. A download is always an attachment, with ``nosniff`` and a sandbox
policy, so a file never runs as a page of the workspace.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from domosec.output_file import durably_replacing

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
KINDS: dict[str, tuple[str, bytes | None]] = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".txt": ("text/plain", None),
    ".log": ("text/plain", None),
    ".md": ("text/plain", None),
    ".yaml": ("text/plain", None),
    ".yml": ("text/plain", None),
    ".csv": ("text/csv", None),
    ".json": ("application/json", None),
}
"""Accepted file name endings: the media type served and the signature the bytes must start with (None: UTF-8 text)."""


def default_dir(db_url: str) -> Path:
    """Where evidence is kept unless told: beside a SQLite file (``FILE.evidence``), else ``./domosec-evidence``."""
    if db_url.startswith("sqlite:///") and len(db_url) > len("sqlite:///"):
        database = Path(db_url.removeprefix("sqlite:///"))
        return database.with_name(database.name + ".evidence")
    return Path("domosec-evidence")


class EvidenceRefused(ValueError):
    """A file that is too large, of a kind not taken, or not what its name says."""


def media_type(filename: str, content: bytes) -> str:
    """The media type to store for ``content`` named ``filename``, or :class:`EvidenceRefused`."""
    suffix = Path(filename).suffix.lower()
    if suffix not in KINDS:
        raise EvidenceRefused(f"files ending {suffix or '(nothing)'} are not taken: use one of {', '.join(sorted(KINDS))}")
    kind, signature = KINDS[suffix]
    if signature is not None:
        if not content.startswith(signature):
            raise EvidenceRefused(f"the file is named {suffix} but its bytes are not {kind}")
        return kind
    if b"\0" in content:
        raise EvidenceRefused(f"the file is named {suffix} but is not text")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        raise EvidenceRefused(f"the file is named {suffix} but is not UTF-8 text") from None
    return kind


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def store(root: Path, content: bytes) -> str:
    """Keep ``content`` under its SHA-256 (once); the digest."""
    digest = hashlib.sha256(content).hexdigest()
    target = blob_path(root, digest)
    if target.is_file() and target.stat().st_size == len(content):
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    with durably_replacing(target, ".incoming-") as handle:
        handle.write(content)
    return digest


def safe_filename(name: str) -> str:
    """The last part of an uploaded file's name, without control characters or quotes, at most 200 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"\r\n;').strip(" .")
    return (cleaned or "evidence")[-200:]


def download_headers(filename: str) -> dict[str, str]:
    """An attachment (never shown inline), named in ASCII and in UTF-8 (RFC 6266), in a sandbox with nothing allowed."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff",
    }
