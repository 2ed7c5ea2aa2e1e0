"""Fixtures for scan tests: sealed network labs with real servers, and a way to run ``domosec scan`` inside them.

The lab tests need root (network namespaces) and the Debian packages ``make test`` installs. In CI
(``CI`` set) a missing piece fails the test; on a developer machine without root the lab tests are
skipped, and the loopback tests still run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.evidence.scan import servers
from tests.evidence.scan.netlab import LabHost, NetLab, namespaces_available

ROOT = Path(__file__).resolve().parents[3]


def require_lab() -> None:
    """Fail in CI, skip elsewhere, when namespaces or the server packages are missing."""
    problems = []
    if not namespaces_available():
        problems.append("cannot create network namespaces (needs root and iproute2)")
    missing = servers.missing_binaries()
    if missing:
        problems.append("missing: " + ", ".join(missing) + " (run `make system-deps`)")
    if problems:
        message = "scan lab unavailable: " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def run_domosec(host: LabHost, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m domosec`` inside ``host``'s namespace, as a user on that machine would."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        ["ip", "netns", "exec", host.ns, sys.executable, "-m", "domosec", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@dataclass
class HomeLab:
    """The test home: a router with UPnP, and devices from careless to hardened, plus one nobody listed."""

    lab: NetLab
    scanner: LabHost
    router: LabHost
    plug: LabHost
    cam: LabHost
    broker: LabHost
    nas: LabHost
    nvr: LabHost
    stray: LabHost
    folder: Path

    def model_text(self) -> str:
        """The household's own model: every device but the stray one, identified the ways users do."""
        return f"""\
domosec: 1
system: {{id: lab-home, name: Lab home}}
gateways:
  - {{id: router, name: Home router, kind: router, ip: {self.router.address}}}
devices:
  - {{id: plug, name: Kitchen plug, type: lighting_plug, mac: "{self.plug.mac.upper()}"}}
  - {{id: cam, name: Baby camera, type: camera, hostname: babycam.local}}
  - {{id: broker, name: Heating controller, type: climate, ip: {self.broker.address}}}
  - {{id: nas, name: Photo storage, type: other, ip: {self.nas.address},
     endpoints: [{{protocol: https, port: 443, exposure: lan, purpose: admin, authentication: password}}]}}
  - {{id: nvr, name: Video recorder, type: camera, ip: {self.nvr.address}}}
"""


NAS_PASSWORD = "correct-horse-battery-staple-7"
BROKER_PASSWORD = "tQ8-long-random-broker-secret"


@pytest.fixture(scope="module")
def home_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeLab]:
    require_lab()
    folder = tmp_path_factory.mktemp("home-lab")
    with NetLab() as lab:
        scanner = lab.add_host("scan", 2)
        router = lab.add_host("router", 1)
        lab.add_wan(router, "192.0.3.1")
        home = HomeLab(
            lab,
            scanner,
            router,
            plug=lab.add_host("plug", 10),
            cam=lab.add_host("cam", 11),
            broker=lab.add_host("broker", 12),
            nas=lab.add_host("nas", 13),
            nvr=lab.add_host("nvr", 14),
            stray=lab.add_host("stray", 20),
            folder=folder,
        )
        lab.assert_sealed()
        pki = folder / "pki"
        ca = servers.make_ca(pki)
        servers.start_miniupnpd(router, folder / "router", lan=str(lab.network))
        servers.start_telnetd(home.plug, folder / "plug-telnet")
        servers.start_mosquitto(home.plug, folder / "plug-mqtt", port=1883, anonymous=True)
        cam_cert = servers.make_certificate(pki, "babycam", address=home.cam.address, self_signed=True)
        servers.start_nginx(
            home.cam, folder / "cam-web", http_port=80, https_port=443, tls=cam_cert, legacy_tls=True, title="Camera settings"
        )
        servers.start_mdns_advertiser(
            home.cam, folder / "cam-mdns", name="Baby camera", kind="_http._tcp.local.", port=80, server="babycam.local.", model="BC-1"
        )
        broker_cert = servers.make_certificate(pki, "broker", address=home.broker.address, self_signed=False, ca=ca)
        servers.start_mosquitto(
            home.broker, folder / "broker-mqtt", port=8883, anonymous=False, tls=broker_cert, users={"hub": BROKER_PASSWORD}
        )
        nas_cert = servers.make_certificate(pki, "nas", address=home.nas.address, self_signed=False, ca=ca)
        servers.start_nginx(
            home.nas, folder / "nas-web", https_port=443, tls=nas_cert, basic_auth=("owner", NAS_PASSWORD), title="Photo storage"
        )
        servers.start_nginx(home.nvr, folder / "nvr-web", http_port=80, basic_auth=("admin", "admin"), title="NVR")
        servers.start_coap_server(home.stray, folder / "stray-coap")
        servers.map_port(home.cam, router, external=8443, internal=443)
        servers.wait_mdns_registered(folder / "cam-mdns")
        yield home
