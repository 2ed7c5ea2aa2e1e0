"""The command line's import options in the form and the API: VEX documents with an SBOM (``--vex``), and with a
capture the list of which device is which (``--devices``) and tracker lists (``--trackers``). Their problems are
shown like the file's, with their own names and positions (422), and nothing is saved."""

from __future__ import annotations

import json
from pathlib import Path

import dpkt
from fastapi import FastAPI

from tests.evidence.sbom.home import HOME, VEX
from tests.evidence.traffic.frames import ethernet, ipv4_tcp, pcap
from tests.web.conftest import Person, bearer, new_project, upload
from tests.web.test_imports import sbom_app, vulndb  # noqa: F401  (fixtures)

THERMOSTAT_HOME = "domosec: 1\nsystem: {id: h, name: H}\ndevices:\n  - {id: thermo, name: Hall thermostat, type: climate}\n"


def capture() -> bytes:
    """The thermostat (MAC 02:00:00:00:00:11) asks a web server outside the home for metrics.beacon.example."""
    request = b"GET /t HTTP/1.1\r\nHost: metrics.beacon.example\r\n\r\n"
    return pcap([ethernet(ipv4_tcp("192.168.1.20", "93.184.216.34", 40000, 80, request, flags=dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH))])


def model_text(person: Person, project: int, token: dict[str, str]) -> str:
    versions = person.client.get(f"/api/v1/projects/{project}/models", headers=token).json()
    return str(person.client.get(f"/api/v1/projects/{project}/models/{versions[-1]['id']}", headers=token).json()["text"])


def test_sbom_with_vex_documents(sbom_app: FastAPI, tmp_path: Path) -> None:  # noqa: F811
    from tests.evidence.sbom.firmware import write_firmware_spdx

    sbom = write_firmware_spdx(tmp_path)["json"].read_bytes()
    alice = Person(sbom_app, "alice").signup()
    project = new_project(alice)
    upload(alice, project, HOME.format(kind="deployment"))
    token = bearer(alice.make_token())
    vex = json.dumps(VEX).encode()
    answer = alice.client.post(
        f"/api/v1/projects/{project}/imports/sbom",
        data={"asset": "router"},
        files=[("file", ("fw.spdx.json", sbom)), ("vex", ("router.openvex.json", vex))],
        headers=token,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["summary"] == [
        "router: 6 components, 5 known vulnerabilities (2 known exploited); 1 VEX statements from router.openvex.json"
    ]
    assert "vex_justification: vulnerable_code_not_present" in model_text(alice, project, token)

    # The form: a broken VEX document is a problem under its own name; nothing is saved.
    response = alice.client.post(
        f"/projects/{project}/imports",
        data={"csrf": alice.csrf, "kind": "sbom", "asset": "router"},
        files=[("file", ("fw.spdx.json", sbom)), ("vex", ("bad.openvex.json", b'{"statements": 1}')), ("devices", ("", b""))],
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "bad.openvex.json: error[vex-invalid]: neither an OpenVEX document nor a CycloneDX VEX" in response.text
    assert len(alice.client.get(f"/api/v1/projects/{project}/models", headers=token).json()) == 2
    mixed = alice.client.post(
        f"/api/v1/projects/{project}/imports/sbom",
        data={"asset": "router"},
        files=[("file", ("fw.spdx.json", sbom)), ("trackers", ("t.txt", b"ads.example\n"))],
        headers=token,
    )
    assert mixed.status_code == 422
    assert mixed.json()["problems"][0]["text"] == "fw.spdx.json: error[import-option]: 'trackers' files go with traffic imports"
    response = alice.client.post(
        f"/projects/{project}/imports",
        data={"csrf": alice.csrf, "kind": "sbom", "asset": "router"},
        files=[("file", ("fw.spdx.json", sbom)), ("vex", ("router.openvex.json", vex))],
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_capture_with_device_names_and_a_tracker_list(app: FastAPI) -> None:
    alice = Person(app, "alice").signup()
    token = bearer(alice.make_token())
    without = new_project(alice, name="without the options")
    upload(alice, without, THERMOSTAT_HOME)
    plain = alice.client.post(f"/api/v1/projects/{without}/imports/traffic", files={"file": ("c.pcap", capture())}, headers=token)
    assert plain.status_code == 201, plain.text
    assert "not in the model, added as observed: 192.168.1.20 → host-192-168-1-20" in plain.json()["summary"]  # not the thermostat
    assert "on the tracker list" not in model_text(alice, without, token)

    project = new_project(alice, org="Other")
    upload(alice, project, THERMOSTAT_HOME)
    macs = b"mac,name\n02-00-00-00-00-11,Hall thermostat\n"
    trackers = b"# my list\n0.0.0.0 beacon.example\n"
    files = [("file", ("c.pcap", capture())), ("devices", ("macs.csv", macs)), ("trackers", ("trackers.txt", trackers))]
    named = alice.client.post(f"/api/v1/projects/{project}/imports/traffic", files=files, headers=token)
    assert named.status_code == 201, named.text
    assert "matched: 192.168.1.20 → thermo (by name)" in named.json()["summary"]
    text = model_text(alice, project, token)
    assert "on the tracker list trackers.txt" in text and "kind: third_party" in text

    # A bad row of the devices list: its name, line and column, in the API and on the form's page.
    bad = [("file", ("c.pcap", capture())), ("devices", ("macs.csv", b"mac,name\nnot-a-mac,Hall\n"))]
    answer = alice.client.post(f"/api/v1/projects/{project}/imports/traffic", files=bad, headers=token)
    assert answer.status_code == 422
    assert [p["text"] for p in answer.json()["problems"]] == ["macs.csv:2:1: error[bad-mac]: not a MAC address: 'not-a-mac'"]
    page = alice.client.post(
        f"/projects/{project}/imports", data={"csrf": alice.csrf, "kind": "traffic"}, files=bad, follow_redirects=False
    )
    assert page.status_code == 422 and "macs.csv:2:1: error[bad-mac]" in page.text
    assert len(alice.client.get(f"/api/v1/projects/{project}/models", headers=token).json()) == 2
