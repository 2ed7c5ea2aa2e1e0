"""Load on `domosec serve`: concurrent users on loopback, a realistic mix, bounded in time; requests/s and p50/p99 per page.

Starts `domosec serve` on a fresh SQLite file (or `--db URL`) on a free loopback port, signs up USERS people who
share one project, stores one assessment of examples/family-home.yaml, then for DURATION seconds each user loops:
the project page, the findings page, the findings filtered by level, a treatment edit (accept a finding), and every
tenth round a new assessment. Prints, per page, the count, p50 and p99 in ms, and the errors (any status but the
expected one). A short, bounded run: on a shared 2-core machine keep DURATION at a minute or two.

    .venv/bin/python bench/serve.py [--users 20] [--duration 60] [--db URL | --postgres] [--findings 1000000] [--no-assess]

``--postgres`` starts a throw-away PostgreSQL server (Debian's binaries, as the tests do) and measures on it.
``--findings N`` first stores N synthetic findings (bulk insert straight into the database: SQLite's executemany,
PostgreSQL's COPY) in a second assessment of the same project, the one the findings pages then show, so the pages
are measured with N findings stored.
"""

from __future__ import annotations

import argparse
import itertools
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

ROOT = Path(__file__).resolve().parents[1]
MODEL = (ROOT / "examples" / "family-home.yaml").read_text(encoding="utf-8")
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
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--db", default="")
    parser.add_argument("--postgres", action="store_true", help="measure on a throw-away PostgreSQL server")
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
        server = subprocess.Popen(
            [sys.executable, "-m", "domosec", "serve", "--db", db, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            run(base, args.users, args.duration, db, args.findings, assessing=not args.no_assess)
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


def run(base: str, users: int, duration: float, db: str = "", seed: int = 0, *, assessing: bool = True) -> None:
    while True:
        try:
            httpx.get(f"{base}/login", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    owner, csrf = signed_in(base, "owner")
    owner.post("/orgs", data={"csrf": csrf, "name": "Bench"})
    org = re.findall(r'action="/orgs/(\d+)/projects"', owner.get("/").text)[0]
    project = owner.post(f"/orgs/{org}/projects", data={"csrf": csrf, "name": "Home"}).headers["location"].rsplit("/", 1)[1]
    version = (
        owner.post(f"/projects/{project}/models", data={"csrf": csrf, "text": MODEL, "note": ""}).headers["location"].rsplit("/", 1)[1]
    )
    assessment = owner.post(f"/projects/{project}/models/{version}/assess", data={"csrf": csrf}).headers["location"].rsplit("/", 1)[1]
    if seed:
        assessment = owner.post(f"/projects/{project}/models/{version}/assess", data={"csrf": csrf}).headers["location"].rsplit("/", 1)[1]
        seed_findings(db, int(assessment), seed)
    first_page = owner.get(f"/projects/{project}/assessments/{assessment}").text
    findings = re.findall(r'id="f-([0-9a-f]{16})"', first_page)
    following = re.search(r'<a rel="next" href="[^"]*after=([0-9a-f]{16})"', first_page)
    people = []
    for i in range(users):
        client, token = signed_in(base, f"user{i}")
        owner.post(f"/projects/{project}/members", data={"csrf": csrf, "username": f"user{i}", "role": "owner"})
        people.append((client, token))
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

    def user(n: int, client: httpx.Client, token: str) -> None:
        round_ = 0
        page = f"/projects/{project}/assessments/{assessment}"
        while time.monotonic() < stop:
            timed(client, "project page", 200, f"/projects/{project}")
            timed(client, "findings page", 200, page)
            timed(client, "findings filtered", 200, f"{page}?level=high")
            if following:  # the page after the first (keyset cursor)
                timed(client, "findings next page", 200, f"{page}?after={following.group(1)}")
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
    total = sum(len(v) for v in times.values())
    print(f"{users} users, {elapsed:.0f} s, {total} requests, {total / elapsed:.1f} requests/s, errors {sum(errors.values())}")
    print(f"{'page':<20}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, values in sorted(times.items()):
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{name:<20}{len(values):>7}{statistics.median(values):>9.0f}{p99:>9.0f}{errors[name]:>8}")


if __name__ == "__main__":
    main()
