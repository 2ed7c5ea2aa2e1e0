"""CPU per findings page with the decision filters (planned, overdue, undecided) when N findings are stored.

Makes a workspace on a fresh SQLite file in a temporary folder (or a throw-away PostgreSQL server, ``--postgres``), signs up one owner, assesses the family home, stores
N synthetic findings in that assessment (``bench/serve.py``'s bulk insert), then 150 plans (a quarter past their due
date) and 50 acceptances, and asks each page (all, each filter, a level with a filter, the next keyset page) in
process through FastAPI's TestClient. Prints the median CPU time (``time.process_time``: the server's work and the
client's, one process; on PostgreSQL without the database server's) and wall time of REPEAT requests per page, and
the load average. Seeding a million findings takes 1-2 minutes.

    .venv/bin/python bench/findings_filters.py [--findings 1000000] [--repeat 5] [--postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
from serve import seed_findings  # noqa: E402  (bench/serve.py's bulk insert of synthetic findings)

from domosec.web.app import create_app  # noqa: E402
from tests.web.postgres import postgres_server  # noqa: E402  (the tests' throw-away PostgreSQL server)

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(client: TestClient, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found, path
    return found.group(1)


def _post(client: TestClient, path: str, **data: str) -> str:
    response = client.post(path, data={"csrf": _csrf(client, "/"), **data}, follow_redirects=False)
    assert response.status_code == 303, (path, response.status_code, response.text[:200])
    return response.headers["location"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL server (Debian's binaries) instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        url = stack.enter_context(postgres_server()) if args.postgres else f"sqlite:///{Path(folder) / 'workspace.sqlite'}"
        app = create_app(url)
        client = TestClient(app, base_url="https://testserver")
        signup = {"csrf": _csrf(client, "/signup"), "username": "alice", "password": PASSWORD}
        assert client.post("/signup", data=signup, follow_redirects=False).status_code == 303
        _post(client, "/orgs", name="Acme")
        org = re.findall(r'action="/orgs/(\d+)/projects"', client.get("/").text)[-1]
        project = int(_post(client, f"/orgs/{org}/projects", name="Flat 3").rsplit("/", 1)[1])
        model = (ROOT / "examples" / "family-home.yaml").read_text(encoding="utf-8")
        version = _post(client, f"/projects/{project}/models", text=model, note="")
        assessment = int(_post(client, f"{version}/assess").rsplit("/", 1)[1])
        seed_findings(url, assessment, args.findings)
        with app.state.engine.begin() as conn:
            every = conn.execute(
                text("select finding_id from findings where assessment_id = :a order by finding_id"), {"a": assessment}
            ).scalars()
            ids = [f for n, f in enumerate(every) if n % 5000 == 0][:200]
            user = conn.execute(text("select id from users")).scalar_one()
            past = dt.date.today() - dt.timedelta(days=2)
            plans = [{"p": project, "f": f, "u": user, "d": past if n % 4 == 0 else dt.date(2099, 1, 1)} for n, f in enumerate(ids[:150])]
            conn.execute(
                text(
                    "insert into treatments (project_id, finding_id, status, reason, owner_id, due, note, decided_at)"
                    " values (:p, :f, 'planned', '', :u, :d, 'fix', '2026-01-01')"
                ),
                plans,
            )
            conn.execute(
                text(
                    "insert into treatments (project_id, finding_id, status, reason, expires, approver_id, decided_at)"
                    " values (:p, :f, 'accepted', 'r', '2099-01-01', :u, '2026-01-01')"
                ),
                [{"p": project, "f": f, "u": user} for f in ids[150:]],
            )
            conn.execute(text("analyze"))
        base = f"/projects/{project}/assessments/{assessment}"
        first_undecided = client.get(f"{base}?decision=undecided").text
        after = re.search(r"after=([0-9a-f]{16})", first_undecided).group(1)  # type: ignore[union-attr]
        queries = ["", "?decision=planned", "?decision=overdue", "?decision=undecided", f"?decision=undecided&after={after}"]
        queries += ["?level=low&decision=planned", "?level=very-high&decision=undecided"]
        for query in queries:
            spent, waited = [], []
            for _ in range(args.repeat):
                started, clock = time.process_time(), time.perf_counter()
                assert client.get(base + query).status_code == 200
                spent.append(time.process_time() - started)
                waited.append(time.perf_counter() - clock)
            cpu, wall = statistics.median(spent) * 1000, statistics.median(waited) * 1000
            print(f"{query or '(all)':48s} CPU median {cpu:6.1f} ms, wall median {wall:6.1f} ms")
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        app.state.engine.dispose()


if __name__ == "__main__":
    main()
