"""Where the leaderboard lives: URL resolution, one engine per URL and process, SQLite settings,
short write transactions, and schema migrations applied on open.

SQLite (the default, a file under ``$XDG_DATA_HOME/tttd``) runs in WAL mode with a busy timeout and
foreign keys on; every write transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers
queue on the database lock instead of failing half-way with "database is locked". PostgreSQL is used
when the URL says so, through psycopg 3.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from leaderboards.errors import DatabaseUnavailable

ENV_URL = "TTTD_LEADERBOARD_URL"
BUSY_TIMEOUT_S = 60.0
#: pg_advisory_xact_lock key serialising migrations between processes ("tttd" in ASCII).
_PG_MIGRATION_LOCK = 0x74747464

_engines: dict[tuple[int, str], Engine] = {}
_migrated: set[tuple[int, str]] = set()
_lock = threading.Lock()


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "tttd" / "leaderboard.db"


def resolve_url(db: str | os.PathLike | None = None) -> str:
    """The SQLAlchemy URL for ``db`` (a URL or a file path), else ``$TTTD_LEADERBOARD_URL``, else the
    default SQLite file. ``postgresql://`` / ``postgres://`` are routed to psycopg 3."""
    raw = os.fspath(db) if db is not None else (os.environ.get(ENV_URL) or "")
    if not raw:
        return "sqlite:///" + str(default_path())
    if "://" not in raw:  # a bare file path
        return "sqlite:///" + str(Path(raw).expanduser().resolve())
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def describe(url: str) -> str:
    """The URL for messages, without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def is_sqlite(engine_or_url) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def get_engine(db: str | os.PathLike | None = None, *, migrate: bool = True) -> Engine:
    """The engine for ``db``, created once per process (engines must not cross a fork), with the
    schema brought to the newest revision the first time."""
    url = resolve_url(db)
    key = (os.getpid(), url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _create(url)
    if migrate and key not in _migrated:
        upgrade(engine)
        _migrated.add(key)
    return engine


def dispose(db: str | os.PathLike | None = None) -> None:
    """Close this process's pooled connections to ``db`` (tests drop databases afterwards)."""
    url = resolve_url(db)
    key = (os.getpid(), url)
    with _lock:
        engine = _engines.pop(key, None)
        _migrated.discard(key)
    if engine is not None:
        engine.dispose()


def _create(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            "cannot parse the leaderboard database URL; give a file path, sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            return _create_sqlite(parsed)
        return create_engine(parsed, pool_pre_ping=True, future=True)
    except NoSuchModuleError:
        raise DatabaseUnavailable(f"no SQLAlchemy driver for {describe(url)}; use SQLite or postgresql://") from None
    except ModuleNotFoundError as e:
        raise DatabaseUnavailable(
            f"the database driver for {describe(url)} is not installed ({e.name}); install tttd[web]"
        ) from None


def _create_sqlite(parsed) -> Engine:
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S}, future=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # The driver's own implicit transactions are off: we emit BEGIN ourselves (below), so a write
        # transaction can take the write lock up front.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            cur.execute("PRAGMA foreign_keys = ON")
            _retry_locked(lambda: cur.execute("PRAGMA journal_mode = WAL"))
            # FULL: a commit is on disk before submit() returns (kills cannot lose it either way).
            cur.execute("PRAGMA synchronous = FULL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("tttd_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _retry_locked(fn, timeout_s: float = BUSY_TIMEOUT_S):
    """Switching a brand-new file to WAL needs a moment alone with it; other processes creating the
    same database at the same instant get "database is locked" (not covered by busy_timeout)."""
    import sqlite3

    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One short write transaction: BEGIN IMMEDIATE on SQLite, committed on success, rolled back on
    any exception. Never hold it across verification."""
    with engine.connect() as conn:
        conn = conn.execution_options(tttd_write=True)
        with Session(bind=conn, expire_on_commit=False) as session, session.begin():
            yield session


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(bind=engine, expire_on_commit=False) as session, session.begin():
        yield session


# -- migrations ----------------------------------------------------------------------------------
def alembic_config(connection: Connection | None = None):
    """An Alembic Config pointing at the migrations shipped inside this package (no ini file)."""
    from alembic.config import Config

    from leaderboards.migrations import SCRIPT_LOCATION

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` through the Alembic API, inside one transaction that holds the
    write lock (SQLite) or an advisory lock (PostgreSQL), so that processes opening a fresh database
    at the same moment migrate it exactly once. Existing data is always kept."""
    from alembic import command

    from leaderboards.migrations import HEAD

    try:
        if revision == "head" and current_revision(engine) == HEAD:
            return  # the common case: nothing to lock
        with engine.connect() as conn:
            conn = conn.execution_options(tttd_write=True)
            with conn.begin():
                if not is_sqlite(engine):
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                command.upgrade(alembic_config(conn), revision)
    except OperationalError as e:
        raise DatabaseUnavailable(
            f"cannot open the leaderboard database {describe(str(engine.url))}: {_first_line(e.orig)}"
        ) from None
    except DBAPIError as e:
        raise DatabaseUnavailable(
            f"the leaderboard database {describe(str(engine.url))} failed: {_first_line(e.orig)}"
        ) from None


def _first_line(exc) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
