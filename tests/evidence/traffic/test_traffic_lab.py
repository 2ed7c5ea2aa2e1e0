"""`domosec traffic` on a real capture: tcpdump on a sealed lab's switch while real clients talk to real servers.

The lab (tests/evidence/scan/netlab.py) has a sensor that logs in to Mosquitto with a password,
fetches a page from nginx with HTTP Basic authorization, tries a telnet login (inetutils telnetd),
asks an outside resolver (dnsmasq on a 100.64.x address, still inside the lab) for a vendor name and
then talks TLS 1.0 to that name (openssl s_client), while the camera announces itself over mDNS and a light
announces itself over SSDP (async-upnp-client's UPnP device server, a domosec dependency).
The capture is read back and every fact is checked, and no password may appear anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.evidence.scan import servers
from tests.evidence.scan.conftest import ROOT, require_lab
from tests.evidence.scan.netlab import NetLab

MQTT_PASSWORD = "mqtt-Pa55-w0rd-7731"
HTTP_PASSWORD = "http-Pa55-w0rd-4417"
TELNET_PASSWORD = "telnet-Pa55-w0rd-2290"
TELNET_CLIENT = """
import sys, telnetlib, warnings
warnings.simplefilter("ignore")
session = telnetlib.Telnet(sys.argv[1], 23, timeout=15)
session.read_until(b"login: ", timeout=15)
session.write(b"lab\\r\\n")
session.read_until(b"assword:", timeout=15)
session.write(sys.argv[2].encode() + b"\\r\\n")
session.read_until(b"incorrect", timeout=15)
session.close()
"""
CLOUD = "100.64.7.1"
CLOUD_NAME = "telemetry.vendor-cloud.example.com"
EMAIL = "jane.doe@example.org"
LATITUDE, LONGITUDE = "48.85661", "2.35222"
SERIAL = "SN4471-99812"
REGISTRATION = f'{{"owner":"{EMAIL}","home":{{"lat":{LATITUDE},"lon":{LONGITUDE}}},"serialNumber":"{SERIAL}"}}'
SINK = """
import socket, sys
server = socket.create_server((sys.argv[1], 7000))
while True:
    conn, _ = server.accept()
    while conn.recv(65536):
        pass
    conn.close()
"""
UNKNOWN_CLIENT = """
import os, socket, sys
for data in (os.urandom(1400), (b"status=ok;temperature=21.5;humidity=40;uptime=12345;battery=87;" * 30)[:1400]):
    with socket.create_connection((sys.argv[1], 7000)) as conn:
        conn.sendall(data)
"""

ANNOUNCER = """
import asyncio, sys, xml.etree.ElementTree as ET
from datetime import timedelta
from async_upnp_client.const import DeviceInfo
from async_upnp_client.server import SsdpAdvertisementAnnouncer, UpnpServer, UpnpServerDevice

class Light(UpnpServerDevice):
    DEVICE_DEFINITION = DeviceInfo(
        device_type=sys.argv[2], friendly_name="Hall light", manufacturer="Lab", manufacturer_url=None, model_description=None,
        model_name="HL-1", model_number="1", model_url=None, serial_number=None, udn="uuid:8c1f0a52-6f0e-4d5b-9a57-3d1c0f2b7a11",
        upc=None, presentation_url=None, url="/device.xml", icons=[], xml=ET.Element("device"),
    )
    EMBEDDED_DEVICES = []
    SERVICES = []

async def main():
    SsdpAdvertisementAnnouncer.ANNOUNCE_INTERVAL = timedelta(seconds=0.2)  # every advertisement now, not one per 30 s
    server = UpnpServer(Light, (sys.argv[1], 0), http_port=49152)
    await server.async_start()
    await asyncio.sleep(1.5)
    await server.async_stop()  # ssdp:byebye

asyncio.run(main())
"""
LIGHT_TYPE = "urn:schemas-upnp-org:device:BinaryLight:1"


@dataclasses.dataclass
class Captured:
    pcap: Path
    folder: Path
    sensor_mac: str
    sensor: str
    broker: str
    camera: str
    light: str


def _require_tools() -> None:
    require_lab()
    missing = [tool for tool in ("dnsmasq", "dig", "openssl", "curl", "mosquitto_pub") if shutil.which(tool) is None]
    if missing:
        pytest.skip("missing: " + ", ".join(missing) + " (Debian dnsmasq-base, bind9-dnsutils, openssl, curl, mosquitto-clients)")


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    _require_tools()
    folder = tmp_path_factory.mktemp("traffic-lab")
    with NetLab() as lab:
        sensor = lab.add_host("sensor", 20)
        broker = lab.add_host("broker", 10)
        camera = lab.add_host("camera", 30)
        cloud_host = lab.add_host("cloud", 40)
        light = lab.add_host("light", 50)
        cloud_host.run(["ip", "addr", "add", f"{CLOUD}/32", "dev", "eth0"])
        sensor.run(["ip", "route", "add", f"{CLOUD}/32", "dev", "eth0"])
        cloud = dataclasses.replace(cloud_host, address=CLOUD)
        lab.assert_sealed()
        servers.start_mosquitto(broker, folder / "mqtt", port=1883, anonymous=False, users={"sensor": MQTT_PASSWORD})
        servers.start_nginx(camera, folder / "cam", http_port=80, basic_auth=("admin", HTTP_PASSWORD))
        servers.start_telnetd(broker, folder / "telnet")
        cert = servers.make_certificate(folder / "tls", CLOUD_NAME, address=CLOUD, self_signed=True)
        servers.start_nginx(cloud, folder / "cloud", http_port=80, https_port=443, tls=cert, legacy_tls=True)
        cloud.start([sys.executable, "-c", SINK, CLOUD], log=folder / "sink.log")
        cloud.wait_listening(7000, log=folder / "sink.log")
        dns_log = folder / "dnsmasq.log"
        cloud.start(
            ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces", f"--listen-address={CLOUD}",
             "--user=root", f"--pid-file={folder / 'dnsmasq.pid'}", f"--address=/{CLOUD_NAME}/{CLOUD}"],
            log=dns_log,
        )  # fmt: skip
        cloud.wait_listening(53, "udp", log=dns_log)
        pcap, tlog = folder / "home.pcap", folder / "tcpdump.log"
        with tlog.open("wb") as out:
            tcpdump = subprocess.Popen(
                ["ip", "netns", "exec", lab.switch, "tcpdump", "-i", "br0", "-n", "--immediate-mode", "-U", "-w", str(pcap)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            _wait_text(tlog, "listening on")
            servers.start_mdns_advertiser(
                camera, folder / "cam-mdns", name="Hall camera", kind="_http._tcp.local.", port=80, server="hallcam.local.", model="HC-1"
            )
            servers.wait_mdns_registered(folder / "cam-mdns")
            light.run([sys.executable, "-c", ANNOUNCER, light.address, LIGHT_TYPE], timeout=30)  # a UPnP device announces itself
            sensor.run(
                ["mosquitto_pub", "-h", broker.address, "-p", "1883", "-u", "sensor", "-P", MQTT_PASSWORD, "-t", "home/t", "-m", "21.5"]
            )
            sensor.run(["curl", "-s", "-o", "/dev/null", "-u", f"admin:{HTTP_PASSWORD}", "-A", "SensorFW/2.1", f"http://{camera.address}/"])
            sensor.run(
                ["curl", "-s", "-o", "/dev/null", "-H", f"Host: {CLOUD_NAME}", "-H", "Content-Type: application/json",
                 "--data", REGISTRATION, f"http://{CLOUD}/v1/register"]
            )  # fmt: skip
            for _ in range(3):  # a motion sensor's events, in clear over MQTT
                sensor.run(
                    ["mosquitto_pub", "-h", broker.address, "-p", "1883", "-u", "sensor", "-P", MQTT_PASSWORD,
                     "-t", "zigbee2mqtt/hall_motion", "-m", '{"occupancy":true,"battery":97}']
                )  # fmt: skip
            sensor.run([sys.executable, "-c", UNKNOWN_CLIENT, CLOUD])  # an unknown protocol: random bytes, then text
            sensor.run([sys.executable, "-c", TELNET_CLIENT, broker.address, TELNET_PASSWORD])  # a login that fails, in clear
            answer = sensor.run(["dig", "+short", "+tries=1", "+time=3", f"@{CLOUD}", CLOUD_NAME]).stdout.strip()
            assert answer == CLOUD
            hello = sensor.run(
                ["openssl", "s_client", "-connect", f"{CLOUD}:443", "-servername", CLOUD_NAME, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
                check=False,
                timeout=20,
            )
            assert "Protocol  : TLSv1" in hello.stdout or "TLSv1\n" in hello.stdout, hello.stdout[-800:] + hello.stderr[-800:]
            _wait_packets(pcap)
        finally:
            os.killpg(tcpdump.pid, signal.SIGINT)
            try:
                tcpdump.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(tcpdump.pid, signal.SIGKILL)
                tcpdump.wait(timeout=10)
        yield Captured(pcap, folder, sensor.mac, sensor.address, broker.address, camera.address, light.address)


def _wait_text(path: Path, text: str) -> None:
    import time

    deadline = time.monotonic() + 15
    while text not in (path.read_text(errors="replace") if path.exists() else ""):
        assert time.monotonic() < deadline, path.read_text(errors="replace")
        time.sleep(0.05)


def _wait_packets(pcap: Path) -> None:
    import time

    time.sleep(1.0)  # tcpdump writes each packet at once (-U); a last packet may still be in flight
    assert pcap.stat().st_size > 24


def run_traffic(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "domosec", "traffic", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_flow_table_has_every_fact_and_no_secret(captured: Captured) -> None:
    trackers = captured.folder / "trackers.txt"
    trackers.write_text("# a hosts-format tracker list\n0.0.0.0 vendor-cloud.example.com\n", encoding="utf-8")
    result = run_traffic(captured.pcap, "--format", "json", "--trackers", trackers)
    assert result.returncode == 0, result.stderr
    for secret in (MQTT_PASSWORD, HTTP_PASSWORD, TELNET_PASSWORD, "c2Vuc29y", "YWRtaW46"):  # nor the Basic header's base64
        assert secret not in result.stdout and secret not in result.stderr
    doc = json.loads(result.stdout)
    flows = doc["flows"]
    mqtt = [f for f in flows if f["protocol"] == "mqtt" and f["server"] == captured.broker]
    assert mqtt and mqtt[0]["client"] == captured.sensor and mqtt[0]["client_mac"] == captured.sensor_mac
    assert mqtt[0]["credentials_seen"] == ["MQTT CONNECT with user name and password"] and mqtt[0]["encrypted"] is False
    telnet = [f for f in flows if f["protocol"] == "telnet" and f["server"] == captured.broker]
    assert telnet[0]["credentials_seen"] == ["telnet login after a password prompt"] and telnet[0]["encrypted"] is False
    http = [f for f in flows if f["protocol"] == "http" and f["server"] == captured.camera]
    assert http[0]["credentials_seen"] == ["HTTP Basic authorization"] and http[0]["user_agent"] == "SensorFW/2.1"
    tls = [f for f in flows if f["server"] == CLOUD and f["server_port"] == 443]
    assert tls[0]["sni"] == CLOUD_NAME and tls[0]["tls_version"] == "tls1.0" and tls[0]["encrypted"] is True
    assert tls[0]["registered_domain"] == "example.com" and tls[0]["packets"] > 3 and tls[0]["bytes"] > 500
    dns = [f for f in flows if f["protocol"] == "dns" and f["server"] == CLOUD]
    assert dns and dns[0]["destination"] == CLOUD_NAME
    camera = next(h for h in doc["hosts"] if h["address"] == captured.camera)
    assert "hallcam" in camera["hostnames"]  # announced over mDNS while the capture ran
    host = next(h for h in doc["hosts"] if h["address"] == captured.sensor)
    assert host["mac"] == captured.sensor_mac and CLOUD_NAME in host["dns_asked"]
    kinds = {(f["kind"], f["device"]) for f in doc["findings"]}
    assert {
        ("cleartext-credentials", captured.sensor),
        ("old-tls", captured.sensor),
        ("clear-dns-outside", captured.sensor),
        ("tracker", captured.sensor),
    } <= kinds
    assert tls[0]["tracker_list"] == "trackers.txt"
    assert doc["capture"]["warnings"] == []


def test_ssdp_announcements_name_the_device_type_and_server(captured: Captured) -> None:
    from async_upnp_client.server import HEADER_SERVER

    result = run_traffic(captured.pcap, "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    ssdp = [f for f in doc["flows"] if f["protocol"] == "ssdp" and f["client"] == captured.light]
    assert ssdp and ssdp[0]["server"] == "239.255.255.250" and ssdp[0]["server_port"] == 1900 and ssdp[0]["encrypted"] is False
    light = next(h for h in doc["hosts"] if h["address"] == captured.light)
    assert light["ssdp_servers"] == [HEADER_SERVER]  # "async-upnp-client/0.49.0 UPnP/2.0 Server/1.0"
    assert LIGHT_TYPE in light["ssdp_types"] and "upnp:rootdevice" in light["ssdp_types"]
    assert "uuid:8c1f0a52-6f0e-4d5b-9a57-3d1c0f2b7a11" in light["ssdp_types"]  # a device's own NT is its UDN
    camera = next(h for h in doc["hosts"] if h["address"] == captured.camera)
    assert camera["ssdp_servers"] == [] and camera["ssdp_types"] == []  # mDNS only


def test_merged_model_is_assessed_with_the_observed_evidence(captured: Captured, tmp_path: Path) -> None:
    model = tmp_path / "home.yaml"
    model.write_text(
        "domosec: 1\nsystem: {id: lab-home, name: Lab home}\n"
        f'devices:\n  - id: temp-sensor\n    name: Temperature sensor\n    type: climate\n    mac: "{captured.sensor_mac.upper()}"\n',
        encoding="utf-8",
    )
    observed = tmp_path / "observed.yaml"
    result = run_traffic(captured.pcap, "--model", model, "-o", observed)
    assert result.returncode == 0, result.stderr
    text = observed.read_text(encoding="utf-8")
    assert MQTT_PASSWORD not in text and HTTP_PASSWORD not in text and MQTT_PASSWORD not in result.stderr
    assert "temp-sensor (by mac)" in result.stderr
    assessed = subprocess.run(
        [sys.executable, "-m", "domosec", "assess", str(observed), "--format", "json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert assessed.returncode in (0, 1), assessed.stderr
    findings = json.loads(assessed.stdout)["findings"]
    by_rule = {(f["rule_id"], f["asset"]["id"]) for f in findings}
    assert ("NET-S10", "observed-temp-sensor-host-" + captured.broker.replace(".", "-") + "-mqtt") in by_rule
    assert ("SVC-S16", "example.com") in by_rule  # the TLS 1.0 the cloud negotiated, on its endpoint
    assert ("SVC-P13", "example.com") in by_rule  # a destination the model does not declare


def test_personal_data_entropy_and_presence_events_are_seen_never_shown(captured: Captured) -> None:
    result = run_traffic(captured.pcap, "--format", "json")
    assert result.returncode == 0, result.stderr
    for value in (EMAIL, "jane.doe", LATITUDE, LONGITUDE, SERIAL):  # counted by kind, never written
        assert value not in result.stdout and value not in result.stderr
    doc = json.loads(result.stdout)
    flows = doc["flows"]
    posted = [f for f in flows if f["server"] == CLOUD and f["server_port"] == 80]
    assert posted[0]["personal_data_seen"] == {"coordinates": 1, "e-mail address": 1, "serial number": 1}
    assert posted[0]["destination"] == CLOUD_NAME
    events = [f for f in flows if f["server"] == captured.broker and f["personal_data_seen"].get("presence event")]
    assert len(events) == 3
    unknown = sorted((f for f in flows if f["server_port"] == 7000), key=lambda f: f["payload_entropy"])
    assert [f["looks_encrypted"] for f in unknown] == [False, True]
    assert unknown[0]["payload_entropy"] < 6 and unknown[1]["payload_entropy"] > 7.5
    findings = {(f["kind"], f["device"]): f["detail"] for f in doc["findings"]}
    assert findings[("personal-data-in-clear", captured.sensor)].startswith(
        "coordinates ×1, e-mail address ×1, serial number ×1 seen in clear"
    )
    assert (
        findings[("presence-events-in-clear", captured.sensor)]
        == f"3 motion, door or occupancy message(s) in clear (mqtt to {captured.broker}:1883)"
    )
    assert "7000: unknown protocol, payload entropy" in findings[("unknown-protocol-clear", captured.sensor)]


def test_tracker_radar_owner_and_geoip_country_reach_the_model_and_its_rules(captured: Captured, tmp_path: Path) -> None:
    from tests.evidence.traffic.geo import country_database

    radar = tmp_path / "tracker-radar"
    (radar / "domains" / "US").mkdir(parents=True)
    (radar / "entities").mkdir()
    owner = {"name": "Vendor Cloud Analytics Inc.", "displayName": "Vendor Cloud Analytics"}
    domain = {"domain": "vendor-cloud.example.com", "owner": owner, "categories": ["Analytics", "Audience Measurement"], "prevalence": 0.01}
    (radar / "domains" / "US" / "vendor-cloud.example.com.json").write_text(json.dumps(domain), encoding="utf-8")
    entity = {**owner, "properties": ["vendor-cloud.example.com", "vca-metrics.example.net"]}
    (radar / "entities" / "Vendor Cloud Analytics Inc..json").write_text(json.dumps(entity), encoding="utf-8")
    geoip = country_database(tmp_path / "countries.mmdb", {"100.64.0.0/10": "DE"})
    result = run_traffic(captured.pcap, "--format", "json", "--trackers", radar, "--geoip", geoip)
    assert result.returncode == 0, result.stderr
    tls = next(f for f in json.loads(result.stdout)["flows"] if f["server"] == CLOUD and f["server_port"] == 443)
    assert (tls["owner"], tls["tracker_list"], tls["country"]) == ("Vendor Cloud Analytics", "tracker-radar", "DE")
    assert tls["tracker_categories"] == ["Analytics", "Audience Measurement"]

    model = tmp_path / "home.yaml"
    model.write_text(
        "domosec: 1\nsystem: {id: lab-home, name: Lab home, jurisdiction: GB}\n"
        f'devices:\n  - id: temp-sensor\n    name: Temperature sensor\n    type: climate\n    mac: "{captured.sensor_mac}"\n',
        encoding="utf-8",
    )
    observed = tmp_path / "observed.yaml"
    result = run_traffic(captured.pcap, "--model", model, "--trackers", radar, "--geoip", geoip, "-o", observed)
    assert result.returncode == 0, result.stderr
    text = observed.read_text(encoding="utf-8")
    assert EMAIL not in text and LATITUDE not in text and SERIAL not in text
    assessed = subprocess.run(
        [sys.executable, "-m", "domosec", "assess", str(observed), "--format", "json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert assessed.returncode in (0, 1), assessed.stderr
    doc = json.loads(assessed.stdout)
    by_rule = {(f["rule_id"], f["asset"]["id"]) for f in doc["findings"]}
    assert ("SVC-P08", "example.com") in by_rule  # location sent to a server in DE (GeoIP), the home in GB
    assert ("SVC-P10", "example.com") in by_rule  # the e-mail address, coordinates and serial number, in clear
    assert ("SVC-P50", "example.com") in by_rule  # an analytics company (Tracker Radar); consent not stated: a question
    assert ("NET-P50", "observed-temp-sensor-host-" + captured.broker.replace(".", "-") + "-mqtt") in by_rule  # motion events in clear
