"""Schema migrations: a fresh database is created by the versioned migrations, Alembic reports head,
upgrades keep data, and the migrations ship inside the wheel."""

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

import leaderboards
from leaderboards import db as dbmod
from leaderboards.migrations import HEAD, SCRIPT_LOCATION
from leaderboards.schema import Base

REPO = Path(__file__).resolve().parents[2]
_OFFLINE = (
    "Could not find a version",
    "NewConnectionError",
    "Temporary failure in name resolution",
    "No matching distribution",
    "Network is unreachable",
)


def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(dbmod.alembic_config())


def test_head_constant_is_the_script_head_and_history_is_linear():
    script = _script()
    assert script.get_heads() == [HEAD]
    revs = list(script.walk_revisions())
    assert [r.revision for r in reversed(revs)] == ["0001", "0002", "0003"]
    assert revs[-1].down_revision is None


def test_fresh_database_is_built_by_migrations(db_url):
    engine = dbmod.get_engine(db_url)
    assert dbmod.current_revision(engine) == HEAD
    cfg = dbmod.alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        out = io.StringIO()
        cfg.stdout = out
        from alembic import command

        command.current(cfg)
    assert f"{HEAD} (head)" in out.getvalue()
    tables = set(inspect(engine).get_table_names())
    assert {"entries", "evaluations", "artifacts", "flag_events", "alembic_version"} <= tables


def test_models_match_the_migrations(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = dbmod.get_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_alembic_command_line_reports_head(db_url):
    dbmod.get_engine(db_url)
    alembic = Path(sys.executable).with_name("alembic")
    if not alembic.exists():
        pytest.skip("alembic console script not installed")
    res = subprocess.run(
        [str(alembic), "-c", str(SCRIPT_LOCATION / "alembic.ini"), "-x", f"url={db_url}", "current"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr
    assert f"{HEAD} (head)" in res.stdout


def test_upgrade_keeps_data_and_backfills(db_url):
    """A database left at revision 0001 with a flagged entry: opening it upgrades in place, the rows
    stay, and 0002 logs the existing flag."""
    engine = dbmod.get_engine(db_url, migrate=False)
    dbmod.upgrade(engine, "0001")
    assert dbmod.current_revision(engine) == "0001"
    assert "flag_events" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO entries (problem, hardware_key, case_set, artifact_sha256, artifact_kind, artifact_size, "
                "submitter, notes, created_at, status, accepted, score, score_exact, display, message, verifier, "
                "tttd_version, summary, verified_at, evaluation_count, flag, flag_reason, flagged_by, "
                "flagged_at) VALUES "
                "('CirclePacking26-v0', '', '', :sha, 'json', 2, 'old', '', :t, 'accepted', :yes, 1.625, '1.625', "
                "'1.625000000', 'ok', 'circle_packing@1', '0.0.1', '{}', :t, 1, 'hacked', 'why', 'op', :t)"
            ),
            {"sha": "0" * 64, "t": "2025-01-02 03:04:05", "yes": True},
        )
    dbmod.dispose(db_url)
    engine = dbmod.get_engine(db_url)  # opening applies 0002
    assert dbmod.current_revision(engine) == HEAD
    with engine.connect() as conn:
        assert conn.execute(text("SELECT submitter, display FROM entries")).all() == [("old", "1.625000000")]
        assert conn.execute(text("SELECT flag, reason, operator FROM flag_events")).all() == [("hacked", "why", "op")]


def test_upgrade_to_0003_adds_run_cost_and_keeps_rows(db_url):
    """A database at 0002 with an entry: opening it adds the run_cost column; the entry stays, with no
    run cost (NULL), and reads back through the API; new entries store theirs."""
    from lb_helpers import cp26_grid

    engine = dbmod.get_engine(db_url, migrate=False)
    dbmod.upgrade(engine, "0002")
    assert dbmod.current_revision(engine) == "0002"
    assert "run_cost" not in {c["name"] for c in inspect(engine).get_columns("entries")}
    with engine.begin() as conn:  # an entry as 0002's code wrote it (no API: it migrates)
        conn.execute(
            text(
                "INSERT INTO entries (problem, hardware_key, case_set, artifact_sha256, artifact_kind, artifact_size, "
                "submitter, notes, run_id, created_at, status, accepted, score, score_exact, display, message, "
                "verifier, tttd_version, summary, verified_at, evaluation_count) VALUES "
                "('CirclePacking26-v0', '', '', :sha, 'json', 2, 'old', 'run cost $0.5', 'r', :t, 'accepted', :yes, "
                "1.625, '1.625', '1.625000000', 'ok', 'circle_packing@1', '0.0.1', '{}', :t, 1)"
            ),
            {"sha": "0" * 64, "t": "2025-01-02 03:04:05", "yes": True},
        )
        conn.execute(
            text(
                "INSERT INTO evaluations (entry_id, kind, created_at, requested_by, status, accepted, message, "
                "verifier, tttd_version, hardware_key, details, verifier_kwargs, elapsed_s, applied) VALUES "
                "(1, 'submit', :t, 'old', 'accepted', :yes, 'ok', 'circle_packing@1', '0.0.1', '', '{}', '{}', "
                "0.1, :yes)"
            ),
            {"t": "2025-01-02 03:04:05", "yes": True},
        )
        before = conn.execute(text("SELECT id, submitter, notes, run_id, display FROM entries")).all()
    dbmod.dispose(db_url)
    engine = dbmod.get_engine(db_url)  # opening applies 0003
    assert dbmod.current_revision(engine) == HEAD == "0003"
    assert "run_cost" in {c["name"] for c in inspect(engine).get_columns("entries")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, submitter, notes, run_id, display FROM entries")).all() == before
        assert conn.execute(text("SELECT run_cost FROM entries")).all() == [(None,)]
        assert conn.execute(text("SELECT count(*) FROM evaluations")).scalar() == 1
    old = leaderboards.entry(1, db=db_url)
    assert old.run_cost is None and old.to_dict()["run_cost"] is None and old.notes == "run cost $0.5"
    new = leaderboards.submit(
        "CirclePacking26-v0", cp26_grid(3), submitter="new", run_cost={"cost_usd": 1.5}, db=db_url
    )
    assert leaderboards.entry(new.id, db=db_url).run_cost == {"cost_usd": 1.5}


def test_reopening_never_recreates(db_url):
    from lb_helpers import cp26_grid

    e = leaderboards.submit("CirclePacking26-v0", cp26_grid(), submitter="a", db=db_url)
    for _ in range(2):
        dbmod.dispose(db_url)
        dbmod.upgrade(dbmod.get_engine(db_url, migrate=False))  # head already: a no-op
        assert leaderboards.entry(e.id, db=db_url).submitter == "a"


def test_sqlite_settings(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = dbmod.get_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    dbmod.dispose(url)


def test_url_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("TTTD_LEADERBOARD_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert dbmod.resolve_url() == f"sqlite:///{tmp_path}/tttd/leaderboard.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert dbmod.resolve_url() == "sqlite:///" + os.path.expanduser("~/.local/share/tttd/leaderboard.db")
    monkeypatch.setenv("TTTD_LEADERBOARD_URL", "postgresql://u:p@h:5/db")
    assert dbmod.resolve_url() == "postgresql+psycopg://u:p@h:5/db"
    assert dbmod.resolve_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert dbmod.resolve_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"
    assert dbmod.resolve_url(str(tmp_path / "f.db")) == f"sqlite:///{tmp_path}/f.db"
    assert dbmod.resolve_url("sqlite:///rel.db") == "sqlite:///rel.db"
    assert "p@" not in dbmod.describe(dbmod.resolve_url("postgresql://u:secret@h/db"))


@pytest.mark.slow
def test_wheel_ships_the_migrations(tmp_path):
    """Build a wheel from a copy of the sources and check that everything `alembic upgrade` reads is
    inside it."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for pkg in ("tttd_envs", "verifiers", "agents", "leaderboards"):
        if (REPO / pkg).is_dir():
            shutil.copytree(REPO / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # pip builds in an isolated environment with the build-system requirements (setuptools>=69)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "--disable-pip-version-check",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if res.returncode != 0 and any(s in res.stderr for s in _OFFLINE):
        pytest.skip("cannot fetch the build requirements (offline)")
    assert res.returncode == 0, res.stderr[-2000:]
    (whl,) = (tmp_path / "dist").glob("tttd-*.whl")
    names = set(zipfile.ZipFile(whl).namelist())
    needed = {
        "leaderboards/migrations/__init__.py",
        "leaderboards/migrations/env.py",
        "leaderboards/migrations/versions/0001_initial.py",
        "leaderboards/migrations/versions/0002_flag_events.py",
        "leaderboards/migrations/versions/0003_run_cost.py",
    }
    assert needed <= names
    # and from the unpacked wheel alone, a fresh database migrates to head
    site = tmp_path / "site"
    zipfile.ZipFile(whl).extractall(site)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import leaderboards.db as d; "
        "assert d.__file__.startswith(sys.argv[1]); e = d.get_engine(sys.argv[2]); print(d.current_revision(e))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(site), f"sqlite:///{tmp_path / 'w.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == HEAD
