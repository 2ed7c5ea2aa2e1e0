"""The JSON shapes of the workspace API (``/api/v1``), as pydantic models: FastAPI validates requests with them and
writes them into the OpenAPI document (``/api/openapi.json``). No secret (token, password hash, TOTP seed) is a field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


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
    status: str
    reason: str
    expires: dt.date
    approver: str
    expired: bool


class ReviewOut(BaseModel):
    status: str = Field(description="What a householder said about the facts behind the finding: confirmed or disputed.")
    comment: str
    reviewer: str
    reviewed_at: UtcTime


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
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)
    expires: dt.date = Field(description="The last day of the acceptance; must be in the future.")


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
