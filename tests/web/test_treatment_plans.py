"""Treatment plans (an owner among the project's members, a due date, a note) on the findings page and over the API,
the planned / overdue / undecided filter with keyset pages, who may replace or reopen a decision, and the project's
audit log (page and API, owners only) with every plan change in a chain that still verifies."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

from fastapi import FastAPI

from domosec.web import migrate
from domosec.web.app import create_app
from tests.conftest import run_cli
from tests.web.conftest import Person, assess, bearer, new_project, upload
from tests.web.test_findings_scale import add_findings, counted

FINDING = re.compile(r'id="f-([0-9a-f]{16})"')


def team(app: FastAPI) -> tuple[dict[str, Person], int, int, list[str]]:
    """alice owns a project with an assessment; bob is its assessor, carol its viewer, dave not a member."""
    people = {name: Person(app, name).signup() for name in ("alice", "bob", "carol", "dave")}
    project = new_project(people["alice"])
    assessment = assess(people["alice"], project, upload(people["alice"], project))
    for name, role in (("bob", "assessor"), ("carol", "viewer")):
        assert people["alice"].post(f"/projects/{project}/members", username=name, role=role) == 303
    ids = FINDING.findall(people["alice"].client.get(f"/projects/{project}/assessments/{assessment}").text)
    return people, project, assessment, ids


def row_of(page: str, finding: str) -> str:
    return page[page.index(f'id="f-{finding}"') :].split("</tr>", 1)[0]


def test_an_assessor_plans_a_finding_and_the_page_shows_and_filters_it(app: FastAPI, db_url: str) -> None:
    people, project, assessment, ids = team(app)
    bob, url = people["bob"], f"/projects/{project}/assessments/{assessment}"
    page = bob.client.get(url).text
    assert "Plan the fix" in page and "Accept this risk" not in page, "an assessor plans but does not accept"
    assert "<option >carol</option>" in page and "dave" not in page
    plan = f"/projects/{project}/findings/{ids[0]}/plan"
    assert bob.post(plan, owner="carol", due="2099-03-01", note="new firmware on the camera", back=url) == 303

    row = row_of(bob.client.get(url).text, ids[0])
    assert "planned: carol by 2099-03-01" in row and "new firmware on the camera" in row and "overdue" not in row
    planned = bob.client.get(url, params={"decision": "planned"}).text
    assert FINDING.findall(planned) == [ids[0]] and ">planned</a> (1)" in planned
    assert ids[0] not in FINDING.findall(bob.client.get(url, params={"decision": "undecided"}).text)
    assert FINDING.findall(bob.client.get(url, params={"decision": "overdue"}).text) == []
    assert bob.get(f"{url}?decision=someday") == 404

    # as of a day after the due date the plan is overdue (the date is moved back: a form refuses a past date)
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        con.execute("update treatments set due = ? where finding_id = ?", ((dt.date.today() - dt.timedelta(days=1)).isoformat(), ids[0]))
    overdue = bob.client.get(url, params={"decision": "overdue"}).text
    assert FINDING.findall(overdue) == [ids[0]] and "(overdue)" in row_of(overdue, ids[0])

    assert bob.post(plan, owner="bob", due="2099-04-01", note="bob replaces the camera", back=url) == 303, "changing a plan"
    assert "planned: bob by 2099-04-01" in row_of(bob.client.get(url).text, ids[0])
    assert bob.post(f"/projects/{project}/findings/{ids[0]}/reopen", back=url) == 303
    assert (
        "open" in row_of(bob.client.get(url).text, ids[0])
        and FINDING.findall(bob.client.get(url, params={"decision": "planned"}).text) == []
    )

    assert_decisions_audited(db_url, ["finding.plan", "finding.plan", "finding.reopen"])


def test_a_plan_with_a_problem_is_refused_and_changes_nothing(app: FastAPI, db_url: str) -> None:
    people, project, _, ids = team(app)
    bob, plan = people["bob"], f"/projects/{project}/findings/{ids[0]}/plan"
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    for owner, due, note, problem in (
        ("dave", "2099-01-01", "x", "the owner &#39;dave&#39; is not a member of this project"),
        ("nobody", "2099-01-01", "x", "is not a member"),
        ("", "2099-01-01", "x", "a plan needs an owner"),
        ("carol", "01/02/2099", "x", "the due date is a date: YYYY-MM-DD"),
        ("carol", "20990101", "x", "YYYY-MM-DD"),
        ("carol", yesterday, "x", "is in the past"),
        ("carol", "2099-01-01", "  ", "a plan needs a note"),
    ):
        response = bob.client.post(plan, data={"csrf": bob.csrf, "owner": owner, "due": due, "note": note}, follow_redirects=False)
        assert response.status_code == 422 and problem in response.text, (owner, due, response.text[:300])
    assert people["carol"].post(plan, owner="carol", due="2099-01-01", note="x") == 403, "a viewer plans nothing"
    assert bob.post(f"/projects/{project}/findings/{'0' * 16}/plan", owner="carol", due="2099-01-01", note="x") == 404
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select count(*) from treatments").fetchone() == (0,)
        assert con.execute("select count(*) from audit_log where action like 'finding.%'").fetchone() == (0,)


def test_only_an_owner_replaces_or_reopens_an_acceptance(app: FastAPI) -> None:
    people, project, assessment, ids = team(app)
    alice, bob, url = people["alice"], people["bob"], f"/projects/{project}/assessments/{assessment}"
    assert alice.post(f"/projects/{project}/findings/{ids[0]}/accept", reason="kept for now", expires="2099-01-01") == 303
    assert bob.post(f"/projects/{project}/findings/{ids[0]}/plan", owner="bob", due="2099-01-01", note="fix") == 403
    assert bob.post(f"/projects/{project}/findings/{ids[0]}/reopen") == 403
    row = row_of(bob.client.get(url).text, ids[0])
    assert "accepted by alice until 2099-01-01" in row and "Reopen" not in row and "Plan the fix" not in row
    assert alice.post(f"/projects/{project}/findings/{ids[0]}/plan", owner="bob", due="2099-01-01", note="fix it after all") == 303
    assert "planned: bob by 2099-01-01" in row_of(alice.client.get(url).text, ids[0])
    assert alice.post(f"/projects/{project}/findings/{ids[0]}/accept", reason="kept again", expires="2099-02-01") == 303
    row = row_of(alice.client.get(url).text, ids[0])
    assert "accepted by alice until 2099-02-01" in row and "fix it after all" not in row, "an acceptance clears the plan"
    assert alice.post(f"/projects/{project}/findings/{ids[0]}/reopen") == 303
    assert "accepted" not in row_of(alice.client.get(url).text, ids[0])


def test_plans_over_the_api(app: FastAPI, db_url: str) -> None:
    people, project, assessment, ids = team(app)
    owner, assessor = bearer(people["alice"].make_token()), bearer(people["bob"].make_token())
    api, base = people["alice"].client, f"/api/v1/projects/{project}/treatments"
    plan = {"status": "planned", "owner": "carol", "due": "2099-05-01", "note": "replace the hub"}
    made = api.put(f"{base}/{ids[0]}", json=plan, headers=assessor)
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["status"] == "planned" and body["owner"] == "carol" and body["due"] == "2099-05-01" and body["note"] == "replace the hub"
    assert body["approver"] is None and body["expires"] is None and body["overdue"] is False
    assert api.put(f"{base}/{ids[1]}", json={"reason": "later", "expires": "2099-01-01"}, headers=owner).status_code == 200
    assert api.put(f"{base}/{ids[2]}", json={"reason": "later", "expires": "2099-01-01"}, headers=assessor).status_code == 403
    listed = api.get(base, headers=assessor).json()
    assert [(t["finding_id"], t["status"]) for t in listed] == sorted([(ids[0], "planned"), (ids[1], "accepted")])

    not_member = api.put(f"{base}/{ids[2]}", json={**plan, "owner": "dave"}, headers=assessor)
    assert not_member.status_code == 422 and not_member.json() == {"detail": "the owner 'dave' is not a member of this project"}
    bad_date = api.put(f"{base}/{ids[2]}", json={**plan, "due": "1 May 2099"}, headers=assessor)
    assert bad_date.status_code == 422 and [e["loc"] for e in bad_date.json()["detail"]] == [["body", "planned", "due"]]
    missing = api.put(f"{base}/{ids[2]}", json={"status": "planned", "owner": "carol"}, headers=assessor)
    assert missing.status_code == 422 and {e["loc"][-1] for e in missing.json()["detail"]} == {"due", "note"}
    assert api.put(f"{base}/{ids[1]}", json=plan, headers=assessor).status_code == 403, "an assessor replaced an acceptance"

    findings = api.get(
        f"/api/v1/projects/{project}/assessments/{assessment}/findings", params={"decision": "planned"}, headers=assessor
    ).json()
    assert [(f["finding_id"], f["treatment"]["owner"]) for f in findings] == [(ids[0], "carol")]
    assert api.delete(f"{base}/{ids[1]}", headers=assessor).status_code == 403
    assert api.delete(f"{base}/{ids[0]}", headers=assessor).status_code == 204
    assert api.delete(f"{base}/{ids[0]}", headers=assessor).status_code == 204, "reopening an open finding changes nothing"
    assert [t["finding_id"] for t in api.get(base, headers=owner).json()] == [ids[1]]
    assert_decisions_audited(db_url, ["finding.plan", "finding.accept", "finding.reopen"])


def test_the_audit_log_page_and_api_for_owners(app: FastAPI, db_url: str) -> None:
    people, project, _, ids = team(app)
    alice = people["alice"]
    token = alice.make_token()
    for n in range(120):
        assert alice.post(f"/projects/{project}/findings/{ids[0]}/plan", owner="bob", due="2099-01-01", note=f"step {n}") == 303
    page = alice.client.get(f"/projects/{project}/audit")
    assert page.status_code == 200
    seqs = [int(s) for s in re.findall(r'<tr id="e-(\d+)">', page.text)]
    assert len(seqs) == 100 and seqs == sorted(seqs, reverse=True)
    assert "finding.plan" in page.text and "note: step 119" in page.text and "alice" in page.text
    older = re.search(r'href="/projects/\d+/audit\?before=(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    rest = [int(s) for s in re.findall(r'<tr id="e-(\d+)">', alice.client.get(f"/projects/{project}/audit?before={older}").text)]
    assert rest and max(rest) < min(seqs) and "member.set" in alice.client.get(f"/projects/{project}/audit?before={older}").text
    assert token not in page.text and "argon2" not in page.text
    for name in ("bob", "carol"):
        assert people[name].get(f"/projects/{project}/audit") == 403
    assert people["dave"].get(f"/projects/{project}/audit") == 404
    assert alice.get(f"/projects/{project}/audit?before={10**30}") == 404

    api = f"/api/v1/projects/{project}/audit"
    first = alice.client.get(api, params={"limit": 50}, headers=bearer(token)).json()
    assert [e["seq"] for e in first] == seqs[:50] and first[0]["detail"]["note"] == "step 119" and first[0]["actor"] == "alice"
    following = alice.client.get(api, params={"limit": 50, "before": first[-1]["seq"]}, headers=bearer(token)).json()
    assert [e["seq"] for e in following] == seqs[50:100]
    assert alice.client.get(api, headers=bearer(people["bob"].make_token())).status_code == 403


def test_decision_filter_pages_list_every_finding_once_in_order(app: FastAPI, db_url: str) -> None:
    """3,000 findings, 500 accepted, 150 planned (40 overdue): keyset pages of each filter, a bounded number of queries."""
    alice = Person(app, "alice").signup()
    project = new_project(alice)
    assessment = assess(alice, project, upload(alice, project))
    add_findings(db_url, assessment, 3000, 500, "alice")
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        user = con.execute("select id from users where username = 'alice'").fetchone()[0]
        fresh = [
            r[0]
            for r in con.execute("select finding_id from findings where finding_id not in (select finding_id from treatments) limit 150")
        ]
        past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
        con.executemany(
            "insert into treatments (project_id, finding_id, status, reason, owner_id, due, note, decided_at)"
            " values (?, ?, 'planned', '', ?, ?, 'fix', '2026-01-01 00:00:00')",
            [(project, f, user, past if n < 40 else "2099-01-01") for n, f in enumerate(fresh)],
        )
        total = con.execute("select count(*) from findings where assessment_id = ?", (assessment,)).fetchone()[0]
        order = [
            r[0]
            for r in con.execute(
                "select finding_id from findings where assessment_id = ? order by score desc, rule_id, finding_id", (assessment,)
            )
        ]
    token = bearer(alice.make_token(scope="read"))
    api = f"/api/v1/projects/{project}/assessments/{assessment}/findings"
    for decision, expected in (("planned", set(fresh)), ("overdue", set(fresh[:40])), ("undecided", None)):
        seen: list[str] = []
        after = None
        while True:
            params = {"decision": decision, "limit": 64, **({"after": after} if after else {})}
            with counted(app) as statements:
                page = alice.client.get(api, params=params, headers=token).json()
            assert len(statements) <= 12, (decision, len(statements))
            seen += [f["finding_id"] for f in page]
            if len(page) < 64:
                break
            after = page[-1]["finding_id"]
        assert seen == [f for f in order if f in set(seen)], f"{decision}: not in the page order"
        assert len(seen) == len(set(seen))
        if expected is not None:
            assert set(seen) == expected
        else:
            assert len(seen) == total - 650
    shown = alice.client.get(f"/projects/{project}/assessments/{assessment}").text
    assert ">planned</a> (150)" in shown and ">overdue</a> (40)" in shown and f">undecided</a> ({total - 650:,})" in shown


def test_a_backup_made_before_plans_existed_restores_and_takes_plans(app: FastAPI, db_url: str, tmp_path: Path) -> None:
    """A workspace taken down to revision 0006 keeps its acceptance (its plan cannot be held there); its backup restores
    into a new file, which is upgraded to the newest revision and then takes plans."""
    people, project, assessment, ids = team(app)
    alice = people["alice"]
    assert alice.post(f"/projects/{project}/findings/{ids[0]}/accept", reason="kept for now", expires="2099-01-01") == 303
    assert alice.post(f"/projects/{project}/findings/{ids[1]}/plan", owner="bob", due="2099-01-01", note="fix") == 303
    migrate.downgrade(app.state.engine, "0006")
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        assert con.execute("select finding_id, status, reason from treatments").fetchall() == [(ids[0], "accepted", "kept for now")]
    backup = tmp_path / "old.tar"
    made = run_cli("workspace", "backup", "--db", db_url, "-o", backup)
    assert made.returncode == 0 and "schema 0006" in made.stdout, made.stdout + made.stderr

    target = tmp_path / "restored.sqlite"
    restored = run_cli("workspace", "restore", backup, "--db", f"sqlite:///{target}")
    assert restored.returncode == 0, restored.stderr
    app2 = create_app(f"sqlite:///{target}")
    try:
        assert migrate.current_revision(app2.state.engine) == migrate.head_revision(app2.state.engine)
        again = Person(app2, "alice")
        assert again.login() == 303
        url = f"/projects/{project}/assessments/{assessment}"
        assert "accepted by alice until 2099-01-01" in row_of(again.client.get(url).text, ids[0])
        assert again.post(f"/projects/{project}/findings/{ids[1]}/plan", owner="carol", due="2099-02-01", note="fix") == 303
        assert "planned: carol by 2099-02-01" in row_of(again.client.get(url).text, ids[1])
    finally:
        app2.state.engine.dispose()
    assert run_cli("audit", "verify", "--db", f"sqlite:///{target}").returncode == 0


def assert_decisions_audited(db_url: str, actions: list[str]) -> None:
    """The workspace's audit log holds these decisions about findings, in order, and its chain verifies."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        found = [r[0] for r in con.execute("select action from audit_log where action like 'finding.%' order by seq")]
    assert found == actions
    assert run_cli("audit", "verify", "--db", db_url).returncode == 0
