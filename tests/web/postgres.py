"""A throw-away PostgreSQL server for the tests: Debian's ``postgresql`` binaries, ``initdb`` in a temporary folder,
``pg_ctl start`` on a free loopback port (and a Unix socket in that folder), stopped and removed afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.ports import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail("PostgreSQL is needed for these tests: apt-get install postgresql (see the Makefile's DEBIAN_PACKAGES)")
    return found[-1]


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: when the tests are root, run it as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yield the SQLAlchemy URL of its database ``domosec`` (user ``domosec``, trust on loopback)."""
    root = tempfile.mkdtemp(prefix="domosec-pg-")
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = os.path.join(root, "data")
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(_as_postgres([_bin("initdb"), "-D", data, "-U", "domosec", "-A", "trust", "--no-sync", "-E", "UTF8"]), **run)  # type: ignore[call-overload]
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = os.path.join(root, "server.log")
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start"]), **run)  # type: ignore[call-overload]
        try:
            subprocess.run(_as_postgres([_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "domosec", "domosec"]), **run)  # type: ignore[call-overload]
            yield f"postgresql://domosec@127.0.0.1:{port}/domosec"
        finally:
            subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"]), capture_output=True, timeout=120)
    finally:
        shutil.rmtree(root, ignore_errors=True)
