"""Identification on the loopback address, on free (unusual) ports: no namespace needed.

The fallback of ``test_identify_lab.py`` where namespaces are unavailable: a real Mosquitto, nginx
and pymodbus server on whatever ports the system hands out, each named by what it answers.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from domosec.evidence.scan.identify import ProbeKit, identify_and_probe
from domosec.evidence.scan.observations import Service
from domosec.evidence.scan.pacing import Pacer
from domosec.evidence.scan.portscan import try_port
from domosec.evidence.scan.probes import insecure_tls_context
from domosec.evidence.scan.targets import Limits
from tests.evidence.scan import servers
from tests.evidence.scan.netlab import LoopbackHost
from tests.ports import free_port


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, int], Path]]:
    missing = [m for m in servers.missing_binaries() if m.startswith(("mosquitto", "nginx"))]
    if missing:
        import os

        (pytest.fail if os.environ.get("CI") else pytest.skip)("missing: " + ", ".join(missing) + " (run `make system-deps`)")
    folder = tmp_path_factory.mktemp("identify-loopback")
    with LoopbackHost() as host:
        ports = {"mqtt": free_port(), "http": free_port(), "modbus": free_port()}
        servers.start_mosquitto(host, folder / "mqtt", port=ports["mqtt"], anonymous=True)
        servers.start_nginx(host, folder / "web", http_port=ports["http"], basic_auth=("owner", "a-long-password-9"))
        log = folder / "modbus.log"
        host.start([sys.executable, "-c", servers.MODBUS_SERVER, host.address, str(ports["modbus"])], log=log)
        host.wait_listening(ports["modbus"], log=log, timeout=30)
        yield ports, folder


def _identify(port: int) -> Service:
    service = Service(port)

    async def go() -> None:
        pacer = Pacer(Limits())
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            kit = ProbeKit(pacer, session, insecure_tls_context(), timeout=3.0, try_defaults=False)
            opened = await try_port(pacer, "127.0.0.1", port, timeout=1.0, read_greeting=True)
            assert opened.state == "open"
            await identify_and_probe(kit, "127.0.0.1", service, opened.greeting)

    asyncio.run(go())
    return service


def test_a_broker_on_any_port_is_named_mqtt_and_found_anonymous(loopback: tuple[dict[str, int], Path]) -> None:
    service = _identify(loopback[0]["mqtt"])
    assert (service.protocol, service.authentication) == ("mqtt", "none")
    assert service.notes[0] == f"port {service.port}: identified by probe: a CONNACK to an MQTT CONNECT"


def test_a_web_login_on_any_port_is_named_http(loopback: tuple[dict[str, int], Path]) -> None:
    service = _identify(loopback[0]["http"])
    assert (service.protocol, service.authentication, service.tls) == ("http", "password", False)
    assert "nginx" in service.banner


def test_a_modbus_server_on_any_port_is_named_with_its_identification(loopback: tuple[dict[str, int], Path]) -> None:
    service = _identify(loopback[0]["modbus"])
    assert (service.protocol, service.authentication, service.banner) == ("modbus", "none", "LabSolar INV-5K 2.1")
    assert "identified by probe: a Modbus TCP reply to Read Device Identification" in service.notes[0]
