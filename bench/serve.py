"""Load on `domosec serve`: concurrent users on loopback, a realistic mix, bounded in time; requests/s and p50/p99 per page.

Starts `domosec serve` on a fresh SQLite file (or `--db URL`) on a free loopback port, signs up USERS people who
share one project, stores one assessment of a generated 5,000-device home (``bench/assess.py``'s generator: 4,214
findings), then each user loops: the project page, the findings page, the findings filtered by level, the next page
(keyset cursor), a treatment edit (accept a finding), and every tenth round an assessment of a generated 50-device
model. Two phases of DURATION seconds each: a **closed loop** (each user sends its next request as soon as the last
is answered: a stress figure, not a load people make) and a **realistic mix** where each user waits a random 0.5-1.5
x THINK seconds between requests (the "wait time" of load tools); ``--think 0`` runs the closed loop only. Prints,
per phase and page, the count, p50 and p99 in ms, the errors (any status but the expected one), the server's CPU
seconds (all its processes) per request and the load average. A bounded run: keep DURATION at a minute or less.

    .venv/bin/python bench/serve.py [--users 20] [--duration 45] [--think 1] [--workers N] [--db URL | --postgres]
                                    [--findings 1000000] [--no-assess]

``--postgres`` starts a throw-away PostgreSQL server (Debian's binaries, as the tests do) and measures on it.
``--findings N`` first stores N synthetic findings (bulk insert straight into the database: SQLite's executemany,
PostgreSQL's COPY) in a second assessment of the same project, the one the findings pages then show, so the pages
are measured with N findings stored.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from assess import generate  # noqa: E402  (the generator of bench/assess.py and bench/single_home.py)

BROWSED_DEVICES = 5000
ASSESSED_DEVICES = 50
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def loopback_client(base: str) -> httpx.Client:
    """A client that sends the server's Secure cookies back over http to 127.0.0.1, as browsers do (httpx does not)."""
    jar: dict[str, str] = {}
    client = httpx.Client(base_url=base, timeout=60)  # redirects not followed: httpx drops the Cookie header on them

    def keep(response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            jar[name.strip()] = value.strip()
        client.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in sorted(jar.items()))

    client.event_hooks["response"] = [keep]
    return client


def signed_in(base: str, name: str) -> tuple[httpx.Client, str]:
    client = loopback_client(base)
    token = CSRF.search(client.get("/signup").text).group(1)  # type: ignore[union-attr]
    client.post("/signup", data={"csrf": token, "username": name, "password": PASSWORD})
    return client, CSRF.search(client.get("/").text).group(1)  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=45, help="seconds of each phase")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time (s) of the second phase; 0: closed loop only")
    parser.add_argument("--workers", type=int, default=0, help="domosec serve --workers N (default: the server's own default)")
    parser.add_argument("--db", default="")
    parser.add_argument("--postgres", action="store_true", help="measure on a throw-away PostgreSQL server")
    parser.add_argument("--cpu", type=int, default=0, help="instead of the phases: the server's CPU ms per page over N requests each")
    parser.add_argument("--no-assess", action="store_true", help="leave the assessments out of the mix (pages and edits only)")
    parser.add_argument("--findings", type=int, default=0, help="store this many synthetic findings first (e.g. 1000000)")
    args = parser.parse_args()
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        from tests.web.postgres import postgres_server

        with postgres_server() as url:
            args.db = url
            measure(args)
    else:
        measure(args)


def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        db = args.db or f"sqlite:///{tmp}/bench.sqlite"
        print(f"database: {db.split('://', 1)[0]}")
        command = [sys.executable, "-m", "domosec", "serve", "--db", db, "--port", str(port)]
        if args.workers:
            command += ["--workers", str(args.workers)]
        log = Path(tmp) / "server.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
        base = f"http://127.0.0.1:{port}"
        try:
            run(base, server.pid, args, db)
        except Exception:
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            print("\n".join(line for line in lines if "INFO:" not in line)[-4000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)


LEVELS = (("very-high", 20), ("high", 15), ("medium", 9), ("low", 4), ("very-low", 1))


def synthetic_findings(assessment: int, count: int) -> Iterator[tuple[int, str, str, str, str, str, int, str]]:
    """``count`` finding rows of ``assessment``: mostly low levels, as a large home's assessment has them."""
    rng = random.Random(20)
    rules = [f"DEV-S{n:02d}" for n in range(1, 60)] + [f"NET-P{n:02d}" for n in range(1, 40)]
    for n in range(count):
        level, score = LEVELS[4 - min(4, int(rng.expovariate(1.0) * 1.5))]
        rule = rng.choice(rules)
        yield (
            assessment,
            f"{rng.getrandbits(64):016x}",
            rule,
            f"synthetic finding {n} of {rule}",
            f"device-{n % 5000}",
            level,
            score,
            "security",
        )


def seed_findings(db: str, assessment: int, count: int) -> None:
    """Bulk-insert ``count`` synthetic findings into ``assessment`` and set its finding count."""
    columns = "assessment_id, finding_id, rule_id, title, asset, level, score, dimension"
    started = time.monotonic()
    if db.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(db.split(":///", 1)[1]) as conn:
            rows = synthetic_findings(assessment, count)
            while batch := list(itertools.islice(rows, 50_000)):
                conn.executemany(f"insert into findings ({columns}) values (?, ?, ?, ?, ?, ?, ?, ?)", batch)
            conn.execute("update assessments set findings_count = findings_count + ? where id = ?", (count, assessment))
            conn.execute("analyze")
    else:
        import psycopg

        with psycopg.connect(db) as conn, conn.cursor() as cur:
            with cur.copy(f"copy findings ({columns}) from stdin") as copy:
                for row in synthetic_findings(assessment, count):
                    copy.write_row(row)
            cur.execute("update assessments set findings_count = findings_count + %s where id = %s", (count, assessment))
            cur.execute("analyze findings")
    print(f"stored {count} findings in {time.monotonic() - started:.0f} s")


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the server and every process under it (web and assessment workers)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run(base: str, pid: int, args: argparse.Namespace, db: str) -> None:
    while True:
        try:
            httpx.get(f"{base}/login", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    owner, csrf = signed_in(base, "owner")
    owner.timeout = httpx.Timeout(600)
    owner.post("/orgs", data={"csrf": csrf, "name": "Bench"})
    org = re.findall(r'action="/orgs/(\d+)/projects"', owner.get("/").text)[0]
    project = owner.post(f"/orgs/{org}/projects", data={"csrf": csrf, "name": "Home"}).headers["location"].rsplit("/", 1)[1]

    def new_version(text: str) -> str:
        answer = owner.post(f"/projects/{project}/models", data={"csrf": csrf, "text": text, "note": ""})
        return answer.headers["location"].rsplit("/", 1)[1]

    def assessed(version: str) -> str:
        answer = owner.post(f"/projects/{project}/models/{version}/assess", data={"csrf": csrf})
        assert answer.status_code == 303, answer.text[:2000]
        return answer.headers["location"].rsplit("/", 1)[1]

    started = time.monotonic()
    big = new_version(generate(BROWSED_DEVICES))
    assessment = assessed(big)
    print(f"stored an assessment of a {BROWSED_DEVICES:,}-device home in {time.monotonic() - started:.0f} s")
    small = new_version(generate(ASSESSED_DEVICES))
    if args.findings:
        assessment = assessed(small)
        seed_findings(db, int(assessment), args.findings)
    first_page = owner.get(f"/projects/{project}/assessments/{assessment}").text
    findings = re.findall(r'id="f-([0-9a-f]{16})"', first_page)
    following = re.search(r'<a rel="next" href="[^"]*after=([0-9a-f]{16})"', first_page)
    people = []
    for i in range(args.users):
        client, token = signed_in(base, f"user{i}")
        owner.post(f"/projects/{project}/members", data={"csrf": csrf, "username": f"user{i}", "role": "owner"})
        people.append((client, token))
    context = (project, assessment, small, findings, following.group(1) if following else "")
    if args.cpu:
        cpu_per_page(pid, people[0], context, args.cpu)
        return
    phase("closed loop (no think time)", pid, people, context, args.duration, 0.0, assessing=not args.no_assess)
    if args.think > 0:
        phase(f"realistic mix (think {args.think:g} s)", pid, people, context, args.duration, args.think, assessing=not args.no_assess)


def cpu_per_page(pid: int, person: tuple[httpx.Client, str], context: tuple[str, str, str, list[str], str], count: int) -> None:
    """The server's CPU time (all its processes) per request of each page: ``count`` requests, one at a time."""
    client, token = person
    project, assessment, _, findings, following = context
    page = f"/projects/{project}/assessments/{assessment}"
    pages = {
        "project page": lambda n: client.get(f"/projects/{project}"),
        "findings page": lambda n: client.get(page),
        "findings filtered": lambda n: client.get(f"{page}?level=high"),
        "findings next page": lambda n: client.get(f"{page}?after={following}"),
        "treatment edit": lambda n: client.post(
            f"/projects/{project}/findings/{findings[n % len(findings)]}/accept",
            data={"csrf": token, "reason": f"edit {n}", "expires": "2099-01-01"},
        ),
    }
    print(f"\nserver CPU per request, {count} requests of each, one at a time (load average {os.getloadavg()[0]:.2f})")
    for name, request in pages.items():
        for n in range(5):  # warm
            request(n)
        before = server_cpu(pid)
        for n in range(count):
            assert request(n).status_code in (200, 303)
        print(f"{name:<20}{1000 * (server_cpu(pid) - before) / count:>7.2f} ms")


def phase(
    title: str,
    pid: int,
    people: list[tuple[httpx.Client, str]],
    context: tuple[str, str, str, list[str], str],
    duration: float,
    think: float,
    *,
    assessing: bool,
) -> None:
    project, assessment, version, findings, following = context
    times: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def timed(client: httpx.Client, name: str, expected: int, path: str, data: dict[str, str] | None = None) -> None:
        started = time.perf_counter()
        try:
            status = (client.get(path) if data is None else client.post(path, data=data)).status_code
        except httpx.HTTPError:
            status = 0
        with lock:
            times[name].append((time.perf_counter() - started) * 1000)
            if status != expected:
                errors[name] += 1
        if think:
            time.sleep(rng.uniform(0.5, 1.5) * think)

    rng = random.Random(20)
    cpu_before = server_cpu(pid)

    def user(n: int, client: httpx.Client, token: str) -> None:
        round_ = 0
        page = f"/projects/{project}/assessments/{assessment}"
        if think:  # users do not all start in the same instant
            time.sleep(rng.uniform(0, think))
        while time.monotonic() < stop:
            timed(client, "project page", 200, f"/projects/{project}")
            timed(client, "findings page", 200, page)
            timed(client, "findings filtered", 200, f"{page}?level=high")
            if following:  # the page after the first (keyset cursor)
                timed(client, "findings next page", 200, f"{page}?after={following}")
            finding = findings[(n + round_) % len(findings)]
            form = {"csrf": token, "reason": f"round {round_}", "expires": "2099-01-01"}
            timed(client, "treatment edit", 303, f"/projects/{project}/findings/{finding}/accept", form)
            if assessing and round_ % 10 == n % 10:
                timed(client, "assessment", 303, f"/projects/{project}/models/{version}/assess", {"csrf": token})
            round_ += 1

    threads = [threading.Thread(target=user, args=(n, c, t)) for n, (c, t) in enumerate(people)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    cpu = server_cpu(pid) - cpu_before
    total = sum(len(v) for v in times.values())
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{title}: {len(people)} users, {elapsed:.0f} s, {total} requests, {total / elapsed:.1f} requests/s, errors {sum(errors.values())}"
    )
    print(f"server CPU {cpu:.1f} s ({1000 * cpu / max(total, 1):.1f} ms a request, all kinds), load average {load}")
    print(f"{'page':<20}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, values in sorted(times.items()):
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{name:<20}{len(values):>7}{statistics.median(values):>9.0f}{p99:>9.0f}{errors[name]:>8}")


if __name__ == "__main__":
    main()
