"""Treatment plans on PostgreSQL (a real server started by the test): planning, the decision filter, the API's
answers, and migration 0007 down (the acceptance stays, the plan goes) and up again with the rows in place."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from domosec.web import migrate
from domosec.web.app import create_app
from tests.conftest import run_cli
from tests.web.conftest import bearer
from tests.web.test_treatment_plans import FINDING, row_of, team


def test_plans_filters_and_migration_on_postgresql(pg_url: str) -> None:
    app = create_app(pg_url)
    try:
        people, project, assessment, ids = team(app)
        alice, bob, url = people["alice"], people["bob"], f"/projects/{project}/assessments/{assessment}"
        assert alice.post(f"/projects/{project}/findings/{ids[0]}/accept", reason="kept for now", expires="2099-01-01") == 303
        assert bob.post(f"/projects/{project}/findings/{ids[1]}/plan", owner="carol", due="2099-03-01", note="new hub") == 303
        assert "planned: carol by 2099-03-01" in row_of(bob.client.get(url).text, ids[1])
        assert FINDING.findall(bob.client.get(url, params={"decision": "planned"}).text) == [ids[1]]
        undecided = FINDING.findall(bob.client.get(url, params={"decision": "undecided"}).text)
        assert ids[0] not in undecided and ids[1] not in undecided and ids[2] in undecided
        api = f"/api/v1/projects/{project}/treatments/{ids[2]}"
        plan = {"status": "planned", "owner": "dave", "due": "2099-01-01", "note": "x"}
        refused = bob.client.put(api, json=plan, headers=bearer(bob.make_token()))
        assert refused.status_code == 422 and "not a member" in refused.json()["detail"]
        with app.state.engine.begin() as conn:
            conn.execute(
                text("update treatments set due = :d where finding_id = :f"), {"d": dt.date.today() - dt.timedelta(days=1), "f": ids[1]}
            )
        assert FINDING.findall(bob.client.get(url, params={"decision": "overdue"}).text) == [ids[1]]

        migrate.downgrade(app.state.engine, "0006")
        with app.state.engine.connect() as conn:
            assert conn.execute(text("select finding_id, status from treatments")).all() == [(ids[0], "accepted")]
        migrate.upgrade(app.state.engine)
        assert "accepted by alice until 2099-01-01" in row_of(alice.client.get(url).text, ids[0])
        assert alice.post(f"/projects/{project}/findings/{ids[1]}/plan", owner="bob", due="2099-04-01", note="again") == 303
        assert "planned: bob by 2099-04-01" in row_of(alice.client.get(url).text, ids[1])
    finally:
        app.state.engine.dispose()
    verified = run_cli("audit", "verify", "--db", pg_url)
    assert verified.returncode == 0, verified.stderr
