"""A private network for scan tests: network namespaces joined by a bridge, with real servers inside.

Every lab is sealed: its namespaces are linked only to each other (veth pairs into a bridge
that lives in the lab's own "switch" namespace), none has a default route, and the 10.x
addresses inside never meet the machine's own interfaces. Names carry the test process ID and
a random suffix, so labs of parallel test workers never collide, and :meth:`NetLab.close`
stops every process the lab started (by its PID) and deletes every namespace it made.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "dsscan"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def namespaces_available() -> bool:
    """Whether this process may create network namespaces (root or CAP_NET_ADMIN, and ``ip`` installed)."""
    if shutil.which("ip") is None:
        return False
    probe = f"{PREFIX}{os.getpid()}probe{secrets.token_hex(2)}"
    if ip("netns", "add", probe, check=False).returncode != 0:
        return False
    ip("netns", "del", probe, check=False)
    return True


def sweep_stale_namespaces() -> None:
    """Delete namespaces left by earlier test processes that no longer run (a crashed run cannot clean up)."""
    listing = ip("netns", "list", check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX) :].split("-", 1)[0][:-4]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            ip("netns", "del", name, check=False)


@dataclass
class LabHost:
    """One namespace on the lab's LAN: an address, a MAC address, and the processes started in it."""

    lab: NetLab
    name: str
    ns: str
    address: str
    mac: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *args]

    def run(
        self, args: Sequence[str], *, timeout: float = 60, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside this namespace and wait for it."""
        return subprocess.run(self.command(args), capture_output=True, text=True, timeout=timeout, check=check, env=env)

    def start(self, args: Sequence[str], *, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running server inside this namespace; the lab stops it on close."""
        out = log.open("ab")
        proc = subprocess.Popen(self.command(args), stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        out.close()
        self.processes.append(proc)
        return proc

    def listening(self, port: int, transport: str = "tcp") -> bool:
        flag = "-ltnH" if transport == "tcp" else "-lunH"
        out = self.run(["ss", flag, f"sport = :{port}"], check=False).stdout
        return bool(out.strip())

    def wait_listening(self, port: int, transport: str = "tcp", *, timeout: float = 15.0, log: Path | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.listening(port, transport):
                return
            for proc in self.processes:
                if proc.poll() is not None and log is not None:
                    raise RuntimeError(f"{self.name}: a server exited early:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError(
            f"{self.name}: nothing listens on {port}/{transport} after {timeout} s"
            + (f":\n{log.read_text(errors='replace')[-2000:]}" if log else "")
        )


class LoopbackHost:
    """The test machine's own loopback, for tests that need no namespace: servers bind 127.0.0.1 on free ports."""

    name = "loopback"
    address = "127.0.0.1"

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> LoopbackHost:
        return self

    def __exit__(self, *_exc: object) -> None:
        for proc in reversed(self.processes):
            _stop(proc)

    def run(self, args: Sequence[str], *, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=check)

    def start(self, args: Sequence[str], *, log: Path) -> subprocess.Popen[bytes]:
        out = log.open("ab")
        proc = subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.processes.append(proc)
        return proc

    def wait_listening(self, port: int, transport: str = "tcp", *, timeout: float = 15.0, log: Path | None = None) -> None:
        deadline = time.monotonic() + timeout
        kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
        while time.monotonic() < deadline:
            if transport == "tcp":
                with socket.socket(socket.AF_INET, kind) as probe:
                    if probe.connect_ex((self.address, port)) == 0:
                        return
            for proc in self.processes:
                if proc.poll() is not None:
                    raise RuntimeError("a server exited early" + (f":\n{log.read_text(errors='replace')[-2000:]}" if log else ""))
            time.sleep(0.05)
        raise RuntimeError(f"nothing listens on {self.address}:{port}")


class NetLab:
    """A sealed LAN of namespaces on one bridge; use as a context manager."""

    def __init__(self) -> None:
        self.tag = f"{PREFIX}{os.getpid()}{secrets.token_hex(2)}"
        second, third = secrets.randbelow(150) + 100, secrets.randbelow(256)
        self.network = ipaddress.ip_network(f"10.{second}.{third}.0/24")
        self.switch = f"{self.tag}-sw"
        self.hosts: dict[str, LabHost] = {}
        self.extra_namespaces: list[str] = []
        self._next_port = 0

    def __enter__(self) -> NetLab:
        sweep_stale_namespaces()
        try:
            ip("netns", "add", self.switch)
            ip("-n", self.switch, "link", "set", "lo", "up")
            ip("-n", self.switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
            ip("-n", self.switch, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def address(self, last_octet: int) -> str:
        return str(self.network.network_address + last_octet)

    def add_host(self, name: str, last_octet: int) -> LabHost:
        """A namespace with one interface, ``eth0``, on the lab's LAN at ``10.x.y.<last_octet>``."""
        ns = f"{self.tag}-{name}"
        self._next_port += 1
        port = f"p{self._next_port}"
        mac = f"02:d5:00:00:{self._next_port // 256:02x}:{self._next_port % 256:02x}"
        address = self.address(last_octet)
        ip("netns", "add", ns)
        host = LabHost(self, name, ns, address, mac)
        self.hosts[name] = host
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        ip("-n", ns, "link", "set", "eth0", "address", mac)
        ip("-n", ns, "addr", "add", f"{address}/{self.network.prefixlen}", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
        return host

    def add_wan(self, host: LabHost, address: str) -> None:
        """Give ``host`` a WAN interface, ``wan0``, whose other end is a namespace with nothing else in it.

        A UPnP gateway refuses port mappings unless its WAN address looks public, so ``address``
        must; no packet can reach it from outside the lab, nor leave through it.
        """
        isp = f"{self.tag}-isp"
        ip("netns", "add", isp)
        self.extra_namespaces.append(isp)
        ip("-n", host.ns, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", isp)
        ip("-n", host.ns, "addr", "add", f"{address}/30", "dev", "wan0")
        ip("-n", host.ns, "link", "set", "wan0", "up")
        ip("-n", isp, "link", "set", "eth0", "up")

    def assert_sealed(self) -> None:
        """No namespace of the lab has a default route, so nothing can be sent beyond the lab."""
        for ns in [self.switch, *(h.ns for h in self.hosts.values()), *self.extra_namespaces]:
            routes = ip("-n", ns, "route", "show", "default").stdout.strip()
            assert routes == "", f"{ns} has a default route: {routes}"

    def close(self) -> None:
        for host in self.hosts.values():
            for proc in reversed(host.processes):
                _stop(proc)
        for ns in [*(h.ns for h in self.hosts.values()), *self.extra_namespaces, self.switch]:
            ip("netns", "del", ns, check=False)
        self.hosts.clear()
        self.extra_namespaces.clear()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
