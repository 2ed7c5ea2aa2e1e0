"""schemathesis against the workspace's OpenAPI document: every operation with generated requests, valid ones and
ones the document forbids, sent with a write token of a project owner whose project holds a model version, an
assessment, an accepted risk and a plan. No request may cause a server error, and every answer must match the document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from domosec.web.app import OPENAPI_URL, create_app
from tests.web.conftest import Person, assess, bearer, new_project, upload

OPERATIONS = sorted(
    result.ok().label
    for result in schemathesis.openapi.from_dict(create_app("sqlite://", run_migrations=False).openapi()).get_all_operations()
)


class Served:
    def __init__(self, schema: Any, token: dict[str, str]) -> None:
        self.schema, self.token = schema, token


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db = tmp_path_factory.mktemp("schema") / "workspace.sqlite"
    app = create_app(f"sqlite:///{db}")
    owner = Person(app, "owner").signup()
    project = new_project(owner)
    assessment = assess(owner, project, upload(owner, project))
    token = bearer(owner.make_token())
    listed = owner.client.get(f"/api/v1/projects/{project}/assessments/{assessment}/findings", headers=token).json()
    finding, other = listed[0]["finding_id"], listed[1]["finding_id"]
    accepted = owner.client.put(
        f"/api/v1/projects/{project}/treatments/{finding}", json={"reason": "r", "expires": "2099-01-01"}, headers=token
    )
    assert accepted.status_code == 200
    plan = {"status": "planned", "owner": "owner", "due": "2099-01-01", "note": "n"}
    assert owner.client.put(f"/api/v1/projects/{project}/treatments/{other}", json=plan, headers=token).status_code == 200
    for control, name, content in (("7.2.1", "router.pdf", b"%PDF-1.4\n%%EOF\n"), ("7.2.2", "notes.txt", b"checked")):
        owner.client.post(f"/projects/{project}/controls/{control}/evidence", data={"csrf": owner.csrf}, files={"file": (name, content)})
    yield Served(schemathesis.openapi.from_asgi(OPENAPI_URL, app), token)
    app.state.engine.dispose()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_errors_and_answers_match_the_document(served: Served, label: str, mode: GenerationMode) -> None:
    operation = served.schema.find_operation_by_label(label)
    # a text that matches the document (any string) is rarely a valid home model, nor any bytes a valid file to
    # import or attach as evidence, nor any URL an address this server may reach (none is allowed here): the 4xx says why
    rejects_most = (
        "POST /api/v1/projects/{project_id}/controls/{control_id}/evidence",
        "POST /api/v1/projects/{project_id}/models",
        "POST /api/v1/projects/{project_id}/imports/{kind}",
        "POST /api/v1/projects/{project_id}/imports/homeassistant/live",
    )
    excluded = [positive_data_acceptance] if label in rejects_most else []

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        case.call_and_validate(headers=served.token, excluded_checks=excluded)

    run()


def test_every_operation_is_covered() -> None:
    assert len(OPERATIONS) >= 12 and any(label.startswith("PUT ") for label in OPERATIONS)
