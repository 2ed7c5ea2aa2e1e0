"""A live import of an https Home Assistant: the workspace checks its certificate against the system's authorities, or
against the certificates its administrator gave with ``domosec serve --ha-ca-file`` (a home lab's own authority)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domosec.web import imports
from domosec.web.ha_allow import HostPolicy
from tests.conftest import run_cli
from tests.evidence.homeassistant.test_live_errors import TlsServer, tls_server  # noqa: F401 - the fixture
from tests.web.test_live_import_limits import live


def test_a_home_labs_own_authority_is_trusted_only_when_the_administrator_gives_it(
    tls_server: TlsServer,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"https://127.0.0.1:{tls_server.port}"
    loopback = HostPolicy.parse(["loopback"])
    monkeypatch.delenv(imports.CA_ENV, raising=False)
    refused = live(url, loopback, timeout=5)
    assert "error[ha-tls-unverified]" in refused
    assert "domosec serve --ha-ca-file" in refused
    # Trusting the lab's authority the handshake succeeds, and the silent server stops the import at its time limit.
    monkeypatch.setenv(imports.CA_ENV, str(tls_server.ca))
    assert "error[ha-timeout]" in live(url, loopback, timeout=1)


def test_serve_refuses_a_ca_file_that_is_not_one(tmp_path: Path) -> None:
    not_pem = tmp_path / "lab-ca.pem"
    not_pem.write_text("hello\n", encoding="ascii")
    run = run_cli("serve", "--ha-ca-file", str(not_pem))
    assert run.returncode == 2
    assert run.stderr.startswith(f"{not_pem}: error[ha-ca-file]: not a readable PEM file of certificates")
    absent = run_cli("serve", "--ha-ca-file", str(tmp_path / "absent.pem"))
    assert absent.returncode == 2 and "error[ha-ca-file]: no such file" in absent.stderr
