"""Operator audit log: every flag and unflag of an entry, with reason and operator.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flag_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("entries.id"), nullable=False),
        sa.Column("flag", sa.String(20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_flag_events_entry_id", "flag_events", ["entry_id"])
    # Entries flagged before this table existed get one event each, so the log is complete.
    op.execute(
        sa.text(
            "INSERT INTO flag_events (entry_id, flag, reason, operator, created_at) "
            "SELECT id, flag, COALESCE(flag_reason, ''), COALESCE(flagged_by, 'unknown'), "
            "COALESCE(flagged_at, created_at) FROM entries WHERE flag IS NOT NULL"
        )
    )


def downgrade() -> None:
    op.drop_index("ix_flag_events_entry_id", table_name="flag_events")
    op.drop_table("flag_events")
