"""TLS: which protocol versions and cipher suites a port accepts, and whether its certificate holds up.

sslyze does the handshakes (SSL 2.0 to TLS 1.3, each cipher suite, the certificate chain); this
module only reads its results into a :class:`TlsReport`:

- ``versions``: every protocol version with at least one accepted suite;
- ``weak_ciphers``: accepted suites that are anonymous, export-grade, NULL, RC4, DES/3DES, MD5-based
  or shorter than 128 bits;
- ``certificate``: ``expired`` before ``self_signed`` before ``wrong_host`` (the leaf names neither
  the address scanned nor a host name the device announced) before ``valid``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from domosec.evidence.scan.observations import CertificateState, TlsReport

WEAK_MARKERS = ("_NULL_", "_EXPORT", "_RC4_", "_DES_", "_3DES_", "_DES40_", "_MD5", "RC4_", "DES_")


@dataclass(frozen=True)
class TlsTarget:
    """One TLS port to check, with the names the device is known by (for the host-name check)."""

    address: str
    port: int
    names: tuple[str, ...] = ()


def check_tls(targets: Sequence[TlsTarget], *, per_host: int, timeout: float) -> dict[tuple[str, int], TlsReport]:
    """Run sslyze over ``targets`` (blocking; call from a worker thread); one report per reachable port."""
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"sslyze\.")
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.scanner.models import ServerScanRequest, ServerScanStatusEnum
    from sslyze.scanner.scanner import Scanner
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    if not targets:
        return {}
    commands = {
        ScanCommand.SSL_2_0_CIPHER_SUITES,
        ScanCommand.SSL_3_0_CIPHER_SUITES,
        ScanCommand.TLS_1_0_CIPHER_SUITES,
        ScanCommand.TLS_1_1_CIPHER_SUITES,
        ScanCommand.TLS_1_2_CIPHER_SUITES,
        ScanCommand.TLS_1_3_CIPHER_SUITES,
        ScanCommand.CERTIFICATE_INFO,
    }
    by_location: dict[tuple[str, int], TlsTarget] = {(t.address, t.port): t for t in targets}
    scanner = Scanner(per_server_concurrent_connections_limit=max(1, per_host), concurrent_server_scans_limit=max(1, len(targets)))
    scanner.queue_scans(
        [
            ServerScanRequest(
                server_location=ServerNetworkLocation(hostname=t.address, port=t.port, ip_address=t.address),
                network_configuration=ServerNetworkConfiguration(
                    tls_server_name_indication=t.names[0] if t.names else t.address,
                    network_timeout=max(1, round(timeout)),
                    network_max_retries=1,
                ),
                scan_commands=commands,
            )
            for t in targets
        ]
    )
    reports: dict[tuple[str, int], TlsReport] = {}
    for result in scanner.get_results():
        key = (result.server_location.hostname, result.server_location.port)
        if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
            continue
        attempts = result.scan_result
        report = TlsReport()
        suites = (
            ("ssl2", attempts.ssl_2_0_cipher_suites),
            ("ssl3", attempts.ssl_3_0_cipher_suites),
            ("tls1.0", attempts.tls_1_0_cipher_suites),
            ("tls1.1", attempts.tls_1_1_cipher_suites),
            ("tls1.2", attempts.tls_1_2_cipher_suites),
            ("tls1.3", attempts.tls_1_3_cipher_suites),
        )
        weak: set[str] = set()
        for version, attempt in suites:
            accepted = attempt.result.accepted_cipher_suites if attempt.result is not None else []
            if accepted:
                report.versions.append(version)
            weak.update(
                a.cipher_suite.name
                for a in accepted
                if is_weak_suite(a.cipher_suite.name, a.cipher_suite.key_size, a.cipher_suite.is_anonymous)
            )
        report.weak_ciphers = sorted(weak)
        cert_result = attempts.certificate_info.result
        if cert_result is not None and cert_result.certificate_deployments:
            chain = cert_result.certificate_deployments[0].received_certificate_chain
            target = by_location.get(key, TlsTarget(*key))
            report.certificate, report.certificate_detail = judge_certificate(chain[0], len(chain), [target.address, *target.names])
        reports[key] = report
    return reports


def is_weak_suite(name: str, key_size: int, is_anonymous: bool) -> bool:
    """An accepted suite that gives no real protection today."""
    return is_anonymous or key_size < 128 or any(marker in name.upper() for marker in WEAK_MARKERS)


def judge_certificate(
    leaf: x509.Certificate, chain_length: int, names: Iterable[str], *, now: dt.datetime | None = None
) -> tuple[CertificateState, str]:
    """Classify a leaf certificate as expired, self_signed, wrong_host or valid, with a short description."""
    now = now or dt.datetime.now(dt.UTC)
    subject = _common_name(leaf.subject)
    if leaf.not_valid_after_utc < now:
        return "expired", f"certificate for '{subject}' expired on {leaf.not_valid_after_utc.date().isoformat()}"
    if chain_length == 1 and leaf.issuer == leaf.subject and _signs_itself(leaf):
        return "self_signed", f"self-signed certificate for '{subject}'"
    wanted = [n for n in names if n]
    if wanted and not any(certificate_names(leaf, n) for n in wanted):
        return "wrong_host", f"certificate for '{subject}' names none of {', '.join(wanted)}"
    return "valid", f"certificate for '{subject}' until {leaf.not_valid_after_utc.date().isoformat()}"


def certificate_names(leaf: x509.Certificate, name: str) -> bool:
    """Whether ``leaf`` is made out to ``name`` (an address or a host name; ``*.`` wildcards allowed)."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        return san is not None and address in san.get_values_for_type(x509.IPAddress)
    dns = san.get_values_for_type(x509.DNSName) if san is not None else [_common_name(leaf.subject)]
    return any(_dns_match(pattern, name) for pattern in dns)


def _dns_match(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def _signs_itself(cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()
