"""Householders confirm or dispute the facts behind findings on their plain-language view; assessors see the disputes
on the findings page; every review is in the audit log."""

from __future__ import annotations

import json
import re
import sqlite3

from fastapi import FastAPI

from tests.web.conftest import Person, assess, bearer, new_project, upload


def test_householder_disputes_a_fact_and_the_assessor_sees_it(app: FastAPI, db_url: str) -> None:
    owner, hannah, ada = Person(app, "owner").signup(), Person(app, "hannah").signup(), Person(app, "ada").signup()
    project = new_project(owner)
    assert owner.post(f"/projects/{project}/members", username="hannah", role="householder") == 303
    assert owner.post(f"/projects/{project}/members", username="ada", role="assessor") == 303
    assessment = assess(owner, project, upload(owner, project))
    home = hannah.client.get(f"/projects/{project}/assessments/{assessment}").text
    assert "Is this right about your home?" in home
    finding = re.findall(r'id="fact-([0-9a-f]{16})"', home)[0]
    review = f"/projects/{project}/findings/{finding}/review"
    back = f"/projects/{project}/assessments/{assessment}"
    assert hannah.post(review, status="disputed", comment="", back=back) == 422  # a dispute says what is wrong
    assert hannah.post(review, status="maybe", comment="x", back=back) == 422
    assert hannah.post(review, status="disputed", comment="we sold that camera in May", back=back) == 303
    assert "disputed by hannah: we sold that camera in May" in hannah.client.get(back).text

    expert = ada.client.get(back).text
    assert "The household disputes the facts behind 1 finding" in expert
    row = expert[expert.index(f'id="f-{finding}"') :].split("</tr>", 1)[0]
    assert "disputed by hannah" in row and "we sold that camera in May" in row

    token = ada.make_token(scope="read")
    listed = ada.client.get(f"/api/v1/projects/{project}/assessments/{assessment}/findings", params={"limit": 1000}, headers=bearer(token))
    household = next(f["household"] for f in listed.json() if f["finding_id"] == finding)
    assert (household["status"], household["reviewer"], household["comment"]) == ("disputed", "hannah", "we sold that camera in May")

    assert hannah.post(review, status="confirmed", comment="", back=back) == 303
    assert "The household disputes" not in ada.client.get(back).text
    assert ada.post(review, status="confirmed", comment="") == 403  # assessors do not speak for the household
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as con:
        entries = con.execute("select actor, detail from audit_log where action = 'finding.review' order by seq").fetchall()
    assert [(actor, json.loads(detail)["status"]) for actor, detail in entries] == [("hannah", "disputed"), ("hannah", "confirmed")]
    assert json.loads(entries[0][1])["comment"] == "we sold that camera in May"
