"""Loopback TCP ports for the servers tests start, never handed out twice.

Asking the kernel for port 0 and closing the socket gives a port that is free *now*, but the next
request may get the same one back, and the kernel also hands ephemeral ports to every outgoing
connection. A CI run once started nginx and a Modbus server on one such port, and the Modbus test
talked to nginx. So each pytest-xdist worker takes ports from its own block below the kernel's
ephemeral range (32768–60999 by default), checks that each is bindable, and never repeats one.
"""

from __future__ import annotations

import os
import socket
import threading

_FIRST, _BLOCK, _BLOCKS = 20000, 1000, 12
_lock = threading.Lock()
_handed: set[int] = set()


def _worker_block() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in worker if ch.isdigit())
    return (int(digits) if digits else 0) % _BLOCKS


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback TCP port nothing listens on, that this process has not handed out before."""
    start = _FIRST + _worker_block() * _BLOCK
    with _lock:
        for port in range(start, start + _BLOCK):
            if port not in _handed and _bindable(port):
                _handed.add(port)
                return port
    raise RuntimeError(f"no free loopback port left in {start}–{start + _BLOCK - 1}")
