"""Initial schema: entries, their evaluations (verdict history) and artifacts.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _verdict_columns() -> list[sa.Column]:
    return [
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("score_exact", sa.String(80), nullable=True),
        sa.Column("display", sa.String(80), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("verifier", sa.String(100), nullable=False),
        sa.Column("tttd_version", sa.String(50), nullable=False),
        sa.Column("hardware", sa.JSON(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("problem", sa.String(100), nullable=False),
        sa.Column("hardware_key", sa.String(200), nullable=False),
        sa.Column("case_set", sa.String(50), nullable=False),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("artifact_kind", sa.String(30), nullable=False),
        sa.Column("artifact_size", sa.Integer(), nullable=False),
        sa.Column("submitter", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(200), nullable=True),
        sa.Column("client_score_sent", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_verdict_columns(),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("construction_sha256", sa.String(64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluation_count", sa.Integer(), nullable=False),
        sa.Column("flag", sa.String(20), nullable=True),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.Column("flagged_by", sa.String(200), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("problem", "artifact_sha256", "hardware_key", "case_set", name="uq_entries_identity"),
    )
    op.create_index("ix_entries_board", "entries", ["problem", "accepted", "hardware_key", "case_set"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("entries.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        *_verdict_columns(),
        sa.Column("hardware_key", sa.String(200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("verifier_kwargs", sa.JSON(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_evaluations_entry_id", "evaluations", ["entry_id"])
    op.create_table(
        "artifacts",
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("entries.id"), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("artifacts")
    op.drop_index("ix_evaluations_entry_id", table_name="evaluations")
    op.drop_table("evaluations")
    op.drop_index("ix_entries_board", table_name="entries")
    op.drop_table("entries")
