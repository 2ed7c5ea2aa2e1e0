"""treatment plans: a finding planned with an owner (a member of the project), a due date and a note

Accepted decisions keep their approver, reason and expiry; those columns become optional because a plan has none.
Going down deletes the plans (the older schema cannot hold a decision without an approver and an expiry).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OWNER_FK = "fk_treatments_owner_id_users"


def upgrade() -> None:
    with op.batch_alter_table("treatments") as batch:
        batch.alter_column("expires", existing_type=sa.Date(), nullable=True)
        batch.alter_column("approver_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("note", sa.String(length=2000), server_default="", nullable=False))
        batch.create_foreign_key(OWNER_FK, "users", ["owner_id"], ["id"])
        batch.create_index("ix_treatments_project_status_due", ["project_id", "status", "due"])


def downgrade() -> None:
    op.execute(sa.text("delete from treatments where status <> 'accepted'"))
    with op.batch_alter_table("treatments") as batch:
        batch.drop_index("ix_treatments_project_status_due")
        batch.drop_constraint(OWNER_FK, type_="foreignkey")
        batch.drop_column("note")
        batch.drop_column("due")
        batch.drop_column("owner_id")
        batch.alter_column("approver_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("expires", existing_type=sa.Date(), nullable=False)
