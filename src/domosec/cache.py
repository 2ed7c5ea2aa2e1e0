"""A small content-addressed cache of parsed data files, so a run does not re-parse unchanged YAML.

Entries are keyed by the SHA-256 of the input bytes plus the versions that shaped the result, so
a changed file, a new domosec or a new DuckDB can never be served stale data. The cache lives in
``$DOMOSEC_CACHE_DIR`` or ``$XDG_CACHE_HOME/domosec`` (``~/.cache/domosec``); set
``DOMOSEC_CACHE_DIR=off`` to disable it. Any problem reading or writing it is ignored: the cache
only ever saves time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from domosec import __version__


def cache_dir() -> Path | None:
    configured = os.environ.get("DOMOSEC_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "domosec"


def content_key(kind: str, *parts: bytes | str) -> str:
    digest = hashlib.sha256(f"{kind}\0{__version__}\0".encode())
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        digest.update(b"\0")
    return f"{kind}-{digest.hexdigest()[:32]}"


def get(key: str) -> Any | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        return json.loads((directory / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def put(key: str, value: Any) -> None:
    directory = cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(value, handle, separators=(",", ":"))
        os.replace(tmp, directory / f"{key}.json")
    except (OSError, TypeError, ValueError):
        return
