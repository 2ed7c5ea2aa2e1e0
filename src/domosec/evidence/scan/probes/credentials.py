"""The short list of factory-default logins tried with ``--check-default-credentials``.

At most :data:`MAX_TRIES` pairs are tried per service, in this order, and the first that works
stops the attempts. The list holds well-known defaults of consumer routers, cameras and brokers;
it is small on purpose: the aim is to show that a default is still in place, not to guess
passwords, and a device that locks out after a few failures must not lock out its owner.
"""

from __future__ import annotations

MAX_TRIES = 5

DEFAULT_LOGINS: tuple[tuple[str, str], ...] = (
    ("admin", "admin"),
    ("admin", ""),
    ("admin", "password"),
    ("root", "root"),
    ("admin", "1234"),
)


def logins_to_try() -> tuple[tuple[str, str], ...]:
    """The pairs a probe may try on one service: never more than :data:`MAX_TRIES`."""
    return DEFAULT_LOGINS[:MAX_TRIES]
