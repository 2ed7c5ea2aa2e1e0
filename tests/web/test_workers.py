"""Assessments in worker processes and `domosec serve --workers N`.

The engine runs outside the process that serves pages: its result is the one the in-process engine gives, a time
limit or a killed worker gives a clear 503 (page and API) and stores nothing, and the next assessment works. With
several web server processes (on SQLite and on PostgreSQL), sessions, CSRF and the sign-in limit hold across them
(the limit even for attempts sent at once to different processes)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from domosec.web.app import create_app
from domosec.web.security import MAX_FAILURES
from tests.ports import free_port
from tests.web.conftest import CSRF, FAMILY_HOME, PASSWORD, Person, assess, bearer, new_project, upload
from tests.web.postgres import postgres_server


def big_home(devices: int) -> str:
    """A model with ``devices`` devices, each with a few weaknesses: seconds of engine work."""
    lines = [
        "domosec: 1",
        "system: {id: big, name: Big home}",
        "users:",
        "  - {id: owner, role: admin, admin: true, mfa: false}",
        "zones:",
        "  - {id: living, kind: living}",
        "networks:",
        "  - {id: wifi, kind: wifi, encryption: wpa2, segment: main, wps: true}",
        "  - {id: wan, kind: wan}",
        "gateways:",
        "  - {id: router, kind: router, networks: [wifi, wan], upnp: true}",
        "services:",
        "  - {id: cloud, kind: cloud_backend, auth: {mfa: none}}",
        "devices:",
    ]
    for i in range(devices):
        lines += [
            f"  - id: dev-{i}",
            "    type: camera",
            "    zone: living",
            "    networks: [wifi]",
            "    credentials: [{kind: web, factory_default: true}]",
            "    endpoints: [{protocol: telnet, port: 23, exposure: lan}]",
            "    update: {mechanism: none, signed: false}",
            "    data: [video]",
        ]
    lines.append("flows:")
    lines += [f"  - {{id: f-{i}, from: dev-{i}, to: cloud, via: [wifi], data: [video], encrypted: false}}" for i in range(devices)]
    return "\n".join(lines) + "\n"


BIG = big_home(5000)  # seconds of engine work: far over the 1 s limit below


@pytest.fixture
def pooled(db_url: str) -> Iterator[FastAPI]:
    app = create_app(db_url, assess_workers=1, assess_time_limit=60)
    yield app
    app.state.assessor.close()
    app.state.engine.dispose()


def _findings(person: Person, project: int, assessment: int, token: str) -> list[tuple[str, str, str, int]]:
    listed = person.client.get(f"/api/v1/projects/{project}/assessments/{assessment}/findings?limit=1000", headers=bearer(token))
    return sorted((f["finding_id"], f["rule_id"], f["level"], f["score"]) for f in listed.json())


def test_assessment_runs_in_a_worker_process_with_the_same_result(pooled: FastAPI, db_url: str) -> None:
    owner = Person(pooled, "owner").signup()
    project = new_project(owner)
    version = upload(owner, project)
    token = owner.make_token()
    in_worker = assess(owner, project, version)
    workers = multiprocessing.active_children()
    assert workers and all(w.pid != os.getpid() for w in workers), "no worker process ran the engine"

    in_process = create_app(db_url)  # the same database, the engine in the request's thread
    twin = Person(in_process, "owner")
    assert twin.login() == 303
    second = assess(twin, project, version)
    assert _findings(owner, project, in_worker, token) == _findings(owner, project, second, token) != []
    in_process.state.engine.dispose()


def test_a_killed_worker_gives_a_clear_error_and_the_next_assessment_works(pooled: FastAPI) -> None:
    owner = Person(pooled, "owner").signup()
    project = new_project(owner)
    small, big = upload(owner, project), upload(owner, project, BIG)
    assess(owner, project, small)  # the worker is up and warm
    answers: list[httpx.Response] = []
    request = threading.Thread(
        target=lambda: answers.append(
            owner.client.post(f"/projects/{project}/models/{big}/assess", data={"csrf": owner.csrf}, follow_redirects=False)
        )
    )
    request.start()
    time.sleep(1)  # the request reaches the worker (killing it earlier fails the request the same way)
    for worker in multiprocessing.active_children():
        os.kill(worker.pid or 0, signal.SIGKILL)
    request.join(timeout=120)
    assert not request.is_alive(), "the request hung after its worker was killed"
    assert answers[0].status_code == 503
    assert "worker stopped before it finished" in answers[0].text and "nothing was stored" in answers[0].text
    assert owner.client.get(f"/projects/{project}").text.count("/assessments/") == 1  # only the first assessment
    assess(owner, project, small)  # a new pool took over


def test_an_assessment_over_the_time_limit_is_stopped_page_and_api(db_url: str) -> None:
    app = create_app(db_url, assess_workers=1, assess_time_limit=1)
    try:
        owner = Person(app, "owner").signup()
        project = new_project(owner)
        small, big = upload(owner, project, big_home(1)), upload(owner, project, BIG)
        token = owner.make_token()
        page = owner.client.post(f"/projects/{project}/models/{big}/assess", data={"csrf": owner.csrf}, follow_redirects=False)
        assert page.status_code == 503
        assert "took longer than 1 s and was stopped" in page.text
        api = owner.client.post(f"/api/v1/projects/{project}/models/{big}/assess", headers=bearer(token))
        assert api.status_code == 503 and "took longer than 1 s" in api.json()["detail"]
        listed = owner.client.get(f"/api/v1/projects/{project}/assessments", headers=bearer(token)).json()
        assert listed == []
        app.state.assessor.time_limit = 600  # no race with the limit: what is checked is that a new worker took over
        assess(owner, project, small)
    finally:
        app.state.assessor.close()
        app.state.engine.dispose()


# `domosec serve --workers 2`: real processes behind one port.


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _served_by(pid: int) -> dict[int, float]:
    """CPU ticks of each web server process under ``pid`` (uvicorn's workers)."""
    ticks = {}
    for child in _children(pid):
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmdline and b"forkserver" not in cmdline and b"resource_tracker" not in cmdline:
            ticks[child] = float(fields[11]) + float(fields[12])
    return ticks


class Browser:
    """A browser against a real server: its own cookies, sent back over http to 127.0.0.1 (Secure cookies)."""

    def __init__(self, base: str) -> None:
        self.jar: dict[str, str] = {}
        self.client = httpx.Client(base_url=base, timeout=60)

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            self.jar[name.strip()] = value.strip()
        return response

    def _headers(self, fresh: bool) -> dict[str, str]:
        cookies = "; ".join(f"{k}={v}" for k, v in sorted(self.jar.items()))
        return {"Cookie": cookies, **({"Connection": "close"} if fresh else {})}

    def get(self, path: str, *, fresh: bool = False) -> httpx.Response:
        return self._keep(self.client.get(path, headers=self._headers(fresh)))

    def post(self, path: str, data: dict[str, str], *, fresh: bool = False) -> httpx.Response:
        return self._keep(self.client.post(path, data=data, headers=self._headers(fresh)))

    def csrf(self, path: str) -> str:
        found = CSRF.search(self.get(path).text)
        assert found, path
        return found.group(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, int]]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            db = f"sqlite:///{tmp_path / 'w.sqlite'}"
        else:
            pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is a dev dependency")
            db = stack.enter_context(postgres_server())
        yield from _serve_two_workers(db)


def _serve_two_workers(db: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "domosec", "serve", "--db", db, "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # start-up bound on a loaded machine, not a speed assertion
    while True:
        try:
            httpx.get(f"{base}/login", timeout=5)
            break
        except httpx.TransportError:
            assert server.poll() is None, "the server died while starting"
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.3)
    try:
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def test_two_web_processes_share_sessions_csrf_and_work(two_workers: tuple[str, int]) -> None:
    base, pid = two_workers
    web = _served_by(pid)
    assert len(web) == 2, f"expected 2 web server processes, found {sorted(web)}"
    owner = Browser(base)
    owner.post("/signup", {"csrf": owner.csrf("/signup"), "username": "owner", "password": PASSWORD})
    csrf = owner.csrf("/")
    assert owner.post("/orgs", {"csrf": csrf, "name": "Acme"}, fresh=True).status_code == 303
    org = re.findall(r'action="/orgs/(\d+)/projects"', owner.get("/").text)[0]
    created = owner.post(f"/orgs/{org}/projects", {"csrf": csrf, "name": "Flat"}, fresh=True)
    project = created.headers["location"].rsplit("/", 1)[1]
    saved = owner.post(f"/projects/{project}/models", {"csrf": csrf, "text": FAMILY_HOME, "note": ""}, fresh=True)
    version = saved.headers["location"].rsplit("/", 1)[1]
    assessed = owner.post(f"/projects/{project}/models/{version}/assess", {"csrf": csrf}, fresh=True)
    assert assessed.status_code == 303, assessed.text[:500]
    before = _served_by(pid)
    statuses = [owner.get(f"/projects/{project}", fresh=True).status_code for _ in range(40)]  # a new connection each
    assert statuses == [200] * 40
    assert owner.post("/orgs", {"csrf": "forged", "name": "x"}, fresh=True).status_code == 403  # CSRF, whichever process
    after = _served_by(pid)
    assert all(after[p] > before[p] for p in before), "one web process served every request"  # both served the session
    owner.post("/logout", {"csrf": csrf}, fresh=True)
    assert [owner.get("/", fresh=True).status_code for _ in range(10)] == [303] * 10  # signed out in every process


def test_the_sign_in_limit_holds_across_processes_for_attempts_sent_at_once(two_workers: tuple[str, int]) -> None:
    base, _ = two_workers
    first = Browser(base)
    first.post("/signup", {"csrf": first.csrf("/signup"), "username": "victim", "password": PASSWORD})
    guessers = [Browser(base) for _ in range(12)]
    tokens = [g.csrf("/login") for g in guessers]

    def guess(n: int) -> int:
        return guessers[n].post("/login", {"csrf": tokens[n], "username": "victim", "password": f"wrong guess {n}"}, fresh=True).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= MAX_FAILURES, f"{statuses.count(401)} passwords were tried: the limit is {MAX_FAILURES}"
    # attempts refused at once are not counted: one at a time, guesses fill what is left of the limit, then stop
    checked = statuses.count(401)
    for n in range(MAX_FAILURES + 1):
        late = Browser(base)
        status = late.post("/login", {"csrf": late.csrf("/login"), "username": "victim", "password": f"later guess {n}"}, fresh=True)
        if status.status_code == 429:
            break
        assert status.status_code == 401
        checked += 1
    assert checked == MAX_FAILURES
    late = Browser(base)
    right = late.post("/login", {"csrf": late.csrf("/login"), "username": "victim", "password": PASSWORD}, fresh=True)
    assert right.status_code == 429
