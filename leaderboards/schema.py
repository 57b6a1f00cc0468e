"""The database schema: the leaderboard's tables (SQLAlchemy 2.0 declarative). The schema itself is created and
changed only by the versioned migrations in ``leaderboards/migrations``; these classes must match the newest
revision (tests compare them).

- ``entries``: one row per (problem, artifact hash, hardware, case set) — the deduplicated submission,
  with a copy of its *current* verdict (the newest evaluation) so that a board is one query.
- ``evaluations``: every Verdict the leaderboard computed for an entry (first submission, re-timings,
  re-verifications), never updated or deleted: the history.
- ``artifacts``: the exact bytes submitted, one per entry.
- ``flag_events``: the operators' flag/unflag log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class EntryRow(Base):
    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("problem", "artifact_sha256", "hardware_key", "case_set", name="uq_entries_identity"),
        Index("ix_entries_board", "problem", "accepted", "hardware_key", "case_set"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    problem: Mapped[str] = mapped_column(String(100), nullable=False)
    hardware_key: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    case_set: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    artifact_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    artifact_kind: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    artifact_size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    submitter: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    run_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    client_score_sent: Mapped[str | None] = mapped_column(String(100), nullable=True)  # kept, never used
    # what the run that produced the artifact cost: {"cost_usd": ..., tokens, device-seconds...} (revision 0003)
    run_cost: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # the current verdict (a copy of the newest evaluation)
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    accepted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_exact: Mapped[str | None] = mapped_column(String(80), nullable=True)
    display: Mapped[str | None] = mapped_column(String(80), nullable=True)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    verifier: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    tttd_version: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    hardware: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)  # compact details
    construction_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    evaluation_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # operator flag: None, "hacked" or "withdrawn"
    flag: Mapped[str | None] = mapped_column(String(20), nullable=True)
    flag_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    flagged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    flagged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class EvaluationRow(Base):
    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # submit, retime, resubmit, reverify
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    accepted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_exact: Mapped[str | None] = mapped_column(String(80), nullable=True)
    display: Mapped[str | None] = mapped_column(String(80), nullable=True)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    verifier: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    tttd_version: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    hardware: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    hardware_key: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    verifier_kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    elapsed_s: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    applied: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)  # became the entry's verdict


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class FlagEventRow(Base):
    __tablename__ = "flag_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), nullable=False, index=True)
    flag: Mapped[str | None] = mapped_column(String(20), nullable=True)  # None: cleared
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    operator: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
