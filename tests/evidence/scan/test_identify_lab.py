"""Services are named by what they answer, on any port; excluded hosts get no packet; nmap results import.

Two lab hosts run the same real servers — Mosquitto (anonymous), nginx (an open admin page over
HTTP and over TLS 1.0 with a self-signed certificate), inetutils telnetd, OpenSSH, a pymodbus
Modbus TCP server and libcoap's CoAP server — one on their usual ports, one on unusual ports. A
third host, an "infusion pump" running nginx, is excluded by its model ID while a tcpdump in its
namespace counts every packet addressed to it. Then real ``nmap -sV`` scans the same servers and
its XML goes through ``domosec import nmap``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.elements import Device, SystemModel
from domosec.model.load import load_model
from tests.evidence.scan import servers
from tests.evidence.scan.conftest import require_lab, run_domosec
from tests.evidence.scan.netlab import LabHost, NetLab

USUAL = {"ssh": 22, "telnet": 23, "http": 80, "https": 443, "modbus": 502, "mqtt": 1883, "coap": 5683}
ODD = {"ssh": 2222, "telnet": 2424, "http": 8181, "https": 9443, "modbus": 5020, "mqtt": 18831, "coap": 56830}
EXTRA_PORTS = ",".join(str(p) for name, p in ODD.items() if name != "coap") + f",U:{ODD['coap']}"


@dataclass
class PortLab:
    lab: NetLab
    scanner: LabHost
    usual: LabHost
    odd: LabHost
    pump: LabHost
    folder: Path
    capture: servers.Capture
    model: Path


def _start_all(host: LabHost, folder: Path, ports: dict[str, int], pki: Path) -> None:
    servers.start_mosquitto(host, folder / "mqtt", port=ports["mqtt"], anonymous=True)
    cert = servers.make_certificate(pki, host.name, address=host.address, self_signed=True)
    servers.start_nginx(
        host, folder / "web", http_port=ports["http"], https_port=ports["https"], tls=cert, legacy_tls=True, title="Settings"
    )
    servers.start_telnetd(host, folder / "telnet", port=ports["telnet"])
    servers.start_sshd(host, folder / "ssh", port=ports["ssh"])
    servers.start_modbus_server(host, folder / "modbus", port=ports["modbus"])
    servers.start_coap_server(host, folder / "coap", port=ports["coap"])


@pytest.fixture(scope="module")
def port_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortLab]:
    require_lab()
    folder = tmp_path_factory.mktemp("port-lab")
    with NetLab() as lab:
        scanner, usual, odd, pump = (lab.add_host(n, i) for n, i in (("scan", 2), ("usual", 40), ("odd", 41), ("pump", 42)))
        lab.assert_sealed()
        _start_all(usual, folder / "usual", USUAL, folder / "pki")
        _start_all(odd, folder / "odd", ODD, folder / "pki")
        servers.start_nginx(pump, folder / "pump", http_port=80, title="Infusion pump")
        model = folder / "home.yaml"
        model.write_text(
            "domosec: 1\nsystem: {id: port-lab, name: Port lab}\n"
            f"devices:\n  - {{id: infusion-pump, name: Infusion pump, type: other, ip: {pump.address}}}\n",
            encoding="utf-8",
        )
        capture = servers.start_capture(pump, folder / "capture", f"ether src {scanner.mac} and host {pump.address}")
        yield PortLab(lab, scanner, usual, odd, pump, folder, capture, model)


@pytest.fixture(scope="module")
def scanned(port_lab: PortLab) -> tuple[SystemModel, str]:
    out = port_lab.folder / "observed.yaml"
    targets = ",".join(h.address for h in (port_lab.usual, port_lab.odd, port_lab.pump))
    result = run_domosec(
        port_lab.scanner,
        "scan",
        "-t",
        targets,
        "--model",
        port_lab.model,
        "--exclude",
        "infusion-pump",
        "--ports",
        EXTRA_PORTS,
        "--discovery-wait",
        "1",
        "-o",
        out,
    )
    assert result.returncode == 0, result.stderr
    return load_model(out).model, result.stderr


def _device(model: SystemModel, address: str) -> Device:
    return next(d for d in model.devices if d.ip == address)


def _facts(device: Device) -> dict[str, tuple[object, ...]]:
    return {e.protocol: (e.transport, e.authentication, e.tls, e.certificate, e.weak_ciphers) for e in device.endpoints}


def test_every_service_is_identified_on_its_usual_and_on_an_unusual_port(scanned: tuple[SystemModel, str], port_lab: PortLab) -> None:
    model, _ = scanned
    for host, ports in ((port_lab.usual, USUAL), (port_lab.odd, ODD)):
        got = {(e.protocol, e.port) for e in _device(model, host.address).endpoints}
        assert got == {(name, port) for name, port in ports.items()}, host.name


def test_the_same_facts_and_findings_whatever_the_port(scanned: tuple[SystemModel, str], port_lab: PortLab) -> None:
    model, _ = scanned
    usual, odd = _device(model, port_lab.usual.address), _device(model, port_lab.odd.address)
    assert _facts(usual) == _facts(odd)
    assert _facts(odd)["mqtt"][1] == "none", "the anonymous broker on 18831 is found anonymous"
    assert _facts(odd)["https"][2:] == ("tls1.0", "self_signed", True), "the TLS check runs on 9443"
    assert _facts(odd)["telnet"][1] == "password" and _facts(odd)["modbus"][1] == "none"
    findings = assess([load_model(port_lab.folder / "observed.yaml")], load_rules()).findings
    by_asset: dict[str, set[str]] = {}
    for f in findings:
        by_asset.setdefault(f.asset.id, set()).add(f.rule_id)
    assert by_asset[usual.id] == by_asset[odd.id]
    assert {"DEV-S06", "DEV-S07", "DEV-S23"} <= by_asset[odd.id]


def test_provenance_says_how_each_service_was_identified(scanned: tuple[SystemModel, str], port_lab: PortLab) -> None:
    model, _ = scanned
    detail = {e.protocol: e.provenance.detail if e.provenance else "" for e in _device(model, port_lab.odd.address).endpoints}
    assert detail["mqtt"].startswith("port 18831: identified by probe: a CONNACK to an MQTT CONNECT")
    assert detail["ssh"].startswith("port 2222: identified by banner 'SSH-2.0-OpenSSH")
    assert detail["telnet"].startswith("port 2424: identified by banner (telnet option negotiation)")
    assert detail["modbus"].startswith("port 5020: identified by probe: a Modbus TCP reply")
    assert detail["https"].startswith("port 9443: identified by probe: an HTTP response to GET / inside TLS")
    assert detail["coap"].startswith("port 56830/udp: identified by probe: a CoAP response")
    banner = {e.protocol: e.banner for e in _device(model, port_lab.odd.address).endpoints}
    assert banner["modbus"] == "LabSolar INV-5K 2.1", "the Modbus identification objects become the banner"


def test_an_excluded_device_gets_no_packet_and_the_plan_says_so(scanned: tuple[SystemModel, str], port_lab: PortLab) -> None:
    model, stderr = scanned
    assert f"excluded, never sent a packet: infusion-pump (infusion-pump at {port_lab.pump.address})" in stderr
    assert stderr.index("excluded, never sent a packet") < stderr.index("… scanning")
    assert port_lab.capture.count(port_lab.pump) == 0, "not one frame (ARP included) from the scanner to the excluded host"
    pump = next(d for d in model.devices if d.id == "infusion-pump")
    assert pump.endpoints == []
    # The capture does see the scanner when it does reach the host.
    result = run_domosec(port_lab.scanner, "scan", "-t", port_lab.pump.address, "--no-discovery", "--no-probes", "--ports", "80")
    assert result.returncode == 0, result.stderr
    assert port_lab.capture.count(port_lab.pump) > 0, result.stderr


def test_nmap_results_import_as_the_same_facts(scanned: tuple[SystemModel, str], port_lab: PortLab) -> None:
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed (make system-deps)")
    model, _ = scanned
    # Servers nmap -sV names quickly; on Modbus and telnet its probes wait out every timeout (minutes).
    ports = sorted({p for name in ("ssh", "http", "https", "mqtt") for p in (USUAL[name], ODD[name])})
    xml = port_lab.folder / "nmap.xml"
    scripts = "ssl-enum-ciphers,mqtt-subscribe"
    targets = [port_lab.usual.address, port_lab.odd.address]
    port_lab.scanner.run(
        ["nmap", "-sV", "-n", "-Pn", "-p", ",".join(map(str, ports)), "--script", scripts, "-oX", str(xml), *targets], timeout=300
    )
    imported = port_lab.folder / "from-nmap.yaml"
    result = run_domosec(port_lab.scanner, "import", "nmap", xml, "--model", port_lab.model, "-o", imported)
    assert result.returncode == 0, result.stderr
    theirs = load_model(imported).model
    for host in (port_lab.usual, port_lab.odd):
        ours_by_port = {e.port: e for e in _device(model, host.address).endpoints}
        named = {e.port: e for e in _device(theirs, host.address).endpoints if e.protocol != "other"}
        assert named, f"nmap named nothing on {host.name}"
        for port, endpoint in named.items():
            assert ours_by_port[port].protocol == endpoint.protocol, (host.name, port)
            assert endpoint.provenance is not None and endpoint.provenance.tool == "nmap (domosec import nmap)"
        assert len(named) <= len([p for p in ours_by_port if p in ports]), "domosec names at least every service nmap names"
    usual = _device(theirs, port_lab.usual.address)
    https = next(e for e in usual.endpoints if e.port == 443)
    assert (https.tls, https.weak_ciphers) == ("tls1.0", True), "ssl-enum-ciphers becomes the endpoint's TLS facts"
    mqtt = next(e for e in usual.endpoints if e.port == 1883)
    assert (mqtt.protocol, mqtt.authentication) == ("mqtt", "none"), "mqtt-subscribe reading topics means anonymous"
    assert next(d for d in theirs.devices if d.id == "infusion-pump").endpoints == [], "hosts merge into the model by address"
