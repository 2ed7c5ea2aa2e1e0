"""Who may do what: every object is looked up through the project it belongs to and the caller's role there.

An object of a project the caller is not a member of, or of another project than the one in the
address, is "not found" (404), exactly like an ID that does not exist, so IDs reveal nothing. A
member whose role lacks the permission gets 403.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from domosec.web.db import AssessmentRecord, Membership, ModelVersion, OrgMember, Project, User


class Permission(StrEnum):
    view_project = "view_project"
    view_expert = "view_expert"
    edit_model = "edit_model"
    edit_soa = "edit_soa"
    assess = "assess"
    treat = "treat"
    manage_members = "manage_members"
    review_facts = "review_facts"
    plan = "plan"
    view_audit = "view_audit"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owner": frozenset(Permission),
    "assessor": frozenset(
        {Permission.view_project, Permission.view_expert, Permission.edit_model, Permission.assess, Permission.edit_soa, Permission.plan}
    ),
    "viewer": frozenset({Permission.view_project, Permission.view_expert}),
    "householder": frozenset({Permission.view_project, Permission.review_facts}),
}
"""Owners accept risks, manage members and read the project's audit log; assessors edit models, assess, keep the SoA (statuses,
evidence) and plan findings (an owner among the members, a due date); viewers read the expert pages;
householders see the plain-language view of their home's assessments and confirm or dispute the facts behind its findings."""

T = TypeVar("T", ModelVersion, AssessmentRecord)
MAX_ID = 2**31 - 1
"""IDs are 32-bit on every database: a larger number in an address is an ID that does not exist."""


def role_in(db: Session, user: User, project_id: int) -> str | None:
    return db.scalar(select(Membership.role).where(Membership.project_id == project_id, Membership.user_id == user.id))


def project_for(db: Session, user: User, project_id: int, permission: Permission) -> tuple[Project, str]:
    """The project and the caller's role, or 404 (not a member) / 403 (role lacks ``permission``)."""
    role = role_in(db, user, project_id) if 0 < project_id <= MAX_ID else None
    project = db.get(Project, project_id) if role else None
    if project is None or role is None:
        raise HTTPException(404, "no such project")
    if permission not in ROLE_PERMISSIONS[role]:
        raise HTTPException(403, "your role in this project does not allow this")
    return project, role


def object_in(db: Session, kind: type[T], object_id: int, project: Project) -> T:
    """An object of ``project`` by ID, or 404 when it does not exist or belongs to another project."""
    found = db.get(kind, object_id) if 0 < object_id <= MAX_ID else None
    if found is None or found.project_id != project.id:
        raise HTTPException(404, "not found")
    return found


def is_org_admin(db: Session, user: User, org_id: int) -> bool:
    if not 0 < org_id <= MAX_ID:
        return False
    return bool(db.scalar(select(OrgMember.is_admin).where(OrgMember.org_id == org_id, OrgMember.user_id == user.id)))


def can(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
