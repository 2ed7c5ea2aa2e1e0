"""indexes for findings pages at scale: the page order, the level filter, a finding by its ID

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ORDER: list[str | sa.TextClause] = ["assessment_id", sa.text("score DESC"), "rule_id", "finding_id"]


def upgrade() -> None:
    op.drop_index("ix_findings_assessment_score", table_name="findings")
    op.create_index("ix_findings_assessment_order", "findings", ORDER)
    op.create_index("ix_findings_assessment_level_order", "findings", ["assessment_id", "level", *ORDER[1:]])
    # covering the keyset cursor's lookup (a finding's score and rule by its ID), so no plan prefers scanning the others
    op.create_index("ix_findings_finding_assessment", "findings", ["finding_id", "assessment_id", "score", "rule_id"])


def downgrade() -> None:
    op.drop_index("ix_findings_finding_assessment", table_name="findings")
    op.drop_index("ix_findings_assessment_level_order", table_name="findings")
    op.drop_index("ix_findings_assessment_order", table_name="findings")
    op.create_index("ix_findings_assessment_score", "findings", ["assessment_id", "score"])
