"""Run one Home Assistant session in a network namespace of its own, and leave its configuration behind.

    unshare --net .venv-ha/bin/python session.py --config DIR --hass .venv-ha/bin/hass --mosquitto /usr/sbin/mosquitto

Inside the new namespace only the loopback interface exists (this script brings it up), so the
integrations that onboarding sets up (Met.no, Radio Browser, Google Translate) cannot reach any
address outside the machine: their attempts fail at once and no traffic leaves. The script starts
Mosquitto and Home Assistant on free loopback ports, populates Home Assistant (``ha_populate``),
stops both, and prints a JSON summary on stdout. Run it with the Python of Home Assistant's venv.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import ha_populate

CONFIGURATION = """\
homeassistant:
  name: Live Test Home
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  unit_system: metric
  time_zone: Europe/Amsterdam
  currency: EUR
  country: NL
  auth_providers:
    - type: homeassistant
  auth_mfa_modules:
    - type: totp
http:
  server_host: 127.0.0.1
  server_port: {port}
  ip_ban_enabled: true
  login_attempts_threshold: 5
api:
websocket_api:
auth:
onboarding:
config:
person:
demo:
logger:
  default: warning
"""
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """Bring up ``lo``, the only interface of a new network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))


def free_ports(count: int) -> list[int]:
    """Loopback ports nothing listens on, all different: each stays bound until every one is chosen.

    This script runs alone in its own network namespace (and outside the test suite's package), so no
    other process competes for its ports; asking the kernel for one port at a time could still give
    the same port twice.
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def only_loopback() -> bool:
    """True when no interface but ``lo`` exists: the namespace is sealed."""
    names = [line.split(":")[0].strip() for line in Path("/proc/net/dev").read_text().splitlines()[2:]]
    return names == ["lo"]


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Home Assistant exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Home Assistant did not answer on {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--hass", required=True)
    parser.add_argument("--mosquitto", required=True)
    parser.add_argument(
        "--hold",
        action="store_true",
        help="after populating, write access tokens beside the configuration, print the summary and keep both servers "
        "running until a line arrives on stdin (the live-import test runs domosec in this namespace meanwhile)",
    )
    args = parser.parse_args()
    loopback_up()
    if not only_loopback():
        print("refusing to run: this network namespace has interfaces other than lo", file=sys.stderr)
        return 2
    work: Path = args.config.parent
    args.config.mkdir(parents=True, exist_ok=True)
    port, mqtt_port = free_ports(2)
    (args.config / "configuration.yaml").write_text(CONFIGURATION.format(port=port), encoding="utf-8")
    (work / "mosquitto.conf").write_text(f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8")
    started = time.monotonic()
    with (work / "mosquitto.log").open("wb") as broker_log:
        broker = subprocess.Popen(
            [args.mosquitto, "-c", str(work / "mosquitto.conf")], stdout=broker_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        server = subprocess.Popen(
            [args.hass, "-c", str(args.config), "--skip-pip", "--log-file", str(work / "hass.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/api/onboarding", server)
            up = time.monotonic() - started
            summary = asyncio.run(ha_populate.populate(f"http://127.0.0.1:{port}", mqtt_port, token_dir=work if args.hold else None))
            if args.hold:
                print(json.dumps({"port": port, "summary": summary, "ready": True}), flush=True)
                sys.stdin.readline()
            stop(server, grace=60)
            if server.returncode != 0:
                raise RuntimeError(f"Home Assistant stopped with {server.returncode}")
        except Exception as exc:
            log = (work / "hass.log").read_text(errors="replace")[-4000:] if (work / "hass.log").exists() else ""
            print(f"live session failed: {exc}\n--- hass.log (end) ---\n{log}", file=sys.stderr)
            return 1
        finally:
            stop(server, grace=10)
            stop(broker, grace=10)
    json.dump(
        {"port": port, "summary": summary, "seconds_until_up": round(up, 1), "seconds": round(time.monotonic() - started, 1)}, sys.stdout
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
