"""the audit log indexed by project and entry number: a project's audit page reads its newest entries off the index

With an index on the project alone, PostgreSQL gathered every entry of the project and sorted them for each page.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.create_index("ix_audit_log_project_seq", ["project_id", "seq"])
        batch.drop_index("ix_audit_log_project_id")


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.create_index("ix_audit_log_project_id", ["project_id"])
        batch.drop_index("ix_audit_log_project_seq")
