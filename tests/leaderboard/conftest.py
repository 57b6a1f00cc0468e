"""Leaderboard test fixtures: every database test runs once on a fresh SQLite file and, when
TTTD_TEST_POSTGRES_URL points at a server (scripts/postgres-test-server.sh), once on a fresh
PostgreSQL database created for the test and dropped after it."""

import os
import sys
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the worker module for child processes (lb_worker.py)
    sys.path.insert(0, str(HERE))

PG_ENV = "TTTD_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def _isolated_leaderboard(monkeypatch, tmp_path):
    """No test may touch the user's default leaderboard."""
    monkeypatch.delenv("TTTD_LEADERBOARD_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def _pg_database(base_url: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from leaderboards.db import resolve_url

    name = f"tttd_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(resolve_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(resolve_url(base_url)).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A URL of an empty database (no schema yet: opening it runs the migrations)."""
    from leaderboards.db import dispose

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leaderboard.db'}"
        yield url
        dispose(url)
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (start a server with scripts/postgres-test-server.sh)")
    url, drop = _pg_database(base)
    try:
        yield url
    finally:
        dispose(url)
        drop()


@pytest.fixture()
def is_sqlite(db_url):
    return db_url.startswith("sqlite")
