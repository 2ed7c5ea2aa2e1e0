"""A running Home Assistant imported through the workspace (form and API), and the access token never kept.

Home Assistant 2024.3.3 runs in a network namespace of its own (``session.py --hold``, as for the command line's
live test), on loopback there. The workspace runs in that namespace too (``serve_uds.py`` under ``nsenter --net``,
``--ha-allow loopback``) and the test talks to it through a Unix socket. Its model must be the one
``domosec import homeassistant --url`` writes for the same instance; a refused token and a wrong path are clear
problems; the tokens are in no page, answer, log line, audit entry or database row.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from domosec.web.app import create_app
from domosec.web.security import SESSION_COOKIE
from tests.evidence.homeassistant.live.test_live_websocket import _in_namespace, _start_held_session, _wait_until_ready
from tests.web.conftest import Person, bearer, new_project

pytestmark = pytest.mark.live
HERE = Path(__file__).resolve().parent


@dataclass
class Workspace:
    client: httpx.Client
    project: int
    api: dict[str, str]
    form: dict[str, str]
    csrf: str
    url: str
    tokens: dict[str, str]
    db: Path
    cli_model: str
    log: str = ""


def _serve_in_namespace(pid: int, db_url: str, socket_path: Path, log: Path) -> subprocess.Popen[bytes]:
    command = ["nsenter", "--target", str(pid), "--net", "--", sys.executable, str(HERE / "serve_uds.py"), db_url, str(socket_path)]
    with log.open("wb") as sink:
        server = subprocess.Popen([*command, "loopback"], stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        if socket_path.exists():
            try:
                with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path))) as probe:
                    if probe.get("http://workspace/login").status_code == 200:
                        return server
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    pytest.fail(f"the workspace did not start in the namespace:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    work = tmp_path_factory.mktemp("live-web")
    db = work / "workspace.sqlite"
    app = create_app(f"sqlite:///{db}")  # people, the project and a token, made here through the real forms
    owner = Person(app, "owner").signup()
    project = new_project(owner)
    api = bearer(owner.make_token())
    cookie = owner.client.cookies.get(SESSION_COOKIE)
    app.state.engine.dispose()
    session = _start_held_session(work)
    server = None
    try:
        ready = _wait_until_ready(session)
        url = f"http://127.0.0.1:{ready['port']}"
        tokens = {who: (work / f"{who}.token").read_text(encoding="ascii").strip() for who in ("owner", "member")}
        tokens["refused"] = tokens["owner"][:-4] + ("AAAA" if not tokens["owner"].endswith("AAAA") else "BBBB")
        cli = _in_namespace(session.pid, "--url", url, "--token-file", work / "owner.token")
        assert cli.returncode == 0, cli.stderr
        socket_path = work / "workspace.sock"
        server = _serve_in_namespace(session.pid, f"sqlite:///{db}", socket_path, work / "server.log")
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://workspace", timeout=180) as client:
            form = {"Cookie": f"{SESSION_COOKIE}={cookie}"}  # the session cookie is Secure: sent by hand over plain HTTP
            yield Workspace(client, project, api, form, owner.csrf, url, tokens, db, cli.stdout)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
        if session.poll() is None:
            assert session.stdin is not None
            session.stdin.write("stop\n")
            session.stdin.flush()
            try:
                session.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                os.killpg(session.pid, signal.SIGKILL)
                session.communicate()


def test_live_import_through_the_api_and_the_form(workspace: Workspace) -> None:
    """One test, so that Home Assistant starts once."""
    w = workspace
    live = f"/api/v1/projects/{w.project}/imports/homeassistant/live"
    answers: list[str] = []

    # The API: the model is the command line's, byte for byte; the summary says what was read.
    made = w.client.post(live, json={"url": w.url, "token": w.tokens["owner"]}, headers=w.api)
    answers.append(made.text)
    assert made.status_code == 201, made.text
    version = made.json()
    assert version["note"] == f"imported homeassistant live from {w.url} (Home Assistant 2024.3.3)"
    assert any(line.startswith("read through the WebSocket API: auth/current_user") for line in version["summary"])
    text = w.client.get(f"/api/v1/projects/{w.project}/models/{version['id']}", headers=w.api)
    assert text.json()["text"] == w.cli_model

    # A refused token and a wrong path: clear problems, nothing saved.
    refused = w.client.post(live, json={"url": w.url, "token": w.tokens["refused"]}, headers=w.api)
    wrong = w.client.post(live, json={"url": w.url + "/nothing", "token": w.tokens["owner"]}, headers=w.api)
    answers += [refused.text, wrong.text]
    assert refused.status_code == 422 and refused.json()["problems"][0]["code"] == "ha-token-refused"
    assert refused.json()["problems"][0]["text"].startswith(f"{w.url}: error[ha-token-refused]: Home Assistant refused the access token")
    assert wrong.status_code == 422 and wrong.json()["problems"][0]["code"] == "ha-not-home-assistant"

    # The form: a non-administrator's token gives a partial import; a refused one shows the problem and the URL, not the token.
    page = w.client.post(
        f"/projects/{w.project}/imports/live", data={"csrf": w.csrf, "url": w.url, "token": w.tokens["member"]}, headers=w.form
    )
    assert page.status_code == 303, page.text
    model_page = w.client.get(page.headers["location"], headers=w.form)
    answers.append(model_page.text)
    assert "imported homeassistant live from" in model_page.text
    bad = w.client.post(
        f"/projects/{w.project}/imports/live", data={"csrf": w.csrf, "url": w.url, "token": w.tokens["refused"]}, headers=w.form
    )
    answers.append(bad.text)
    assert bad.status_code == 422 and "error[ha-token-refused]" in bad.text and f'value="{w.url}"' in bad.text

    versions = w.client.get(f"/api/v1/projects/{w.project}/models", headers=w.api).json()
    assert [v["number"] for v in versions] == [1, 2]
    with sqlite3.connect(w.db) as con:
        imports = con.execute("select detail from audit_log where action = 'model.import' order by seq").fetchall()
        dump = "\n".join(con.iterdump())
    assert len(imports) == 2 and all('"kind": "homeassistant-live"' in d or '"kind":"homeassistant-live"' in d for (d,) in imports)
    log = (w.db.parent / "server.log").read_text(encoding="utf-8", errors="replace")
    assert "POST /projects/" in log  # the server's log is this one
    for who, token in w.tokens.items():
        assert len(token) > 100
        places = {"answers": "\n".join(answers), "database": dump, "server log": log}
        assert [where for where, text in places.items() if token in text or token[-40:] in text] == [], who
