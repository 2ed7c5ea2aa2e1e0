"""The port table, port and exclusion options, and `domosec import nmap` on good and bad XML (no network)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from domosec.errors import InputError
from domosec.evidence.scan.exclusions import resolve_exclusions
from domosec.evidence.scan.ports import markdown_table, port_table, top_ports
from domosec.evidence.scan.probes.adb import AUTH, CNXN, connect_message, parse_reply
from domosec.evidence.scan.targets import parse_port_spec
from domosec.model.load import load_model
from domosec.model.parts import Endpoint

ROOT = Path(__file__).resolve().parents[3]


def domosec(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "domosec", *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )


def test_the_port_table_names_model_protocols_and_the_ports_homes_use() -> None:
    protocols = set(get_args(Endpoint.model_fields["protocol"].annotation))
    assert {e.protocol for e in port_table()} <= protocols
    tcp, udp = top_ports()
    for port in (5555, 6668, 9999, 8008, 8009, 1400, 502, 1880, 6053, 3232, 8266, 8081, 8888, 9000, 8883, 554, 8554, 23, 2323, 22, 8123):
        assert port in tcp, port
    assert {5683, 1900} <= set(udp)
    assert top_ports(3) == ((23, 80, 443), ())


def test_docs_list_the_port_table() -> None:
    assert markdown_table() in (ROOT / "docs" / "scan.md").read_text(encoding="utf-8")


def test_port_spec_switches_to_udp_after_u() -> None:
    assert parse_port_spec("22,8000-8002,U:5683,56830,T:80") == ((22, 80, 8000, 8001, 8002), (5683, 56830))
    with pytest.raises(InputError):
        parse_port_spec("U:70000")


def test_top_ports_and_exclusions_are_in_the_plan(tmp_path: Path) -> None:
    model = tmp_path / "home.yaml"
    model.write_text(
        "domosec: 1\nsystem: {id: h, name: H}\ndevices:\n"
        "  - {id: pump, name: Pump, type: other, mac: '02:00:00:00:00:07'}\n"
        "  - {id: tv, name: TV, type: tv_media, ip: 192.168.1.9}\n",
        encoding="utf-8",
    )
    result = domosec("scan", "-t", "192.168.1.0/29", "--top-ports", "4", "--exclude", "192.168.1.4/31,tv", "--model", model, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "(4 addresses;" in result.stderr, "6 hosts in the /29 less the excluded /31"
    assert "TCP ports (4): 22-23,80,443" in result.stderr
    assert "excluded, never sent a packet: 192.168.1.4/31; tv (tv at 192.168.1.9)" in result.stderr
    refused = domosec("scan", "-t", "192.168.1.0/29", "--exclude", "pump", "--model", model, "--dry-run")
    assert refused.returncode == 2
    assert "--exclude: error[bad-exclusion]: element 'pump' has no ip" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_model_exclude_list_is_honoured_and_kept(tmp_path: Path) -> None:
    model = tmp_path / "home.yaml"
    model.write_text(
        "domosec: 1\nsystem: {id: h, name: H}\nexclude: [192.168.1.2, pump]\n"
        "devices:\n  - {id: pump, name: Pump, type: other, ip: 192.168.1.3}\n",
        encoding="utf-8",
    )
    result = domosec("scan", "-t", "192.168.1.0/29", "--model", model, "--exclude", "192.168.1.6", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "(3 addresses;" in result.stderr
    assert "excluded, never sent a packet: 192.168.1.6; 192.168.1.2; pump (pump at 192.168.1.3)" in result.stderr
    assert load_model(model).model.exclude == ["192.168.1.2", "pump"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("domosec: 1\nsystem: {id: h, name: H}\nexclude: [nobody]\n", encoding="utf-8")
    refused = domosec("scan", "-t", "192.168.1.0/29", "--model", bad, "--dry-run")
    assert refused.returncode == 2
    assert "model exclude: error[bad-exclusion]: 'nobody' is not an address" in refused.stderr


def test_a_mac_exclusion_is_placed_from_the_neighbour_table() -> None:
    found = resolve_exclusions([("--exclude", "02-00-00-00-00-07")], None, neighbours={"192.168.1.7": "02:00:00:00:00:07"})
    assert found.covers("192.168.1.7") and not found.covers("192.168.1.8")
    with pytest.raises(InputError) as refused:
        resolve_exclusions([("--exclude", "02:00:00:00:00:08")], None, neighbours={})
    assert "neither in the neighbour table" in str(refused.value)


def test_adb_replies_are_told_apart() -> None:
    message = connect_message()
    assert message[:4] == b"CNXN" and len(message) == 24 + len(b"host::\x00")
    assert parse_reply(message) == (CNXN, b"host::\x00")
    auth = AUTH.to_bytes(4, "little") + bytes(16) + (AUTH ^ 0xFFFFFFFF).to_bytes(4, "little")
    assert parse_reply(auth) == (AUTH, b"")
    assert parse_reply(b"HTTP/1.1 400 Bad Request\r\n\r\n") is None


NMAP_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sV" version="7.93" xmloutputversion="1.05">
<host><status state="up" reason="arp-response"/>
<address addr="192.168.1.20" addrtype="ipv4"/><address addr="02:AA:00:00:00:01" addrtype="mac" vendor="Acme"/>
<hostnames><hostname name="cam.local" type="PTR"/></hostnames>
<ports>
<port protocol="tcp" portid="23"><state state="open"/><service name="telnet" method="probed" conf="10"/></port>
<port protocol="tcp" portid="8443"><state state="open"/><service name="http" product="lighttpd" tunnel="ssl" method="probed" conf="10"/>
<script id="ssl-enum-ciphers" output="..."><table key="TLSv1.0"><table key="ciphers"><table>
<elem key="name">TLS_RSA_WITH_RC4_128_SHA</elem><elem key="strength">C</elem></table></table></table>
<table key="TLSv1.2"><table key="ciphers"><table><elem key="name">TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</elem>
<elem key="strength">A</elem></table></table></table></script></port>
<port protocol="tcp" portid="1883"><state state="open"/><service name="mqtt" method="probed" conf="10"/>
<script id="mqtt-subscribe" output="Topics and their most recent payloads: a/b: 1"/></port>
<port protocol="tcp" portid="80"><state state="closed"/><service name="http" method="table" conf="3"/></port>
</ports></host>
<runstats><finished time="1" elapsed="1.0"/></runstats>
</nmaprun>
"""


def test_nmap_xml_merges_into_the_model_by_mac(tmp_path: Path) -> None:
    xml = tmp_path / "scan.xml"
    xml.write_text(NMAP_XML, encoding="utf-8")
    model = tmp_path / "home.yaml"
    model.write_text("domosec: 1\nsystem: {id: h, name: H}\ndevices:\n  - {id: cam, name: Cam, type: camera, mac: '02:aa:00:00:00:01'}\n")
    out = tmp_path / "observed.yaml"
    result = domosec("import", "nmap", xml, "--model", model, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "192.168.1.20 → cam (by mac)" in result.stderr
    cam = load_model(out).model.devices[0]
    assert (cam.ip, cam.hostname, cam.vendor) == ("192.168.1.20", "cam", "Acme")
    got = {e.port: (e.protocol, e.authentication, e.tls, e.weak_ciphers) for e in cam.endpoints}
    assert got == {23: ("telnet", None, "none", None), 1883: ("mqtt", "none", "none", None), 8443: ("https", None, "tls1.0", True)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            NMAP_XML[: NMAP_XML.index("<runstats>")],
            ":18:1: error[bad-nmap-xml]: not well-formed XML: no element found (the file ends early",
        ),
        (NMAP_XML.replace("<!DOCTYPE nmaprun>", '<!DOCTYPE nmaprun [<!ENTITY x "xxxxxxxx">]>'), ": error[unsafe-xml]: refused"),
        ("<?xml version='1.0'?><nmap/>", ":1:1: error[not-nmap-xml]: the root element is <nmap>"),
        ("not xml at all", ":1:1: error[bad-nmap-xml]: not well-formed XML: syntax error"),
    ],
)
def test_bad_nmap_xml_is_a_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    xml = tmp_path / "scan.xml"
    xml.write_text(text, encoding="utf-8")
    result = domosec("import", "nmap", xml)
    assert result.returncode == 2
    assert f"{xml}{expected}" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_too_large_nmap_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    xml = tmp_path / "scan.xml"
    xml.write_text(NMAP_XML, encoding="utf-8")
    result = domosec("import", "nmap", xml, "--max-bytes", "100")
    assert result.returncode == 2 and "error[file-too-large]" in result.stderr
