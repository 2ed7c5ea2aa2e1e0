"""``domosec scan`` against a home of real servers in network namespaces, then ``domosec assess`` on what it saw.

The home (see conftest): a router running miniupnpd with a port mapping a camera asked for; a
plug with telnet and an anonymous Mosquitto; a camera with an open admin page over HTTP and over
TLS 1.0 with a self-signed certificate, announced over mDNS; a video recorder behind Basic auth
with admin/admin; a hardened broker (TLS, passwords) and a hardened storage box (TLS 1.2+, a
strong password); and a CoAP device nobody put in the model.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.model.elements import SystemModel
from domosec.model.load import load_model
from tests.evidence.scan.conftest import HomeLab, run_domosec

DAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def scanned(home_lab: HomeLab, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("scan-out")
    model = folder / "home.yaml"
    model.write_text(home_lab.model_text(), encoding="utf-8")
    observed = folder / "observed.yaml"
    result = run_domosec(
        home_lab.scanner, "scan", "--target", str(home_lab.lab.network), "--model", model, "-o", observed, "--check-default-credentials"
    )
    assert result.returncode == 0, result.stderr
    return observed, result.stderr


def _model(path: Path) -> SystemModel:
    return load_model(path).model


def _element(model: SystemModel, ident: str):  # type: ignore[no-untyped-def]
    return next(e for e in [*model.gateways, *model.devices] if e.id == ident)


def test_the_plan_is_printed_before_the_scan_starts(scanned: tuple[Path, str]) -> None:
    _, stderr = scanned
    plan_at = stderr.index("domosec scan plan:")
    assert "254 addresses; all private or loopback" in stderr
    assert "default credentials: tried, at most 5 per service" in stderr
    assert plan_at < stderr.index("… scanning 254 hosts")


def test_hosts_are_matched_to_the_model_by_mac_address_and_announced_name(scanned: tuple[Path, str], home_lab: HomeLab) -> None:
    model = _model(scanned[0])
    stderr = scanned[1]
    assert f"{home_lab.plug.address} → plug (by mac)" in stderr
    assert f"{home_lab.cam.address} → cam (by hostname)" in stderr
    assert f"{home_lab.broker.address} → broker (by ip)" in stderr
    plug, cam = _element(model, "plug"), _element(model, "cam")
    assert plug.ip == home_lab.plug.address, "the address is filled in from the scan"
    assert cam.mac == home_lab.cam.mac and cam.ip == home_lab.cam.address
    assert plug.provenance is None, "a declared device stays declared; only its observed facts say 'observed'"


def test_observed_endpoints_carry_protocol_authentication_tls_and_provenance(scanned: tuple[Path, str]) -> None:
    model = _model(scanned[0])
    plug = {(e.protocol, e.port): e for e in _element(model, "plug").endpoints}
    assert plug[("telnet", 23)].authentication == "password"
    assert "login:" in plug[("telnet", 23)].banner
    assert plug[("mqtt", 1883)].authentication == "none"
    assert plug[("mqtt", 1883)].provenance is not None and plug[("mqtt", 1883)].provenance.source == "observed"
    cam = {(e.protocol, e.port): e for e in _element(model, "cam").endpoints}
    https = cam[("https", 443)]
    assert (https.tls, https.certificate, https.weak_ciphers, https.authentication) == ("tls1.0", "self_signed", True, "none")
    assert https.exposure == "internet", "the UPnP mapping 8443 -> 443 puts the admin page on the internet"
    assert cam[("http", 80)].tls == "none" and "nginx" in cam[("http", 80)].banner
    broker = _element(model, "broker").endpoints
    assert [(e.protocol, e.port, e.authentication, e.tls, e.certificate, e.weak_ciphers) for e in broker] == [
        ("mqtts", 8883, "password", "tls1.2", "valid", False)
    ]
    nas = _element(model, "nas").endpoints
    assert [(e.protocol, e.port, e.authentication, e.tls, e.certificate) for e in nas] == [("https", 443, "password", "tls1.2", "valid")]
    assert nas[0].provenance is not None and nas[0].provenance.source == "observed", (
        "the declared endpoint is replaced by what was observed"
    )


def test_upnp_port_mapping_becomes_a_port_forward_of_the_router(scanned: tuple[Path, str]) -> None:
    router = _element(_model(scanned[0]), "router")
    assert router.upnp is True
    assert [(f.target, f.external_port, f.internal_port, f.transport, f.via_upnp) for f in router.port_forwards] == [
        ("cam", 8443, 443, "tcp", True)
    ]
    assert ("upnp", 1900, "udp") in {(e.protocol, e.port, e.transport) for e in router.endpoints}


def test_unknown_host_becomes_an_observed_device_and_default_logins_become_credentials(
    scanned: tuple[Path, str], home_lab: HomeLab
) -> None:
    model = _model(scanned[0])
    stray_id = "host-" + home_lab.stray.address.replace(".", "-")
    stray = _element(model, stray_id)
    assert stray.provenance is not None and stray.provenance.source == "observed"
    assert [(e.protocol, e.port, e.transport, e.authentication) for e in stray.endpoints] == [("coap", 5683, "udp", "none")]
    nvr = _element(model, "nvr")
    assert [(c.kind, c.factory_default) for c in nvr.credentials] == [("web", True)]
    assert "user 'admin'" in (nvr.credentials[0].provenance.detail if nvr.credentials[0].provenance else "")
    assert _element(model, "nas").credentials == [], "a strong password is not guessed"
    assert {e.id for e in model.devices} == {"plug", "cam", "broker", "nas", "nvr", stray_id}, "the scanner itself has no open port"


def test_assess_finds_the_risks_and_nothing_on_hardened_servers(scanned: tuple[Path, str], home_lab: HomeLab) -> None:
    findings = assess([load_model(scanned[0])], load_rules(), as_of=DAY).findings
    # Confirmed findings only: a scan cannot see support periods or update paths, which stay questions (unverified).
    got = {(f.rule_id, f.asset.id) for f in findings if f.confidence == "confirmed"}
    stray_id = "host-" + home_lab.stray.address.replace(".", "-")
    assert got == {
        ("GW-S06", "router"),  # a device forwarded to the internet
        ("GW-S07", "router"),  # UPnP port mapping on
        ("DEV-S06", "plug"),  # telnet on a device
        ("DEV-S07", "plug"),  # anonymous MQTT
        ("DEV-S07", "cam"),  # admin page without a login
        ("DEV-S23", "cam"),  # TLS 1.0, weak suites, self-signed on the internet
        ("DEV-S01", "nvr"),  # admin/admin
        ("DEV-S08", "nvr"),  # Basic auth over plain HTTP
        ("GW-S22", stray_id),  # an unmanaged device
        ("DEV-S07", stray_id),  # its CoAP directory is open
    }
    assert not {a for _, a in got} & {"broker", "nas"}, "hardened servers produce no finding"


def test_default_credentials_are_not_tried_without_the_flag(home_lab: HomeLab, tmp_path: Path) -> None:
    observed = tmp_path / "nvr.yaml"
    result = run_domosec(home_lab.scanner, "scan", "-t", home_lab.nvr.address, "--no-discovery", "-o", observed)
    assert result.returncode == 0, result.stderr
    assert "default credentials: not tried" in result.stderr
    model = _model(observed)
    assert [d.id for d in model.devices] == ["host-" + home_lab.nvr.address.replace(".", "-")], "only the target is in the output"
    assert model.devices[0].credentials == []
    assert [(e.protocol, e.authentication) for e in model.devices[0].endpoints] == [("http", "password")]
