"""Imports into a project's model versions, through the form and the API: a Home Assistant folder as a zip or tar,
nmap XML, an SBOM onto a device (matched against the server's vulnerability store), a traffic capture. Each becomes a
new model version with its provenance; problems are shown as the command line shows them; a missing extra is named."""

from __future__ import annotations

import io
import re
import sqlite3
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from domosec.web.app import create_app
from tests.evidence.scan.test_ports_and_import import NMAP_XML
from tests.evidence.traffic.frames import ethernet, http_with_basic, ipv4_tcp, pcap
from tests.web.conftest import ROOT, Person, bearer, new_project, upload

HA_FIXTURE = ROOT / "tests" / "evidence" / "homeassistant" / "fixtures" / "ha-2024.3.3-family"
NMAP_HOME = """\
domosec: 1
system: {id: flat-7, name: Flat 7, kind: deployment}
networks: [{id: lan, kind: wifi}]
devices:
  - id: cam
    name: Hall camera
    type: camera
    networks: [lan]
    mac: "02:aa:00:00:00:01"
"""


def ha_archive(kind: str, extra: dict[str, bytes] | None = None) -> bytes:
    """The Home Assistant fixture folder (with its .storage) packed as users pack /config: a top folder ``config/``."""
    buffer = io.BytesIO()
    files = {f"config/{p.relative_to(HA_FIXTURE)}": p.read_bytes() for p in sorted(HA_FIXTURE.rglob("*")) if p.is_file()}
    files.update(extra or {})
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def form_import(person: Person, project: int, kind: str, name: str, data: bytes, asset: str = "") -> tuple[int, str, str]:
    """Import through the form: (status, location, page text)."""
    response = person.client.post(
        f"/projects/{project}/imports",
        data={"csrf": person.csrf, "kind": kind, "asset": asset},
        files={"file": (name, data)},
        follow_redirects=False,
    )
    return response.status_code, response.headers.get("location", ""), response.text


def audit_actions(db_url: str) -> list[tuple[str, str]]:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        return con.execute("select action, detail from audit_log order by seq").fetchall()


@pytest.fixture(scope="module")
def vulndb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.evidence.sbom.conftest import build_store

    return build_store(tmp_path_factory.mktemp("vulndb") / "vulns.duckdb")


@pytest.fixture
def sbom_app(db_url: str, vulndb: Path) -> Iterator[FastAPI]:
    application = create_app(db_url, vulndb=vulndb)
    yield application
    application.state.engine.dispose()


@pytest.mark.parametrize("packing", ["zip", "tar.gz"])
def test_home_assistant_archive_becomes_a_model_version(app: FastAPI, db_url: str, packing: str) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    status, location, text = form_import(alice, project, "homeassistant", f"config.{packing}", ha_archive(packing))
    assert status == 303, text
    page = alice.client.get(location).text
    assert re.search(r"imported homeassistant from config\.(zip|tar\.gz) \(sha256 [0-9a-f]{16}\)", page)
    assert "source: imported" in page  # the importer's provenance on each fact
    assert audit_actions(db_url)[-1][0] == "model.import"
    # the API takes the same archive, and a second import is the next version
    token = alice.make_token()
    answer = alice.client.post(
        f"/api/v1/projects/{project}/imports/homeassistant", files={"file": ("ha.zip", ha_archive("zip"))}, headers=bearer(token)
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["number"] == 2 and any("device" in line for line in answer.json()["summary"])


def test_a_hostile_archive_is_refused_and_nothing_is_saved(app: FastAPI, db_url: str) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    escaping = ha_archive("zip", {"../../escaped.txt": b"x"})
    status, _, text = form_import(alice, project, "homeassistant", "config.zip", escaping)
    assert status == 422 and "config.zip: error[bad-archive]: ../../escaped.txt: a member outside the archive" in text
    status, _, text = form_import(alice, project, "homeassistant", "notes.txt", b"just text")
    assert status == 422 and "error[bad-archive]: not a zip or tar archive" in text
    assert not (Path(tempfile.gettempdir()) / "escaped.txt").exists()
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select count(*) from model_versions").fetchone() == (0,)


def test_nmap_results_merge_into_the_newest_version(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    upload(alice, project, NMAP_HOME)
    status, location, text = form_import(alice, project, "nmap", "scan.xml", NMAP_XML.encode())
    assert status == 303, text
    model = alice.client.get(location).text
    assert "imported nmap from scan.xml" in model and "Hall camera" in model and "observed" in model and "telnet" in model
    token = alice.make_token()
    broken = alice.client.post(
        f"/api/v1/projects/{project}/imports/nmap",
        files={"file": ("scan.xml", NMAP_XML[: NMAP_XML.index("<runstats>")].encode())},
        headers=bearer(token),
    )
    assert broken.status_code == 422
    assert all(p["text"].startswith("scan.xml") and ": error[" in p["text"] for p in broken.json()["problems"])


def test_sbom_onto_a_device_with_the_servers_vulnerability_store(sbom_app: FastAPI, tmp_path: Path) -> None:
    from tests.evidence.sbom.firmware import write_firmware_spdx
    from tests.evidence.sbom.home import HOME

    sbom = write_firmware_spdx(tmp_path)["json"].read_bytes()
    alice = Person(sbom_app, "alice").signup()
    project = new_project(alice)
    upload(alice, project, HOME.format(kind="deployment"))
    status, _, text = form_import(alice, project, "sbom", "router.spdx.json", sbom)
    assert status == 422 and "error[sbom-asset]" in text
    status, location, text = form_import(alice, project, "sbom", "router.spdx.json", sbom, asset="router")
    assert status == 303, text
    model = alice.client.get(location).text
    assert "imported sbom from router.spdx.json" in model and "onto router" in model and "CVE-2014-0160" in model
    token = alice.make_token()
    answer = alice.client.post(
        f"/api/v1/projects/{project}/imports/sbom", data={"asset": "router"}, files={"file": ("fw.json", sbom)}, headers=bearer(token)
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["summary"] == ["router: 6 components, 5 known vulnerabilities (2 known exploited)"]


def test_capture_becomes_observed_facts_and_a_missing_extra_is_named(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    frame = ethernet(ipv4_tcp("192.168.1.20", "93.184.216.34", 40000, 80, http_with_basic()))
    capture = pcap([frame])
    status, location, text = form_import(alice, project, "traffic", "home.pcap", capture)
    assert status == 303, text
    assert "imported traffic from home.pcap" in alice.client.get(location).text
    token = alice.make_token()
    answer = alice.client.post(f"/api/v1/projects/{project}/imports/traffic", files={"file": ("x.pcap", capture)}, headers=bearer(token))
    assert answer.status_code == 201 and answer.json()["summary"][0].startswith("read 1 packets")

    import domosec.extras

    monkeypatch.setitem(domosec.extras.EXTRA_MODULES, "traffic", [*domosec.extras.EXTRA_MODULES["traffic"], "no_such_module_for_test"])
    status, _, text = form_import(alice, project, "traffic", "home.pcap", capture)
    assert status == 409 and "needs the &#39;traffic&#39; extra: pip install &#39;domosec[traffic]&#39;" in text
    refused = alice.client.post(f"/api/v1/projects/{project}/imports/traffic", files={"file": ("x.pcap", capture)}, headers=bearer(token))
    assert refused.status_code == 409 and "pip install 'domosec[traffic]'" in refused.json()["detail"]


def test_viewers_cannot_import_and_read_tokens_may_not(app: FastAPI) -> None:
    alice, victor = Person(app, "alice").signup(), Person(app, "victor").signup()
    project = new_project(alice)
    assert alice.post(f"/projects/{project}/members", username="victor", role="viewer") == 303
    assert form_import(victor, project, "nmap", "scan.xml", NMAP_XML.encode())[0] == 403
    read = alice.make_token(scope="read")
    refused = alice.client.post(
        f"/api/v1/projects/{project}/imports/nmap", files={"file": ("s.xml", NMAP_XML.encode())}, headers=bearer(read)
    )
    assert refused.status_code == 403
    assert victor.get(f"/projects/{project}/imports/new") == 403
