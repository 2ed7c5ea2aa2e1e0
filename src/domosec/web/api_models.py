"""The JSON shapes of the workspace API (``/api/v1``), as pydantic models: FastAPI validates requests with them and
writes them into the OpenAPI document (``/api/openapi.json``). No secret (token, password hash, TOTP seed) is a field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


UtcTime = Annotated[dt.datetime, AfterValidator(_utc)]
"""The workspace stores UTC without a zone; the API says so (``…Z``)."""


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(BaseModel):
    detail: str


class ValidationErrors(BaseModel):
    """A request that does not match this document (FastAPI's validation errors)."""

    detail: list[dict[str, Any]]


class ProjectOut(_Out):
    id: int
    org_id: int
    name: str
    role: str = Field(description="The caller's role in the project: owner, assessor, viewer or householder.")


class ModelVersionOut(_Out):
    id: int
    number: int
    home_id: str
    sha256: str
    note: str
    created_at: UtcTime


class ModelVersionText(ModelVersionOut):
    text: str


class ModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2 * 1024 * 1024, description="The model, YAML or JSON, as `domosec validate` reads it.")
    note: str = Field(default="", max_length=500)


class ModelProblem(BaseModel):
    file: str
    line: int | None
    column: int | None
    severity: str
    code: str
    message: str
    text: str = Field(description="The problem as the command line prints it: file:line:col: error[code]: message.")


class ModelProblems(BaseModel):
    detail: str
    problems: list[ModelProblem]


class AssessmentOut(_Out):
    id: int
    model_version_id: int
    tool_version: str
    catalogue_version: str
    ruleset_version: str
    as_of: str
    findings_count: int
    created_at: UtcTime


class TreatmentOut(BaseModel):
    finding_id: str
    status: Literal["accepted", "planned"]
    reason: str = Field(description="Why the risk is accepted (an acceptance; empty for a plan).")
    expires: dt.date | None = Field(description="The last day of the acceptance (null for a plan).")
    approver: str | None = Field(description="Who accepted the risk (null for a plan).")
    expired: bool = Field(description="An acceptance past its expiry.")
    owner: str | None = Field(default=None, description="Who fixes the finding: a member of the project (null for an acceptance).")
    due: dt.date | None = Field(default=None, description="When the plan is due (null for an acceptance).")
    note: str = Field(default="", description="What will be done (a plan).")
    overdue: bool = Field(default=False, description="A plan past its due date.")
    decided_at: UtcTime


class ReviewOut(BaseModel):
    status: str = Field(description="What a householder said about the facts behind the finding: confirmed or disputed.")
    comment: str
    reviewer: str
    reviewed_at: UtcTime


class FindingReviewOut(ReviewOut):
    finding_id: str


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["confirmed", "disputed"] = Field(description="confirmed: that is right about the home; disputed: it is not.")
    comment: str = Field(default="", max_length=2000, description="What is not right (needed to dispute).")


class MemberOut(BaseModel):
    username: str
    role: str


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["owner", "assessor", "viewer", "householder"]


class FindingOut(_Out):
    finding_id: str
    rule_id: str
    title: str
    asset: str
    level: str
    score: int
    dimension: str
    treatment: TreatmentOut | None = None
    household: ReviewOut | None = None


class AcceptIn(BaseModel):
    """Accept the risk (owners): a reason and an expiry, with the token's user as the approver."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["accepted"] = Field(default="accepted", description="An acceptance (the default when absent).")
    reason: str = Field(min_length=1, max_length=2000)
    expires: dt.date = Field(description="The last day of the acceptance; must be in the future.")


class PlanIn(BaseModel):
    """Plan the finding's treatment (owners and assessors): who fixes it, by when, what will be done."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["planned"]
    owner: str = Field(min_length=1, max_length=64, description="The user name of a member of the project who fixes the finding.")
    due: dt.date = Field(description="The due date, YYYY-MM-DD, today or later.")
    note: str = Field(min_length=1, max_length=2000, description="What will be done.")


def _decision_kind(body: Any) -> str | None:
    if isinstance(body, dict):
        return "planned" if body.get("status") == "planned" else "accepted"
    return None


TreatmentIn = Annotated[
    Annotated[AcceptIn, Tag("accepted")] | Annotated[PlanIn, Tag("planned")],
    Discriminator(_decision_kind),
]
"""A decision: an acceptance (``status`` absent or ``accepted``) or a plan (``status`` ``planned``)."""


class AuditEntryOut(BaseModel):
    seq: int = Field(description="The entry's number; entries are numbered from 1 without gaps across the workspace.")
    at: str = Field(description="When, UTC (ISO 8601).")
    actor: str
    action: str
    detail: dict[str, Any] = Field(description="What changed (never a secret).")


class EvidenceOut(_Out):
    id: int
    control_id: str
    filename: str
    sha256: str
    size: int
    media_type: str
    uploaded_at: UtcTime


class ControlOut(BaseModel):
    control_id: str
    title: str
    status: str | None = Field(description="The project's status for the control, or null when none was set.")
    note: str
    decided_by: str | None
    decided_at: UtcTime | None
    evidence: list[EvidenceOut]


class ControlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["implemented", "partial", "planned", "not_implemented", "not_applicable"]
    note: str = Field(default="", max_length=2000)
