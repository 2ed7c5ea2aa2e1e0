"""The workspace's tables (SQLAlchemy 2 typed ORM) and the database engine.

Workflow state lives here: people, organisations, projects and who may do what in them, model
versions, stored assessments with their findings, treatments and the audit log. An assessment is
written once and never changed; a treatment belongs to a project and a stable finding ID, so it
carries over to the next assessment of the same home. The schema is created and changed only by
the Alembic migrations in ``web/migrations`` (``web/migrate.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    true,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

ROLES = ("owner", "assessor", "viewer", "householder")
"""A person's role in one project (see ``web/access.py`` for what each may do)."""


def utcnow() -> dt.datetime:
    """Now, in UTC, to the second (stored without a zone: every time in the workspace is UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class Base(DeclarativeBase):
    """The workspace tables."""


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The TOTP seed once enrolment is confirmed (shown once, when enrolling; never in a page, log or export)."""
    totp_pending: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """A seed being enrolled, until a code from it is entered."""
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The 30-second step of the last code accepted: a code is accepted once."""


class RecoveryCode(Base):
    """A one-time code that stands in for a TOTP code (80 random bits; only its SHA-256 is stored)."""

    __tablename__ = "recovery_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class WebSession(Base):
    """A signed-in browser: only the SHA-256 of its cookie is stored, so a copy of the database signs nobody in."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False between a right password and the TOTP code of a person who uses one: good for nothing but that step."""


class LoginEvent(Base):
    __tablename__ = "login_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class OrgMember(Base):
    __tablename__ = "org_members"
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))


class ModelVersion(Base):
    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, deferred=True)  # read only by the pages that show or assess it
    sha256: Mapped[str] = mapped_column(String(64))
    home_id: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("project_id", "number"),)


class AssessmentRecord(Base):
    """One stored assessment: the Assessment JSON as the engine wrote it, never changed afterwards."""

    __tablename__ = "assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    tool_version: Mapped[str] = mapped_column(String(32))
    catalogue_version: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[str] = mapped_column(String(10))
    document: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read only when a page needs the whole Assessment
    findings_count: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class FindingRow(Base):
    """A finding of a stored assessment, as columns the pages filter and sort on."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    finding_id: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    asset: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    dimension: Mapped[str] = mapped_column(String(16))


# The findings page's order (worst first, then rule and ID) with and without the level filter, and a finding by its ID
# (keyset cursors, whether a project has it): each page reads its rows straight off an index, never sorting them all.
Index("ix_findings_assessment_order", FindingRow.assessment_id, FindingRow.score.desc(), FindingRow.rule_id, FindingRow.finding_id)
Index(
    "ix_findings_assessment_level_order",
    FindingRow.assessment_id,
    FindingRow.level,
    FindingRow.score.desc(),
    FindingRow.rule_id,
    FindingRow.finding_id,
)
Index("ix_findings_finding_assessment", FindingRow.finding_id, FindingRow.assessment_id, FindingRow.score, FindingRow.rule_id)


class Treatment(Base):
    """A decision about a finding in a project until it is changed or reopened: ``accepted`` (approver, reason,
    expiry) or ``planned`` (an owner among the project's members who fixes it, a due date, a note on what will be done).
    The columns of the other kind are empty (NULL; ``reason``/``note`` empty text)."""

    __tablename__ = "treatments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    finding_id: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(2000))
    expires: Mapped[dt.date | None] = mapped_column()
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due: Mapped[dt.date | None] = mapped_column()
    note: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("project_id", "finding_id"),
        # the findings page's "planned" and "overdue" filters: one project's plans, by due date
        Index("ix_treatments_project_status_due", "project_id", "status", "due"),
    )


class FactReview(Base):
    """A householder's word on the facts behind a finding of the project: confirmed or disputed, with a comment."""

    __tablename__ = "fact_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    finding_id: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(String(2000))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("project_id", "finding_id"),)


class ControlDecision(Base):
    """The project's own word on a clause-7 control (Statement of Applicability): a status and a note."""

    __tablename__ = "control_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    control_id: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(String(2000))
    decided_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("project_id", "control_id"),)


class EvidenceFile(Base):
    """A file attached to a control of a project; its bytes are stored once, by SHA-256 (``web/evidence.py``)."""

    __tablename__ = "evidence_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    control_id: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (Index("ix_evidence_files_project_control", "project_id", "control_id"),)


class ApiToken(Base):
    """A token for automation (``Authorization: Bearer``): acts as its user with the user's roles; only its SHA-256
    is stored. A ``read`` token may only read; a revoked token is kept (with when) for the user's list."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class AuditEntry(Base):
    """One change, chained to the one before by SHA-256 (``web/audit.py``); rows are only ever added."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_project_seq", "project_id", "seq"),)  # a project's page, newest first (migration 0008)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout (several threads write)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("pragma foreign_keys = on")
            cur.execute("pragma journal_mode = wal")
            cur.execute("pragma synchronous = full")
            cur.close()

        return engine
    if url.startswith(("postgresql://", "postgres://")):  # the driver installed by the 'web' extra (psycopg 3)
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)
