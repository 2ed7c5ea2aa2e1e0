"""Probes: one module per protocol, each asking a single open port what it lets a stranger do.

Every probe takes a :class:`~domosec.evidence.scan.pacing.Pacer` slot per connection, has a
timeout, and writes what it learnt into a :class:`~domosec.evidence.scan.observations.Service`.
"""

from __future__ import annotations

import ssl


def insecure_tls_context() -> ssl.SSLContext:
    """A client context that accepts any certificate and old protocol versions: probes look, they do not trust."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def printable(data: bytes | str, limit: int = 200) -> str:
    """A banner cut to one readable line: control bytes dropped, whitespace folded."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text[:limit]
