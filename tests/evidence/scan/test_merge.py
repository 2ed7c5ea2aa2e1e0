"""Observations become model facts: matching hosts to modelled elements, merging endpoints, forwards and logins."""

from __future__ import annotations

import datetime as dt

import pytest

from domosec.engine.assess import assess
from domosec.engine.ruleset import load_rules
from domosec.evidence.scan.merge import MergeOptions, merge_observations
from domosec.evidence.scan.observations import Gateway, Host, Observations, PortMapping, Service, TlsReport
from domosec.evidence.scan.output import model_yaml
from domosec.model.load import load_model, load_model_text
from tests.conftest import EXAMPLES

HOME = """\
domosec: 1
system: {id: flat, name: Flat}
gateways:
  - {id: router, kind: router, ip: 192.168.1.1}
devices:
  - {id: cam, name: Hall camera, type: camera, mac: "AA-BB-CC-00-11-22", ip: 192.168.1.99}
  - {id: tv, name: Living room TV, type: tv_media}
  - id: speaker
    type: voice_assistant
    hostname: kitchen-speaker.local
    endpoints:
      - {protocol: https, port: 8443, exposure: internet, purpose: api, authentication: token, tls: tls1.3}
      - {protocol: other, port: 9000, exposure: lan, purpose: debug}
"""


def _observations() -> Observations:
    obs = Observations(complete=True)
    router = obs.host("192.168.1.1")
    router.gateway = Gateway(
        "http://192.168.1.1:5000/rootDesc.xml",
        mappings=[
            PortMapping(8554, "192.168.1.40", 554, "tcp", "cam"),
            PortMapping(2323, "192.168.1.77", 23, "tcp", "debug"),
            PortMapping(9999, "192.168.1.40", 9999, "udp", "off", enabled=False),
        ],
    )
    router.service(1900, "udp").protocol = "upnp"
    cam = obs.host("192.168.1.40")
    cam.mac = "aa:bb:cc:00:11:22"
    rtsp = cam.service(554)
    rtsp.protocol, rtsp.authentication = "rtsp", "none"
    tv = obs.host("192.168.1.50")
    tv.names.add("Living room TV")
    tv.mdns_services.add("_googlecast._tcp")
    speaker = obs.host("192.168.1.60")
    speaker.hostnames.add("Kitchen-Speaker")
    https = speaker.service(8443)
    https.protocol, https.tls, https.authentication = "https", True, "none"
    https.tls_report = TlsReport(versions=["tls1.1", "tls1.2"], weak_ciphers=["TLS_RSA_WITH_3DES_EDE_CBC_SHA"], certificate="expired")
    web = speaker.service(80)
    web.protocol, web.authentication, web.default_login = "http", "password", "admin"
    return obs


def test_hosts_match_by_mac_before_address_then_by_names() -> None:
    base = load_model_text(HOME).model
    merged, report = merge_observations(_observations(), base, MergeOptions())
    assert sorted(report.matched) == [
        ("192.168.1.1", "router", "ip"),
        ("192.168.1.40", "cam", "mac"),
        ("192.168.1.50", "tv", "name"),
        ("192.168.1.60", "speaker", "hostname"),
    ]
    cam = next(d for d in merged.devices if d.id == "cam")
    assert cam.ip == "192.168.1.99", "a declared address is kept; the MAC address said it is the same camera"
    tv = next(d for d in merged.devices if d.id == "tv")
    assert tv.ip == "192.168.1.50"
    assert base.devices[1].ip == "", "the base model is not modified"


def test_observed_endpoint_replaces_the_declared_one_and_keeps_a_wider_exposure() -> None:
    merged, _ = merge_observations(_observations(), load_model_text(HOME).model, MergeOptions())
    speaker = next(d for d in merged.devices if d.id == "speaker")
    by_port = {e.port: e for e in speaker.endpoints}
    https = by_port[8443]
    assert (https.authentication, https.tls, https.weak_ciphers, https.certificate, https.exposure, https.purpose) == (
        "none",
        "tls1.1",
        True,
        "expired",
        "internet",
        "api",
    )
    assert https.provenance is not None and https.provenance.source == "observed"
    assert "TLS versions accepted: tls1.1, tls1.2" in https.provenance.detail
    assert by_port[9000].provenance is None, "a declared endpoint the scan did not see stays as declared"
    assert by_port[80].tls == "none"
    assert [(c.kind, c.factory_default, c.unique_per_device) for c in speaker.credentials] == [("web", True, False)]


def test_port_mappings_become_forwards_to_known_or_new_devices() -> None:
    merged, report = merge_observations(_observations(), load_model_text(HOME).model, MergeOptions())
    router = merged.gateways[0]
    assert router.upnp is True
    assert [(f.target, f.external_port, f.internal_port, f.via_upnp) for f in router.port_forwards] == [
        ("host-192-168-1-77", 2323, 23, True),
        ("cam", 8554, 554, True),
    ]
    cam = next(d for d in merged.devices if d.id == "cam")
    assert [(e.protocol, e.port, e.exposure) for e in cam.endpoints] == [("rtsp", 554, "internet")]
    hidden = next(d for d in merged.devices if d.id == "host-192-168-1-77")
    assert hidden.provenance is not None and "target of a UPnP port mapping" in hidden.provenance.detail
    assert [(e.protocol, e.port, e.exposure) for e in hidden.endpoints] == [("telnet", 23, "internet")]
    assert ("192.168.1.77", "host-192-168-1-77", "device") in report.added and report.forwards == 2


def test_without_a_model_every_host_is_new_and_the_output_round_trips() -> None:
    merged, report = merge_observations(_observations(), None, MergeOptions(home_id="scan-1", targets="192.168.1.0/24"))
    assert merged.system.id == "scan-1" and "192.168.1.0/24" in merged.system.description
    assert [g.id for g in merged.gateways] == ["host-192-168-1-1"] and merged.gateways[0].kind == "router"
    assert {d.id: d.type for d in merged.devices} == {
        "host-192-168-1-40": "camera",
        "host-192-168-1-50": "tv_media",
        "host-192-168-1-60": "other",
        "host-192-168-1-77": "other",
    }
    assert len(report.added) == 5
    text = model_yaml(merged, header=["test"])
    assert text == model_yaml(load_model_text(text).model, header=["test"]), "writing what was read back changes nothing"
    findings = assess([load_model_text(text)], load_rules(), as_of=dt.date(2026, 11, 23)).findings
    unlisted = sorted(f.asset.id for f in findings if f.rule_id == "GW-S22")
    assert unlisted == ["host-192-168-1-1", "host-192-168-1-40", "host-192-168-1-50", "host-192-168-1-60", "host-192-168-1-77"]


def test_new_ids_never_collide_with_existing_ones() -> None:
    base = load_model_text(HOME.replace("id: tv,", "id: host-192-168-1-50,")).model
    obs = Observations()
    obs.host("192.168.1.50").services[(80, "tcp")] = Service(80, protocol="http")
    merged, _ = merge_observations(obs, base, MergeOptions())
    assert "host-192-168-1-50-2" in {d.id for d in merged.devices}


def test_timestamps_only_when_asked() -> None:
    obs = Observations()
    obs.hosts["10.0.0.5"] = Host("10.0.0.5", services={(22, "tcp"): Service(22, protocol="ssh", banner="SSH-2.0-dropbear")})
    plain, _ = merge_observations(obs, None, MergeOptions())
    stamped, _ = merge_observations(obs, None, MergeOptions(at="2026-11-23T10:00:00+00:00"))
    assert plain.devices[0].endpoints[0].provenance.at is None  # type: ignore[union-attr]
    assert stamped.devices[0].endpoints[0].provenance.at == "2026-11-23T10:00:00+00:00"  # type: ignore[union-attr]
    assert plain.devices[0].endpoints[0].tls is None, "SSH is not TLS-layered: no tls fact"


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_a_scan_that_saw_nothing_writes_the_model_back_unchanged(example: str) -> None:
    base = load_model(EXAMPLES / example).model
    merged, report = merge_observations(Observations(complete=True), base, MergeOptions())
    text = model_yaml(merged, header=["nothing observed"])
    assert load_model_text(text).model == base
    assert report.matched == report.added == []
