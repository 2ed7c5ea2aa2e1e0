"""Personal-data markers, payload entropy and the presence heuristics on crafted captures: edges the lab cannot stage.

Each capture is read twice where it matters: untagged Ethernet takes the bulk (NumPy) path, the same
frames with a VLAN tag take the per-packet path, and both must give the same facts.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import dpkt
import pytest

from domosec.evidence.traffic.capture import ReadStats
from domosec.evidence.traffic.payload import ENTROPY_THRESHOLD, entropy, markers
from domosec.evidence.traffic.run import read_capture
from tests.evidence.traffic.frames import ROUTER_MAC, ipv4_tcp

ROOT = Path(__file__).resolve().parents[3]
START = 1_700_000_000.0
SENSOR, BROKER, CAMERA, THERMOSTAT, CLOUD = "192.168.1.20", "192.168.1.10", "192.168.1.30", "192.168.1.40", "52.1.2.3"
EMAIL = "jane.doe@example.org"
SYN = dpkt.tcp.TH_SYN


def ethernet(ip: dpkt.ip.IP, *, vlan: int | None) -> bytes:
    """``ip`` in an Ethernet frame from a MAC address of its own source (02:00:00:00:00:<last octet>), optionally VLAN-tagged."""
    mac = b"\x02\x00\x00\x00\x00" + bytes([ip.src[3]])
    if vlan is None:
        return bytes(dpkt.ethernet.Ethernet(src=mac, dst=ROUTER_MAC, type=dpkt.ethernet.ETH_TYPE_IP, data=ip))
    return ROUTER_MAC + mac + struct.pack("!HHH", 0x8100, vlan, dpkt.ethernet.ETH_TYPE_IP) + bytes(ip)


def write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> Path:
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, linktype=1, nano=True)
    for ts, frame in sorted(packets, key=lambda p: p[0]):
        writer.writepkt(frame, ts=ts)
    path.write_bytes(out.getvalue())
    return path


def mqtt_publish(topic: str, message: bytes) -> bytes:
    body = struct.pack("!H", len(topic)) + topic.encode() + message
    return bytes([0x30, len(body)]) + body


def test_markers_count_kinds_and_keep_no_value() -> None:
    body = (
        b'{"user":"' + EMAIL.encode() + b'","cc":"bob@mail.example.net","geo":{"latitude":"-33.8688","longitude":"151.2093"},'
        b'"mac":"a4:cf:12:0b:9e:01","serial_no":"AB12CD34","imei":"490154203237518","ssid":"Doe family"}'
    )
    found = markers(body)
    assert found == {"e-mail address": 2, "coordinates": 1, "MAC address": 1, "serial number": 1, "IMEI": 1, "Wi-Fi name": 1}
    assert all(isinstance(v, int) for v in found.values())
    # look-alikes that are not personal data: times, IPv6, versions, zero or out-of-range positions, a failing Luhn digit
    assert markers(b"Date: Tue, 12:34:56 GMT; fe80::1; user@localhost; pkg@1.2.3; 00:00:00:00:00:00") == {}
    assert markers(b'{"lat":0.000,"lon":0.000} {"lat":91.1234,"lon":10.1234} {"imei":"490154203237517"} {"serial":"ABCDEFGH"}') == {}
    assert markers(mqtt_publish("zigbee2mqtt/hall_motion", b'{"occupancy":true}'), mqtt=True) == {"presence event": 1}
    assert markers(mqtt_publish("home/temperature", b"21.5"), mqtt=True) == {}
    assert markers(b"1a\r\nplease contact support\r\n") == {}  # text that starts like an MQTT PUBLISH, not on MQTT


def test_entropy_separates_random_from_text_at_the_documented_threshold() -> None:
    assert entropy(b"x" * 255) is None  # too few bytes to judge
    assert entropy(os.urandom(1024)) > ENTROPY_THRESHOLD + 0.5  # type: ignore[operator]
    text = b"GET /api/v1/status?device=kitchen HTTP/1.1\r\nHost: hub.example.com\r\nAccept: */*\r\n\r\n" * 12
    assert entropy(text[:1024]) < ENTROPY_THRESHOLD - 1.5  # type: ignore[operator]


def _segments(vlan: int | None) -> list[tuple[float, bytes]]:
    """An HTTP POST whose body (an e-mail address) comes in a second segment, and two flows of an unknown protocol."""
    head = b"POST /v1/register HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
    body = b'{"owner":"' + EMAIL.encode() + b'"}'
    noise = os.urandom(600)
    text = (b"status=ok;temperature=21.5;humidity=40;" * 20)[:600]
    frames = [
        (START, ipv4_tcp(SENSOR, CLOUD, 40000, 80, b"", SYN)),
        (START + 0.1, ipv4_tcp(SENSOR, CLOUD, 40000, 80, head)),
        (START + 0.2, ipv4_tcp(SENSOR, CLOUD, 40000, 80, body)),
        (START + 1, ipv4_tcp(SENSOR, CLOUD, 40001, 9999, b"", SYN)),
        (START + 1.1, ipv4_tcp(SENSOR, CLOUD, 40001, 9999, noise)),
        (START + 2, ipv4_tcp(SENSOR, CLOUD, 40002, 9999, b"", SYN)),
        (START + 2.1, ipv4_tcp(SENSOR, CLOUD, 40002, 9999, text)),
    ]
    return [(ts, ethernet(ip, vlan=vlan)) for ts, ip in frames]


@pytest.mark.parametrize("vlan", [None, 7], ids=["bulk-path", "per-packet-path"])
def test_a_body_in_a_later_segment_and_unknown_protocols_are_judged_on_either_path(tmp_path: Path, vlan: int | None) -> None:
    capture = write_pcap(tmp_path / "c.pcap", _segments(vlan))
    result = subprocess.run(
        [sys.executable, "-m", "domosec", "traffic", str(capture), "--format", "json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert EMAIL not in result.stdout and EMAIL not in result.stderr and "jane.doe" not in result.stdout
    flows = {f["client_port"]: f for f in json.loads(result.stdout)["flows"]}
    assert flows[40000]["personal_data_seen"] == {"e-mail address": 1} and flows[40000]["protocol"] == "http"
    assert flows[40001]["looks_encrypted"] is True and flows[40002]["looks_encrypted"] is False
    assert flows[40000]["payload_entropy"] is None  # a known protocol is not judged by entropy
    kinds = {(f["kind"], f["device"]) for f in json.loads(result.stdout)["findings"]}
    assert {("personal-data-in-clear", SENSOR), ("unknown-protocol-clear", SENSOR)} <= kinds


SPLIT_BODY = b'{"owner":"' + EMAIL.encode() + b'","home":{"lat":48.85661,"lon":2.35222},"serialNumber":"SN4471-99812"}'


def _split_post(vlan: int | None, cuts: tuple[int, ...]) -> list[tuple[float, bytes]]:
    """An HTTP POST whose JSON body is cut at ``cuts`` into segments, with a server's interim answer between two of them."""
    head = b"POST /v1/register HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n\r\n"
    pieces = [SPLIT_BODY[a:b] for a, b in zip((0, *cuts), (*cuts, len(SPLIT_BODY)), strict=True)]
    frames = [(START, ipv4_tcp(SENSOR, CLOUD, 40000, 80, b"", SYN)), (START + 0.1, ipv4_tcp(SENSOR, CLOUD, 40000, 80, head))]
    for n, piece in enumerate(pieces):
        frames.append((START + 0.2 + n / 10, ipv4_tcp(SENSOR, CLOUD, 40000, 80, piece)))
        if n == 1:  # the other direction in between: each side's segments join their own
            frames.append((START + 0.25 + n / 10, ipv4_tcp(CLOUD, SENSOR, 80, 40000, b"HTTP/1.1 100 Continue\r\n\r\n")))
    return [(ts, ethernet(ip, vlan=vlan)) for ts, ip in frames]


@pytest.mark.parametrize("vlan", [None, 7], ids=["bulk-path", "per-packet-path"])
def test_markers_cut_by_segment_boundaries_are_found_once_on_either_path(tmp_path: Path, vlan: int | None) -> None:
    at = SPLIT_BODY.index
    cuts = (at(b"example.org"), at(b"85661"), at(b"4471"))  # inside the e-mail address, the latitude, the serial number
    capture = write_pcap(tmp_path / "split.pcap", _split_post(vlan, cuts))
    result = subprocess.run(
        [sys.executable, "-m", "domosec", "traffic", str(capture), "--format", "json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for value in (EMAIL, "jane.doe", "48.85661", "2.35222", "SN4471-99812", "4471"):
        assert value not in result.stdout and value not in result.stderr
    flow = json.loads(result.stdout)["flows"][0]
    assert flow["personal_data_seen"] == {"coordinates": 1, "e-mail address": 1, "serial number": 1}
    # each marker whole in one segment: the same counts, nothing found twice at the boundaries
    whole = read_capture(write_pcap(tmp_path / "whole.pcap", _split_post(vlan, (at(b'","home'), at(b',"serialNumber')))))
    assert next(iter(whole.table.flows.values())).markers == {"e-mail address": 1, "coordinates": 1, "serial number": 1}


def test_an_mqtt_message_cut_between_segments_is_searched_whole(tmp_path: Path) -> None:
    readings = [mqtt_publish("home/temperature", b'{"t":21.5}') for _ in range(3)]  # whole packets: nothing carried over
    message = mqtt_publish("devices/hall/register", b'{"owner":"' + EMAIL.encode() + b'","fw":"2.1"}')
    cut = message.index(b"example.org")
    payloads = [*readings, message[:cut], message[cut:], *readings]
    frames = [(START, ipv4_tcp(SENSOR, BROKER, 41000, 1883, b"", SYN))]
    frames += [(START + 1 + n, ipv4_tcp(SENSOR, BROKER, 41000, 1883, data)) for n, data in enumerate(payloads)]
    for vlan in (None, 7):
        analysis = read_capture(write_pcap(tmp_path / f"mqtt-{vlan}.pcap", [(ts, ethernet(ip, vlan=vlan)) for ts, ip in frames]))
        flow = next(iter(analysis.table.flows.values()))
        assert flow.markers == {"e-mail address": 1} and flow.carry_up == b""  # the last reading was whole: nothing held


def test_payload_ends_kept_for_split_markers_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from domosec.evidence.traffic import payload

    at = SPLIT_BODY.index
    frames = _split_post(None, (at(b"example.org"),))
    monkeypatch.setattr(payload, "MAX_CARRIED", 0)  # no room: the address cut in two is missed, as before
    analysis = read_capture(write_pcap(tmp_path / "split.pcap", frames))
    flow = next(iter(analysis.table.flows.values()))
    assert "e-mail address" not in flow.markers and flow.markers["serial number"] == 1
    monkeypatch.setattr(payload, "MAX_CARRIED", 8 * 1024 * 1024)
    analysis = read_capture(write_pcap(tmp_path / "split.pcap", frames))
    flow = next(iter(analysis.table.flows.values()))
    assert flow.markers["e-mail address"] == 1
    assert flow.carry_up == flow.carry_down == b"" or analysis.table.activity.carried == len(flow.carry_up) + len(flow.carry_down)


def _home_day(vlan: int | None) -> list[tuple[float, bytes]]:
    """Two hours in 5-minute bins: motion events in bins 3, 8 and 15; the camera uploads 2 MB right after each."""
    frames: list[tuple[float, bytes]] = []
    event_bins = (3, 8, 15)
    for slot in range(24):
        base = START + slot * 300
        frames.append((base + 5, ipv4_tcp(CAMERA, CLOUD, 50000, 443, b"\x17\x03\x03" + os.urandom(197))))  # keep-alive
        frames.append((base + 7, ipv4_tcp(THERMOSTAT, CLOUD, 50001, 443, b"\x17\x03\x03" + os.urandom(997))))  # steady
        if slot in event_bins:
            frames.append(
                (base + 10, ipv4_tcp(SENSOR, BROKER, 41000 + slot, 1883, mqtt_publish("zigbee2mqtt/hall_motion", b'{"occupancy":true}')))
            )
            frames.append((base + 10.01, ipv4_tcp(BROKER, SENSOR, 1883, 41000 + slot, b"", dpkt.tcp.TH_ACK)))
            frames.extend(
                (base + 11 + i / 1000, ipv4_tcp(CAMERA, CLOUD, 50000, 443, b"\x17\x03\x03" + os.urandom(1397))) for i in range(1500)
            )
    return [(ts, ethernet(ip, vlan=vlan)) for ts, ip in frames]


@pytest.mark.parametrize("vlan", [None, 7], ids=["bulk-path", "per-packet-path"])
def test_camera_uploads_that_follow_motion_events_reveal_presence(tmp_path: Path, vlan: int | None) -> None:
    analysis = read_capture(write_pcap(tmp_path / "day.pcap", _home_day(vlan)))
    facts = {(f.host, f.kind): f.detail for f in analysis.presence}
    assert set(facts) == {(CAMERA, "traffic-follows-events"), (CAMERA, "upload-bursts")}
    assert (
        "follow the 3 presence events" in facts[(CAMERA, "traffic-follows-events")]
        and "over 24 bins, events in 3" in facts[(CAMERA, "traffic-follows-events")]
    )
    assert facts[(CAMERA, "upload-bursts")].startswith("upload bursts in 3 of 24 bins of 5 minutes carry 100% of what it sent")
    kinds = {(f.kind, f.device) for f in analysis.findings}
    assert ("presence-events-in-clear", SENSOR) in kinds and ("traffic-follows-events", CAMERA) in kinds


def test_a_short_capture_makes_no_presence_claim(tmp_path: Path) -> None:
    frames = [(ts, frame) for ts, frame in _home_day(None) if ts < START + 11 * 300]  # 55 minutes: under the 12 bins needed
    analysis = read_capture(write_pcap(tmp_path / "short.pcap", frames))
    assert analysis.presence == [] and isinstance(analysis.stats, ReadStats)


def test_presence_merges_as_presence_data_on_the_camera_upload(tmp_path: Path) -> None:
    from domosec.evidence.traffic.merge import merge_traffic

    analysis = read_capture(write_pcap(tmp_path / "day.pcap", _home_day(None)))
    model, _report = merge_traffic(analysis, None, "day", "day.pcap")
    camera = next(d.id for d in model.devices if d.ip == CAMERA)
    upload = next(f for f in model.flows if f.source == camera and f.target == "52.1.2.3")
    assert upload.data == ["presence"] and upload.encrypted is True
    assert upload.provenance is not None and "traffic-follows-events" in upload.provenance.detail
    sensor = next(d.id for d in model.devices if d.ip == SENSOR)
    events = next(f for f in model.flows if f.source == sensor and f.protocol == "mqtt")
    assert events.data == ["presence"] and events.encrypted is False


def test_a_stray_time_stamp_skips_the_presence_heuristics_with_a_warning(tmp_path: Path) -> None:
    stray = (86_400.0, ethernet(ipv4_tcp(THERMOSTAT, CLOUD, 50001, 443, b"\x17\x03\x03" + os.urandom(100)), vlan=None))  # 2 January 1970
    analysis = read_capture(write_pcap(tmp_path / "stray.pcap", [stray, *_home_day(None)]))
    assert analysis.presence == []
    assert any("span more than 31 days" in w for w in analysis.stats.warnings)


def test_entropy_samples_are_bounded_over_the_whole_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from domosec.evidence.traffic import payload

    monkeypatch.setattr(payload, "MAX_SAMPLED", 600)  # room for the first unknown flow's 600 bytes only
    analysis = read_capture(write_pcap(tmp_path / "c.pcap", _segments(None)))
    flows = {f.client_port: f for f in analysis.table.flows.values()}
    assert analysis.looks_encrypted(flows[40001]) is True and analysis.looks_encrypted(flows[40002]) is None
    assert "1 flows of unknown protocols over the entropy sample budget: not judged" in analysis.stats.warnings
    assert all(f.sample == b"" for f in flows.values())  # measured, then dropped
