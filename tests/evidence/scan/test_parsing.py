"""The small parsers of the scanner: targets and ports, telnet negotiation, certificates, the neighbour table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509

from domosec.errors import InputError
from domosec.evidence.scan.neighbours import neighbour_state, read_neighbours
from domosec.evidence.scan.probes.telnet import DO, IAC, SB, SE, WILL, WONT, looks_like_telnet, split_telnet
from domosec.evidence.scan.targets import format_ports, is_home_address, parse_ports, parse_targets
from domosec.evidence.scan.tlscheck import certificate_names, is_weak_suite, judge_certificate
from tests.evidence.scan import servers


def test_targets_expand_deduplicate_and_sort() -> None:
    items, hosts = parse_targets(["192.168.1.4,192.168.1.0/30", " 10.0.0.1 "])
    assert items == ("192.168.1.4", "192.168.1.0/30", "10.0.0.1")
    assert [str(h) for h in hosts] == ["10.0.0.1", "192.168.1.1", "192.168.1.2", "192.168.1.4"]
    assert [str(h) for h in parse_targets(["fd00::5/127"])[1]] == ["fd00::4", "fd00::5"]


@pytest.mark.parametrize(
    ("address", "home"),
    [("192.168.0.10", True), ("172.20.1.1", True), ("127.0.0.1", True), ("169.254.3.3", True), ("fe80::1", True), ("fd12::1", True),
     ("100.64.0.1", False), ("203.0.113.9", False), ("8.8.8.8", False), ("2001:db8::1", False), ("::ffff:8.8.8.8", False)],
)  # fmt: skip
def test_only_private_loopback_and_link_local_count_as_home(address: str, home: bool) -> None:
    import ipaddress

    assert is_home_address(ipaddress.ip_address(address)) is home


def test_every_bad_target_is_reported_at_once() -> None:
    with pytest.raises(InputError) as caught:
        parse_targets(["8.8.8.8,10.1.1.1/40,10.0.0.1"])
    assert [d.code for d in caught.value.diagnostics] == ["bad-target", "public-target"]


def test_ports_parse_and_fold() -> None:
    assert parse_ports("80, 8000-8002,22,80") == (22, 80, 8000, 8001, 8002)
    assert format_ports((22, 23, 80, 8000, 8001, 8002)) == "22-23,80,8000-8002"
    for bad in ("0", "9-3", "http"):
        with pytest.raises(InputError):
            parse_ports(bad)


def test_telnet_options_are_declined_and_text_kept() -> None:
    data = bytes((IAC, DO, 24, IAC, WILL, 1)) + b"router " + bytes((IAC, SB, 24, 1, IAC, SE)) + b"login: "
    text, replies = split_telnet(data)
    assert text == b"router login: "
    assert replies == bytes((IAC, WONT, 24, IAC, 254, 1))
    assert looks_like_telnet(data) and not looks_like_telnet(b"SSH-2.0-x")


def test_certificates_are_judged_expired_self_signed_wrong_host_or_valid(tmp_path: Path) -> None:
    ca = servers.make_ca(tmp_path)
    issued = x509.load_pem_x509_certificate(
        servers.make_certificate(tmp_path, "cam.local", address="192.168.1.40", self_signed=False, ca=ca).cert.read_bytes()
    )
    own = x509.load_pem_x509_certificate(
        servers.make_certificate(tmp_path, "plug", address="192.168.1.41", self_signed=True).cert.read_bytes()
    )
    assert judge_certificate(issued, 2, ["192.168.1.40"])[0] == "valid"
    assert judge_certificate(issued, 2, ["192.168.1.50", "cam.local"])[0] == "valid", "a host name it announced is fine"
    assert judge_certificate(issued, 2, ["192.168.1.50"]) == ("wrong_host", "certificate for 'cam.local' names none of 192.168.1.50")
    assert judge_certificate(own, 1, ["10.0.0.1"])[0] == "self_signed", "self-signed wins over the name"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    assert judge_certificate(issued, 2, ["192.168.1.40"], now=later)[0] == "expired"
    assert certificate_names(issued, "CAM.local") and not certificate_names(issued, "other.local")


def test_weak_suites() -> None:
    assert is_weak_suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA", 168, False)
    assert is_weak_suite("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", 128, True)
    assert is_weak_suite("TLS_RSA_WITH_RC4_128_SHA", 128, False)
    assert is_weak_suite("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", 40, False)
    assert not is_weak_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 128, False)
    assert not is_weak_suite("TLS_AES_256_GCM_SHA384", 256, False)


def test_neighbour_table(tmp_path: Path) -> None:
    table = tmp_path / "arp"
    table.write_text(
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "10.1.1.10        0x1         0x2         02:d5:00:00:00:03     *        eth0\n"
        "10.1.1.11        0x1         0x0         00:00:00:00:00:00     *        eth0\n",
        encoding="ascii",
    )
    assert read_neighbours(table) == {"10.1.1.10": "02:d5:00:00:00:03"}
    assert [neighbour_state(a, table) for a in ("10.1.1.10", "10.1.1.11", "10.1.1.12")] == ["reachable", "failed", "unknown"]
    assert neighbour_state("10.1.1.10", tmp_path / "missing") == "unknown"
