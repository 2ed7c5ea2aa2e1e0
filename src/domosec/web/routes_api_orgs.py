"""The API for organisations and new projects: what a team's automation needs before it can save a model.

``GET /orgs`` lists the caller's organisations (with whether the caller administers each), ``POST /orgs`` makes one
with the caller as its administrator, and ``POST /orgs/{org}/projects`` makes a project in an organisation the caller
administers, with the caller as its owner: the same rules as the dashboard's forms
(:mod:`domosec.web.routes_auth`). An organisation the caller does not administer answers 404, exactly as one that
does not exist. Included in :mod:`routes_api`'s router (its prefix and error answers); every change is audited with
the token's ID.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from domosec.web import audit
from domosec.web.access import MAX_ID, is_org_admin
from domosec.web.api_models import ProjectOut, ValidationErrors
from domosec.web.db import Membership, Organisation, OrgMember, Project
from domosec.web.deps import ApiCallerDep, DbDep

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OrgOut(BaseModel):
    id: int
    name: str
    admin: bool = Field(description="Whether the caller administers the organisation (may make projects in it).")


class NameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


@router.get("/orgs")
def list_orgs(who: ApiCallerDep, db: DbDep) -> list[OrgOut]:
    """The organisations the token's user belongs to."""
    rows = db.execute(
        select(Organisation, OrgMember.is_admin)
        .join(OrgMember, OrgMember.org_id == Organisation.id)
        .where(OrgMember.user_id == who.user.id)
        .order_by(Organisation.id)
    ).all()
    return [OrgOut(id=org.id, name=org.name, admin=bool(admin)) for org, admin in rows]


@router.post("/orgs", status_code=201, responses={422: {"model": ValidationErrors}})
def create_org(body: NameIn, who: ApiCallerDep, db: DbDep) -> OrgOut:
    """Make an organisation; the caller administers it."""
    org = Organisation(name=body.name)
    db.add(org)
    db.flush()
    db.add(OrgMember(org_id=org.id, user_id=who.user.id, is_admin=True))
    audit.record(db, who.user.username, "organisation.create", org_id=org.id, name=body.name, token=who.token.id)
    db.commit()
    return OrgOut(id=org.id, name=org.name, admin=True)


@router.post("/orgs/{org_id}/projects", status_code=201, responses={422: {"model": ValidationErrors}})
def create_project(org_id: Id, body: NameIn, who: ApiCallerDep, db: DbDep) -> ProjectOut:
    """Make a project in an organisation the caller administers; the caller owns it."""
    if not is_org_admin(db, who.user, org_id):
        raise HTTPException(404, "no such organisation")
    project = Project(org_id=org_id, name=body.name)
    db.add(project)
    db.flush()
    db.add(Membership(project_id=project.id, user_id=who.user.id, role="owner"))
    audit.record(db, who.user.username, "project.create", project.id, org_id=org_id, name=body.name, token=who.token.id)
    db.commit()
    return ProjectOut(id=project.id, org_id=org_id, name=project.name, role="owner")
