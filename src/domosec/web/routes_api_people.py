"""The API for the people of a project: its members and their roles (owners), and the household's word on the facts
behind findings (householders confirm or dispute; everyone in the project reads). Included in :mod:`routes_api`'s
router (its prefix and error answers); access is checked as for the pages, and every change is audited with the token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from sqlalchemy import select

from domosec.web import audit, findings, service
from domosec.web.access import MAX_ID, Permission, object_in, project_for
from domosec.web.api_models import FindingReviewOut, MemberIn, MemberOut, Problem, ReviewIn, ValidationErrors
from domosec.web.db import AssessmentRecord, FactReview, FindingRow, Membership, OrgMember, User
from domosec.web.deps import ApiCallerDep, DbDep
from domosec.web.routes_projects import FINDING_ID

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/projects/{project_id}/assessments/{assessment_id}/reviews")
def list_reviews(project_id: Id, assessment_id: Id, who: ApiCallerDep, db: DbDep) -> list[FindingReviewOut]:
    """The household's word on the facts behind the findings of an assessment (confirmed or disputed), by finding ID.

    A review belongs to the project and the finding's stable ID, so it carries over to the next assessment."""
    project, _ = project_for(db, who.user, project_id, Permission.view_project)
    record = object_in(db, AssessmentRecord, assessment_id, project)
    rows = db.execute(
        select(FactReview, User.username)
        .join(User, User.id == FactReview.reviewer_id)
        .join(FindingRow, (FindingRow.finding_id == FactReview.finding_id) & (FindingRow.assessment_id == record.id))
        .where(FactReview.project_id == project.id)
        .order_by(FactReview.finding_id)
    ).all()
    return [_review(r, name) for r, name in rows]


@router.put(
    "/projects/{project_id}/assessments/{assessment_id}/reviews/{finding_id}", responses={422: {"model": Problem | ValidationErrors}}
)
def review_facts(project_id: Id, assessment_id: Id, finding_id: str, body: ReviewIn, who: ApiCallerDep, db: DbDep) -> FindingReviewOut:
    """Confirm or dispute the facts behind a finding of the assessment (householders; a dispute needs a comment).
    The latest word counts."""
    project, _ = project_for(db, who.user, project_id, Permission.review_facts)
    record = object_in(db, AssessmentRecord, assessment_id, project)
    in_record = select(FindingRow.id).where(FindingRow.assessment_id == record.id, FindingRow.finding_id == finding_id).limit(1)
    if not FINDING_ID.fullmatch(finding_id) or db.scalar(in_record) is None:
        raise HTTPException(404, "no such finding in this assessment")
    comment = body.comment.strip()
    if body.status == "disputed" and not comment:
        raise HTTPException(422, "say what is not right in the comment")
    service.review_facts(db, project, finding_id, who.user, body.status, comment)
    audit.record(
        db, who.user.username, "finding.review", project.id, finding=finding_id, status=body.status, comment=comment, token=who.token.id
    )
    db.commit()
    return _review(*findings.reviews_for(db, project, [finding_id])[finding_id])


@router.get("/projects/{project_id}/members")
def list_members(project_id: Id, who: ApiCallerDep, db: DbDep) -> list[MemberOut]:
    """The project's members and their roles (owners)."""
    project, _ = project_for(db, who.user, project_id, Permission.manage_members)
    rows = db.execute(
        select(User.username, Membership.role).join(Membership, Membership.user_id == User.id).where(Membership.project_id == project.id)
    ).all()
    return [MemberOut(username=name, role=role) for name, role in sorted(rows)]


@router.put("/projects/{project_id}/members/{username}", responses={409: {"model": Problem}, 422: {"model": ValidationErrors}})
def set_member(project_id: Id, username: Annotated[str, Path(max_length=64)], body: MemberIn, who: ApiCallerDep, db: DbDep) -> MemberOut:
    """Add a user to the project with a role, or change their role (owners; not your own)."""
    project, _ = project_for(db, who.user, project_id, Permission.manage_members)
    username = username.strip().lower()
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise HTTPException(404, "no such user")
    if user.id == who.user.id:
        raise HTTPException(409, "you cannot change your own role")
    service.lock_project(db, project)  # two owners adding the same person at once: one membership
    membership = db.get(Membership, (project.id, user.id))
    if membership is None:
        db.add(Membership(project_id=project.id, user_id=user.id, role=body.role))
    else:
        membership.role = body.role
    if db.get(OrgMember, (project.org_id, user.id)) is None:
        db.add(OrgMember(org_id=project.org_id, user_id=user.id, is_admin=False))
    audit.record(db, who.user.username, "member.set", project.id, username=username, role=body.role, token=who.token.id)
    db.commit()
    return MemberOut(username=username, role=body.role)


def _review(r: FactReview, reviewer: str) -> FindingReviewOut:
    return FindingReviewOut(finding_id=r.finding_id, status=r.status, comment=r.comment, reviewer=reviewer, reviewed_at=r.reviewed_at)
