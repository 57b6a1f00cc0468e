"""Versioned schema migrations (Alembic). Applied programmatically by ``leaderboards.db.upgrade`` when a
database is opened; the schema is never dropped and recreated.

A new revision: ``alembic -c leaderboards/migrations/alembic.ini revision -m "what changes"`` from the
repository root (or copy an existing file), then update :data:`HEAD` — a test checks it is the head.
"""

from pathlib import Path

SCRIPT_LOCATION = Path(__file__).resolve().parent
#: the newest revision; opening a database at this revision skips Alembic entirely
HEAD = "0003"
