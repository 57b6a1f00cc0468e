"""Structured provenance: what the run that produced an entry cost (``tttd submit --run-cost``).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a nullable column needs no default and no table rebuild on SQLite; existing entries get NULL
    op.add_column("entries", sa.Column("run_cost", sa.JSON(), nullable=True))


def downgrade() -> None:
    # in place on PostgreSQL and SQLite >= 3.35 (a batch copy of ``entries`` would trip its foreign keys)
    op.drop_column("entries", "run_cost")
