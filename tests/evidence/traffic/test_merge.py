"""Merging a capture into a model: matched devices, destinations as services, observed flows, endpoint facts; declared facts kept."""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt

from domosec.evidence.traffic.merge import merge_traffic
from domosec.evidence.traffic.run import read_capture
from domosec.model.load import load_model_text
from tests.evidence.traffic.frames import PASSWORD, ethernet, ipv4_tcp, pcap

MQTT_CONNECT = b"\x10\x1a\x00\x04MQTT\x04\xc2\x00\x3c\x00\x03dev\x00\x04user\x00\x04" + PASSWORD[:4].encode()
MODEL = """\
domosec: 1
system: {id: flat, name: Flat}
devices:
  - {id: plug, name: Smart plug, type: lighting_plug, vendor: TP-Link, mac: "02:00:00:00:00:11"}
  - {id: hub, name: Hub, type: hub, ip: 192.168.1.2}
services:
  - {id: tplink-cloud, name: TP-Link cloud, kind: cloud_backend, operator: tplinkcloud.com}
flows:
  - {id: f-cloud, from: plug, to: tplink-cloud, protocol: https, encrypted: true}
"""


def client_hello(name: str, version: int = 0x0303) -> bytes:
    sni = name.encode()
    ext = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    body = struct.pack("!H", version) + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def server_hello(version: int) -> bytes:
    body = struct.pack("!H", version) + b"\x22" * 32 + b"\x00" + b"\x00\x2f" + b"\x00"
    handshake = b"\x02" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def capture(tmp_path: Path) -> Path:
    syn = dpkt.tcp.TH_SYN
    frames = [
        ethernet(ipv4_tcp("192.168.1.20", "52.1.2.3", 40001, 443, b"", flags=syn)),
        ethernet(ipv4_tcp("192.168.1.20", "52.1.2.3", 40001, 443, client_hello("eu-wap.tplinkcloud.com"))),
        ethernet(ipv4_tcp("192.168.1.20", "34.5.6.7", 40002, 443, b"", flags=syn)),
        ethernet(ipv4_tcp("192.168.1.20", "34.5.6.7", 40002, 443, client_hello("api.telemetry-hub.io"))),
        ethernet(ipv4_tcp("34.5.6.7", "192.168.1.20", 443, 40002, server_hello(0x0301))),
        ethernet(ipv4_tcp("192.168.1.20", "192.168.1.2", 40003, 1883, b"", flags=syn)),
        ethernet(ipv4_tcp("192.168.1.20", "192.168.1.2", 40003, 1883, MQTT_CONNECT)),
    ]
    # the hub answers from its own MAC address
    hub_reply = bytearray(ethernet(ipv4_tcp("192.168.1.2", "192.168.1.20", 1883, 40003, b"\x20\x02\x00\x00")))
    hub_reply[6:12] = b"\x02\x00\x00\x00\x00\x22"
    frames.append(bytes(hub_reply))
    path = tmp_path / "home.pcap"
    path.write_bytes(pcap(frames))
    return path


def test_capture_is_merged_into_the_model(tmp_path: Path) -> None:
    base = load_model_text(MODEL, "home.yaml").model
    model, report = merge_traffic(read_capture(capture(tmp_path)), base, "flat", "home.pcap")
    assert ("192.168.1.20", "plug", "mac") in report.matched and ("192.168.1.2", "hub", "ip") in report.matched
    assert report.added_devices == [] and report.added_services == ["telemetry-hub.io"]
    observed = next(s for s in model.services if s.id == "telemetry-hub.io")
    assert observed.provenance is not None and observed.provenance.source == "observed" and observed.kind == "other"
    assert observed.endpoints[0].tls == "tls1.0" and observed.endpoints[0].exposure == "internet"
    flows = {(f.source, f.target, f.protocol): f for f in model.flows}
    assert ("plug", "tplink-cloud", "https") in flows and flows[("plug", "tplink-cloud", "https")].id == "f-cloud"  # declared, kept once
    assert sum(1 for f in model.flows if f.target == "tplink-cloud") == 1
    mqtt = flows[("plug", "hub", "mqtt")]
    assert mqtt.encrypted is False and mqtt.data == ["credentials"] and mqtt.authenticated is True
    assert mqtt.provenance is not None and "MQTT CONNECT with user name and password" in mqtt.provenance.detail
    hub = next(d for d in model.devices if d.id == "hub")
    assert hub.mac == "02:00:00:00:00:22" and hub.endpoints[0].tls == "none" and hub.endpoints[0].authentication == "password"
    assert PASSWORD[:4] not in model.model_dump_json()


def test_without_a_model_every_host_and_destination_is_observed(tmp_path: Path) -> None:
    model, report = merge_traffic(read_capture(capture(tmp_path)), None, "captured", "home.pcap")
    assert {ident for _address, ident in report.added_devices} == {"host-192-168-1-20", "host-192-168-1-2"}
    assert sorted(report.added_services) == ["telemetry-hub.io", "tplinkcloud.com"]
    assert all(s.provenance is not None and s.provenance.source == "observed" for s in model.services)
    load_model_text(model.model_dump_json(by_alias=True, exclude_defaults=True), "merged.json")  # the merged model is valid


def test_dhcp_host_name_matches_the_model_device(tmp_path: Path) -> None:
    dhcp = dpkt.dhcp.DHCP(chaddr=b"\x02\x00\x00\x00\x00\x11", opts=((dpkt.dhcp.DHCP_OPT_MSGTYPE, b"\x01"), (12, b"hall-thermostat")))
    udp = dpkt.udp.UDP(sport=68, dport=67, data=bytes(dhcp))
    udp.ulen = len(bytes(udp))
    discover = ethernet(dpkt.ip.IP(src=b"\x00\x00\x00\x00", dst=b"\xff\xff\xff\xff", p=17, data=udp))
    later = ethernet(ipv4_tcp("192.168.1.20", "192.168.1.2", 40003, 1883, b"", flags=dpkt.tcp.TH_SYN))
    path = tmp_path / "dhcp.pcap"
    path.write_bytes(pcap([discover, later]))
    base = load_model_text(
        "domosec: 1\nsystem: {id: flat, name: Flat}\ndevices:\n  - {id: thermo, type: climate, hostname: hall-thermostat}\n", "home.yaml"
    ).model
    model, report = merge_traffic(read_capture(path), base, "flat", "dhcp.pcap")
    assert ("192.168.1.20", "thermo", "hostname") in report.matched
    thermo = next(d for d in model.devices if d.id == "thermo")
    assert thermo.ip == "192.168.1.20" and thermo.mac == "02:00:00:00:00:11"
