"""Reading nmap's XML output (``nmap -sV -oX``) into the same observations ``domosec scan`` makes.

Each open port becomes a service named from nmap's service detection (``service/@name`` and its
``tunnel="ssl"``) and, where nmap ran them, from its scripts: ``ssl-enum-ciphers`` (TLS versions
and weak suites), ``ssl-cert`` (self-signed, expired), ``mqtt-subscribe`` (a broker that let nmap
subscribe without credentials), ``http-auth`` (a login asked for), ``rtsp-methods`` and
``upnp-info``. The observations are then merged into a model exactly as a scan's are
(:mod:`.merge`), so hosts are matched by MAC address, IP address and host name the same way.

The file is untrusted input: it is read with defusedxml (entity declarations and external
references refused, so no entity expansion), after a size check, and any syntax error, a
truncated file included, is reported as ``file:line:col: error[bad-nmap-xml]``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from domosec.errors import Diagnostic, InputError
from domosec.evidence.scan.observations import CertificateState, Observations, Service, TlsReport
from domosec.evidence.scan.probes import printable
from domosec.evidence.scan.tlscheck import WEAK_MARKERS

MAX_BYTES = 256 * 1024 * 1024
VERSIONS = {"SSLv2": "ssl2", "SSLv3": "ssl3", "TLSv1.0": "tls1.0", "TLSv1.1": "tls1.1", "TLSv1.2": "tls1.2", "TLSv1.3": "tls1.3"}
WEAK_GRADES = frozenset("CDEF")
NAMES = {
    "ssh": "ssh",
    "telnet": "telnet",
    "http": "http",
    "http-alt": "http",
    "http-proxy": "http",
    "https": "https",
    "https-alt": "https",
    "mqtt": "mqtt",
    "secure-mqtt": "mqtts",
    "rtsp": "rtsp",
    "mbap": "modbus",
    "modbus": "modbus",
    "adb": "adb",
    "coap": "coap",
    "upnp": "upnp",
    "ftp": "ftp",
    "microsoft-ds": "smb",
    "netbios-ssn": "smb",
    "domain": "dns",
}
SECURE = {"http": "https", "mqtt": "mqtts", "rtsp": "rtsps", "coap": "coaps"}


def read_nmap_xml(path: Path, *, max_bytes: int = MAX_BYTES) -> Observations:
    """The observations in nmap's XML file at ``path``; :class:`InputError` when it is unreadable, too big or not nmap XML."""
    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]  # no stubs; async-upnp-client depends on it
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

    from domosec.model.source import read_bounded

    name = str(path)
    data = read_bounded(path, max_bytes, name=name, what="nmap XML")
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        line, col = exc.position
        reason = str(exc).split(":", 1)[0]
        truncated = " (the file ends early: was nmap stopped before it finished?)" if "no element found" in reason else ""
        raise _error(name, line, col + 1, "bad-nmap-xml", f"not well-formed XML: {reason}{truncated}") from None
    except DefusedXmlException as exc:
        raise _error(name, None, None, "unsafe-xml", f"refused: {exc}") from None
    if root.tag != "nmaprun":
        raise _error(name, 1, 1, "not-nmap-xml", f"the root element is <{root.tag}>, not nmap's <nmaprun>", hint="write it with nmap -oX")
    observations = Observations(complete=root.find("runstats/finished") is not None)
    for host in root.iter("host"):
        _read_host(observations, host)
    if not observations.complete:
        observations.notes.append("the nmap run did not finish: only the hosts it reported are imported")
    return observations


def _error(file: str, line: int | None, col: int | None, code: str, message: str, hint: str = "") -> InputError:
    return InputError([Diagnostic(file, line, col, code, message, hint=hint)])


def _read_host(observations: Observations, host: Element) -> None:
    status = host.find("status")
    if status is not None and status.get("state") != "up":
        return
    addresses = {a.get("addrtype", ""): a for a in host.findall("address")}
    ip = addresses.get("ipv4", addresses.get("ipv6"))
    if ip is None or not ip.get("addr"):
        return
    seen = observations.host(ip.get("addr", ""))
    mac = addresses.get("mac")
    if mac is not None and mac.get("addr"):
        seen.mac = mac.get("addr", "").lower()
        vendor = mac.get("vendor", "")
        if vendor and vendor != "Unknown":
            seen.vendor = vendor
    for hostname in host.iter("hostname"):
        if hostname.get("name"):
            seen.hostnames.add(hostname.get("name", "").lower().removesuffix(".local"))
    for port in host.iter("port"):
        state = port.find("state")
        if state is None or state.get("state") != "open":
            continue
        service = seen.service(int(port.get("portid", "0")), "udp" if port.get("protocol") == "udp" else "tcp")
        _read_service(service, port)


def _read_service(service: Service, port: Element) -> None:
    info = port.find("service")
    scripts = {s.get("id", ""): s for s in port.findall("script")}
    name = info.get("name", "") if info is not None else ""
    product = info.get("product", "") if info is not None else ""
    if name.startswith("mosquitto") or "mosquitto" in product.lower():  # nmap 7.9x names the service by the broker's version
        name = "mqtt"
    protocol = NAMES.get(name, "other")
    service.tls = (info is not None and info.get("tunnel") == "ssl") or protocol in ("https", "mqtts") or "ssl-enum-ciphers" in scripts
    if service.tls and protocol in SECURE:
        protocol = SECURE[protocol]
    if "rtsp-methods" in scripts and protocol == "other":
        protocol = "rtsp"
    if "upnp-info" in scripts and protocol == "other":
        protocol = "upnp"
    service.protocol = protocol
    if info is not None:
        banner = " ".join(x for x in (product, info.get("version", ""), info.get("extrainfo", "")) if x)
        service.banner = printable(banner)
        method = info.get("method", "")
        how = "an answer to its probes" if method == "probed" else "its port table only (a guess)"
        service.notes.append(f"port {service.port}: identified by nmap from {how}: '{name or 'unknown'}'")
    else:
        service.notes.append(f"port {service.port}: open; nmap named no service")
    if service.tls:
        service.tls_report = _tls_report(scripts)
    _read_scripts(service, scripts)


def _tls_report(scripts: dict[str, Element]) -> TlsReport:
    report = TlsReport()
    ciphers = scripts.get("ssl-enum-ciphers")
    if ciphers is not None:
        for table in ciphers.findall("table"):
            version = VERSIONS.get(table.get("key", ""))
            if version is None:
                continue
            report.versions.append(version)
            for suite in table.iterfind("table[@key='ciphers']/table"):
                fields = {e.get("key"): (e.text or "") for e in suite.findall("elem")}
                suite_name = fields.get("name", "")
                weak = fields.get("strength", "A") in WEAK_GRADES or any(m in suite_name.upper() for m in WEAK_MARKERS)
                if weak and suite_name not in report.weak_ciphers:
                    report.weak_ciphers.append(suite_name)
    cert = scripts.get("ssl-cert")
    if cert is not None:
        report.certificate, report.certificate_detail = _certificate(cert)
    return report


def _certificate(script: Element) -> tuple[CertificateState | None, str]:
    subject = {e.get("key"): e.text for e in script.iterfind("table[@key='subject']/elem")}
    issuer = {e.get("key"): e.text for e in script.iterfind("table[@key='issuer']/elem")}
    until = next((e.text for e in script.iterfind("table[@key='validity']/elem") if e.get("key") == "notAfter"), None)
    if until:
        try:
            end = dt.datetime.fromisoformat(until)
            if end.tzinfo is None:
                end = end.replace(tzinfo=dt.UTC)
            if end < dt.datetime.now(dt.UTC):
                return "expired", f"certificate expired {until} (nmap ssl-cert)"
        except ValueError:
            pass
    if subject and subject == issuer:
        return "self_signed", f"certificate of '{subject.get('commonName', '')}' signs itself (nmap ssl-cert)"
    return None, ""


LOGIN_REFUSED = re.compile(r"not authori[sz]ed|bad user ?name or password|connection refused", re.IGNORECASE)


def _read_scripts(service: Service, scripts: dict[str, Element]) -> None:
    mqtt = scripts.get("mqtt-subscribe")
    if mqtt is not None:
        output = mqtt.get("output", "")
        if "Topics and their most recent payloads" in output:
            service.authentication = "none"
            service.notes.append("nmap mqtt-subscribe read topics without credentials")
        elif LOGIN_REFUSED.search(output):
            service.authentication = "password"
            service.notes.append("nmap mqtt-subscribe was refused without credentials")
    auth = scripts.get("http-auth")
    if auth is not None and "401" in auth.get("output", ""):
        service.authentication = "password"
        service.notes.append("nmap http-auth: asks for an HTTP login")
    methods = scripts.get("rtsp-methods")
    if methods is not None:
        service.notes.append(f"nmap rtsp-methods: {printable(methods.get('output', ''), 120)}")
    upnp = scripts.get("upnp-info")
    if upnp is not None:
        service.notes.append(f"nmap upnp-info: {printable(upnp.get('output', ''), 160)}")
