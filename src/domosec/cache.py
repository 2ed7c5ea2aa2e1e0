"""A small content-addressed cache of checked data files, so a run does not re-parse unchanged YAML.

Entries are keyed by the SHA-256 of the input bytes plus the versions that shaped the result, so
a changed file, a new domosec or a new DuckDB can never be served stale data. The cache lives in
``$DOMOSEC_CACHE_DIR`` or ``$XDG_CACHE_HOME/domosec`` (``~/.cache/domosec``); set
``DOMOSEC_CACHE_DIR=off`` to disable it. Any problem reading or writing it is ignored: the cache
only ever saves time.

A cached rule holds SQL that runs and a cached catalogue holds the applicability conditions,
so an entry is trusted only if it carries a valid HMAC-SHA-256 made with this user's own key
(``$XDG_STATE_HOME/domosec/cache-key``, default ``~/.local/state/domosec/cache-key``, 32 random
bytes, mode 600, created on first use). Someone who can write the cache directory but not read
that key (a shared or restored ``DOMOSEC_CACHE_DIR``, a CI cache) cannot make an entry domosec
will use: an edited or forged entry is ignored and the file is parsed and checked again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import Any

from domosec import __version__

_SIGNATURE = b"hmac-sha256:"
_KEY_BYTES = 32


def cache_dir() -> Path | None:
    configured = os.environ.get("DOMOSEC_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "domosec"


def key_file() -> Path:
    """Where this user's signing key lives (outside the cache directory)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "domosec" / "cache-key"


def content_key(kind: str, *parts: bytes | str) -> str:
    digest = hashlib.sha256(f"{kind}\0{__version__}\0".encode())
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        digest.update(b"\0")
    return f"{kind}-{digest.hexdigest()[:32]}"


def get(key: str) -> Any | None:
    """The value stored under ``key``, or None when there is none or its signature does not hold."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        secret = _signing_key()
        if secret is None:
            return None
        header, _, payload = (directory / f"{key}.json").read_bytes().partition(b"\n")
        if not header.startswith(_SIGNATURE) or not hmac.compare_digest(header[len(_SIGNATURE) :], _sign(secret, key, payload)):
            return None
        return json.loads(payload)
    except (OSError, ValueError):
        return None


def put(key: str, value: Any) -> None:
    directory = cache_dir()
    if directory is None:
        return
    try:
        secret = _signing_key()
        if secret is None:
            return
        payload = json.dumps(value, separators=(",", ":")).encode("utf-8")
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(_SIGNATURE + _sign(secret, key, payload) + b"\n" + payload)
        os.replace(tmp, directory / f"{key}.json")
    except (OSError, TypeError, ValueError):
        return


def _sign(secret: bytes, key: str, payload: bytes) -> bytes:
    """The entry's signature covers its key (so an entry cannot be moved to another key) and its bytes."""
    return hmac.new(secret, key.encode("utf-8") + b"\0" + payload, hashlib.sha256).hexdigest().encode("ascii")


_KEYS: dict[Path, bytes] = {}


def _signing_key() -> bytes | None:
    """This user's key, made on first use; None (no cache) when it is not private to this user."""
    path = key_file()
    if path in _KEYS:
        return _KEYS[path]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_KEY_BYTES))
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        secret = handle.read(_KEY_BYTES + 1)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077 or len(secret) != _KEY_BYTES:
        return None
    _KEYS[path] = secret
    return secret
