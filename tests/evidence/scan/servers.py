"""Real servers for scan tests, configured in a temporary folder and started inside a lab host.

Each ``start_*`` writes the server's configuration, starts the Debian-packaged binary in the
host's namespace (or on a loopback address for the loopback tests) and waits until it listens.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import shutil
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVER_BINARIES = {
    "mosquitto": "mosquitto (Debian package mosquitto)",
    "nginx": "nginx (Debian package nginx)",
    "inetutils-inetd": "inetutils-inetd (Debian package inetutils-telnetd)",
    "telnetd": "telnetd (Debian package inetutils-telnetd)",
    "miniupnpd": "miniupnpd (Debian package miniupnpd-nftables)",
    "nft": "nft (Debian package nftables)",
    "coap-server-notls": "coap-server-notls (Debian package libcoap3-bin)",
    "ss": "ss (Debian package iproute2)",
    "/usr/sbin/sshd": "sshd (Debian package openssh-server)",
    "ssh-keygen": "ssh-keygen (Debian package openssh-client)",
    "tcpdump": "tcpdump (Debian package tcpdump)",
}


def missing_binaries() -> list[str]:
    """Server programs the tests need that are not installed (``make test`` installs them)."""
    return [what for binary, what in SERVER_BINARIES.items() if shutil.which(binary) is None]


class Host(Protocol):
    """Where a server runs: a lab namespace (or the test machine's loopback)."""

    name: str
    address: str

    def start(self, args: list[str], *, log: Path) -> object: ...
    def wait_listening(self, port: int, transport: str = "tcp", *, timeout: float = 15.0, log: Path | None = None) -> None: ...
    def run(self, args: list[str], *, timeout: float = 60, check: bool = True) -> object: ...


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def make_certificate(
    folder: Path, name: str, *, address: str, self_signed: bool, days: int = 365, ca: Certificate | None = None
) -> Certificate:
    """A server certificate for ``address`` (and ``name`` as DNS name), self-signed or issued by ``ca``."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    issuer, signer = subject, key
    if ca is not None and not self_signed:
        ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
        loaded = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        issuer, signer = ca_cert.subject, loaded
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
    )
    cert = builder.sign(signer, hashes.SHA256())
    paths = Certificate(folder / f"{name}.crt", folder / f"{name}.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def make_ca(folder: Path, name: str = "Lab CA") -> Certificate:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(folder / "ca.crt", folder / "ca.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def start_mosquitto(
    host: Host, folder: Path, *, port: int, anonymous: bool, tls: Certificate | None = None, users: dict[str, str] | None = None
) -> None:
    """Mosquitto on ``port``; anonymous clients allowed or refused; optionally TLS (1.2+) and a password file."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "user root",
        "persistence false",
        f"log_dest file {folder / 'broker.log'}",
        "log_type all",
        f"listener {port} {host.address}",
        f"allow_anonymous {'true' if anonymous else 'false'}",
    ]
    if tls is not None:
        lines += [f"certfile {tls.cert}", f"keyfile {tls.key}", "tls_version tlsv1.2"]
    if users:
        pwfile = folder / "passwords"
        pwfile.write_text("", encoding="utf-8")
        for user, password in users.items():
            host.run(["mosquitto_passwd", "-b", str(pwfile), user, password])
        lines.append(f"password_file {pwfile}")
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = folder / "mosquitto.log"
    host.start(["mosquitto", "-c", str(conf)], log=log)
    host.wait_listening(port, log=log)


def start_nginx(
    host: Host,
    folder: Path,
    *,
    http_port: int | None = None,
    https_port: int | None = None,
    tls: Certificate | None = None,
    legacy_tls: bool = False,
    basic_auth: tuple[str, str] | None = None,
    title: str = "Device settings",
) -> None:
    """nginx serving an admin page; optionally over TLS (``legacy_tls`` adds TLS 1.0/1.1 and weak suites) and behind Basic auth."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "www").mkdir(exist_ok=True)
    (folder / "www" / "index.html").write_text(
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1><form method=post action=/save>"
        "<input name=ssid><input name=upload_url><button>Save</button></form></body></html>\n",
        encoding="utf-8",
    )
    auth = ""
    if basic_auth is not None:
        (folder / "htpasswd").write_text(f"{basic_auth[0]}:{{PLAIN}}{basic_auth[1]}\n", encoding="utf-8")
        auth = f'auth_basic "{title}"; auth_basic_user_file {folder / "htpasswd"};'
    servers = []
    if http_port is not None:
        servers.append(f"server {{ listen {host.address}:{http_port}; root {folder / 'www'}; location / {{ {auth} }} }}")
    if https_port is not None:
        assert tls is not None
        protocols = "TLSv1 TLSv1.1 TLSv1.2" if legacy_tls else "TLSv1.2 TLSv1.3"
        ciphers = "ALL:@SECLEVEL=0" if legacy_tls else "ECDHE+AESGCM:ECDHE+CHACHA20"
        servers.append(
            f"server {{ listen {host.address}:{https_port} ssl; root {folder / 'www'}; ssl_certificate {tls.cert}; "
            f"ssl_certificate_key {tls.key}; ssl_protocols {protocols}; ssl_ciphers {ciphers}; location / {{ {auth} }} }}"
        )
    conf = folder / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            user root;
            daemon off;
            worker_processes 1;
            pid {folder / "nginx.pid"};
            error_log {folder / "error.log"};
            events {{ worker_connections 64; }}
            http {{
              access_log {folder / "access.log"};
              client_body_temp_path {folder / "tmp-body"};
              proxy_temp_path {folder / "tmp-proxy"};
              fastcgi_temp_path {folder / "tmp-fastcgi"};
              uwsgi_temp_path {folder / "tmp-uwsgi"};
              scgi_temp_path {folder / "tmp-scgi"};
              {chr(10).join(servers)}
            }}
            """
        ),
        encoding="utf-8",
    )
    log = folder / "nginx.log"
    host.start(["nginx", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)], log=log)
    for port in (http_port, https_port):
        if port is not None:
            host.wait_listening(port, log=log)


def start_telnetd(host: Host, folder: Path, *, port: int = 23) -> None:
    """inetutils telnetd on ``port``, started by inetutils-inetd as on a real system."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "inetd.conf"
    service = "telnet" if port == 23 else str(port)
    conf.write_text(f"{host.address}:{service} stream tcp nowait root /usr/sbin/telnetd telnetd\n", encoding="utf-8")
    log = folder / "inetd.log"
    host.start(["inetutils-inetd", "-d", f"--pidfile={folder / 'inetd.pid'}", str(conf)], log=log)
    host.wait_listening(port, log=log)


def start_coap_server(host: Host, folder: Path, *, port: int = 5683) -> None:
    """libcoap's example server on UDP ``port``, with its default resources and no security."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "coap.log"
    host.start(["coap-server-notls", "-A", host.address, "-p", str(port), "-v", "3"], log=log)
    host.wait_listening(port, "udp", log=log)


def start_sshd(host: Host, folder: Path, *, port: int = 22) -> None:
    """OpenSSH's sshd on ``port`` with a fresh host key, in the foreground, logins by key only."""
    folder.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    key = folder / "ssh_host_ed25519_key"
    if not key.exists():
        host.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    conf = folder / "sshd_config"
    conf.write_text(
        f"Port {port}\nListenAddress {host.address}\nHostKey {key}\nPidFile {folder / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n",
        encoding="utf-8",
    )
    log = folder / "sshd.log"
    host.start(["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)], log=log)
    host.wait_listening(port, log=log)


MODBUS_SERVER = """\
import asyncio, sys
from pymodbus.datastore import ModbusDeviceContext, ModbusServerContext
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import StartAsyncTcpServer

identity = ModbusDeviceIdentification(info_name={"VendorName": "LabSolar", "ProductCode": "INV-5K", "MajorMinorRevision": "2.1"})
asyncio.run(StartAsyncTcpServer(context=ModbusServerContext(devices=ModbusDeviceContext(), single=True),
                                identity=identity, address=(sys.argv[1], int(sys.argv[2]))))
"""


def start_modbus_server(host: Host, folder: Path, *, port: int = 502) -> None:
    """A Modbus TCP server (pymodbus) on ``port`` that answers device identification as an inverter would."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "modbus.log"
    host.start([sys.executable, "-c", MODBUS_SERVER, host.address, str(port)], log=log)
    host.wait_listening(port, log=log, timeout=30)


NFT_RULES = """\
table inet filter {
    chain miniupnpd {
    }
    chain prerouting_miniupnpd {
    }
    chain postrouting_miniupnpd {
    }
    chain forward {
        type filter hook forward priority 0; policy drop;
        jump miniupnpd
    }
    chain prerouting {
        type nat hook prerouting priority -100; policy accept;
        jump prerouting_miniupnpd
    }
    chain postrouting {
        type nat hook postrouting priority 100; policy accept;
        jump postrouting_miniupnpd
    }
}
"""


def start_miniupnpd(host: Host, folder: Path, *, lan: str, http_port: int = 5000) -> None:
    """miniupnpd as the home router's UPnP IGD: LAN side on ``eth0``, WAN side on ``wan0``, rules in nftables."""
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder / "miniupnpd.nft"
    rules.write_text(NFT_RULES, encoding="utf-8")
    host.run(["nft", "-f", str(rules)])
    conf = folder / "miniupnpd.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            ext_ifname=wan0
            listening_ip=eth0
            http_port={http_port}
            enable_natpmp=no
            enable_upnp=yes
            secure_mode=yes
            lease_file={folder / "leases"}
            uuid=3d3cec3a-8cf0-11e0-98ee-00d500000001
            friendly_name=Lab Router
            model_name=LabGateway
            allow 1024-65535 {lan} 1-65535
            deny 0-65535 0.0.0.0/0 0-65535
            """
        ),
        encoding="utf-8",
    )
    log = folder / "miniupnpd.log"
    host.start(["miniupnpd", "-f", str(conf), "-d", "-P", str(folder / "miniupnpd.pid")], log=log)
    host.wait_listening(http_port, log=log)
    host.wait_listening(1900, "udp", log=log)


MAP_PORT = """\
import asyncio, sys
from datetime import timedelta
from ipaddress import IPv4Address
from async_upnp_client.aiohttp import AiohttpRequester
from async_upnp_client.client_factory import UpnpFactory
from async_upnp_client.profiles.igd import IgdDevice

async def main(location, me, external, internal):
    device = await UpnpFactory(AiohttpRequester(timeout=5)).async_create_device(location)
    igd = IgdDevice(device, None)
    await igd.async_add_port_mapping(IPv4Address("0.0.0.0"), int(external), "TCP", int(internal), IPv4Address(me), True,
                                     "remote access", timedelta(seconds=0))

asyncio.run(main(*sys.argv[1:]))
"""


def map_port(device: Host, router: Host, *, external: int, internal: int, http_port: int = 5000) -> None:
    """Have ``device`` ask the router for a port mapping to itself over UPnP, as cameras do for remote viewing."""
    device.run(
        [sys.executable, "-c", MAP_PORT, f"http://{router.address}:{http_port}/rootDesc.xml", device.address, str(external), str(internal)]
    )


ADVERTISE = """\
import signal, socket, sys, threading
from zeroconf import ServiceInfo, Zeroconf

address, name, kind, port, server, model = sys.argv[1:]
zc = Zeroconf(interfaces=[address])
info = ServiceInfo(kind, f"{name}.{kind}", addresses=[socket.inet_aton(address)], port=int(port),
                   properties={"md": model, "manufacturer": "LabMaker"}, server=server)
zc.register_service(info)
print("registered", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
zc.unregister_service(info)
zc.close()
"""


def wait_mdns_registered(folder: Path, timeout: float = 15.0) -> None:
    """Wait until the advertiser has finished probing its name and announced its service."""
    log = folder / "mdns.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "registered" in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"mDNS advertiser did not register: {log.read_text(errors='replace')[-2000:]}")


def count_log_matches(log: Path, pattern: str, expected: int, timeout: float = 5.0, settle: float = 0.2) -> int:
    """How many lines of a server's log match, once the server has written them.

    A server may answer a request before it writes the request's log line (nginx does), so a
    count read straight after the client returns can miss the last one. Wait until `expected`
    lines are there (or the timeout passes), then a moment more so that extra lines show too.
    """
    regex = re.compile(pattern)

    def count() -> int:
        text = log.read_text(errors="replace") if log.exists() else ""
        return sum(1 for line in text.splitlines() if regex.search(line))

    deadline = time.monotonic() + timeout
    while count() < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(settle)
    return count()


def start_mdns_advertiser(host: Host, folder: Path, *, name: str, kind: str, port: int, server: str, model: str) -> None:
    """A python-zeroconf responder announcing one service, as smart-home devices do."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "mdns.log"
    host.start([sys.executable, "-c", ADVERTISE, host.address, name, kind, str(port), server, model], log=log)
    host.wait_listening(5353, "udp", log=log)


@dataclass
class Capture:
    """A tcpdump capture running in a lab host's namespace, written to a pcap file."""

    process: object
    pcap: Path

    def count(self, host: Host, settle: float = 1.0) -> int:
        """Packets captured so far: tcpdump hands each packet over at once (``--immediate-mode``) and writes it
        (``-U``); ``settle`` seconds are waited first all the same, so a packet still in flight is counted."""
        time.sleep(settle)
        out = host.run(["tcpdump", "-r", str(self.pcap), "-n", "-q"], check=False)
        return len([line for line in str(getattr(out, "stdout", "")).splitlines() if line.strip()])


def start_capture(host: Host, folder: Path, bpf: str) -> Capture:
    """tcpdump on ``host``'s eth0 with the filter ``bpf``; returns once tcpdump is listening."""
    folder.mkdir(parents=True, exist_ok=True)
    pcap, log = folder / "capture.pcap", folder / "tcpdump.log"
    process = host.start(["tcpdump", "-i", "eth0", "-n", "--immediate-mode", "-U", "-w", str(pcap), bpf], log=log)
    deadline = time.monotonic() + 15
    while "listening on" not in (log.read_text(errors="replace") if log.exists() else ""):
        if time.monotonic() > deadline:
            raise RuntimeError(f"tcpdump did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    return Capture(process, pcap)
