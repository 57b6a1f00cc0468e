"""The leaderboard stays out of the way: importing it, or starting `tttd`, loads no database code, and
`tttd list` works without SQLAlchemy installed (docs/architecture.md: heavy imports are lazy)."""

import subprocess
import sys

# sys.modules[name] = None makes `import name` fail exactly like a missing package
_WITHOUT_SQLALCHEMY = "import sys; sys.modules['sqlalchemy'] = None; sys.modules['alembic'] = None; "


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_is_cheap():
    res = _run(
        "import sys, leaderboards, leaderboards.cli; "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'leaderboards.api', 'verifiers.math.base') "
        "if m in sys.modules))"
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_tttd_list_without_sqlalchemy():
    res = _run(_WITHOUT_SQLALCHEMY + "from tttd_envs.cli import main; sys.exit(main(['list']))")
    assert res.returncode == 0, res.stderr
    assert "ErdosMinOverlap-v0" in res.stdout and "warning" not in res.stderr


def test_tttd_list_does_not_load_the_database_layer():
    res = _run(
        "import sys; from tttd_envs.cli import main; main(['list']); "
        "print('LOADED' if 'sqlalchemy' in sys.modules else 'CLEAN', file=sys.stderr)"
    )
    assert res.returncode == 0 and res.stderr.strip().endswith("CLEAN")


def test_submit_without_sqlalchemy_says_what_to_install(tmp_path):
    f = tmp_path / "a.json"
    f.write_text("[]")
    res = _run(
        _WITHOUT_SQLALCHEMY + f"from tttd_envs.cli import main; "
        f"sys.exit(main(['submit', 'CirclePacking26-v0', {str(f)!r}, '--name', 'a']))"
    )
    assert res.returncode == 2
    assert "tttd[web]" in res.stderr and "Traceback" not in res.stderr


def test_help_lists_the_commands():
    res = _run("from tttd_envs.cli import main; main(['--help'])")
    for cmd in ("submit", "board", "admin"):
        assert cmd in res.stdout
    res = _run("from tttd_envs.cli import main; main(['admin', '--help'])")
    for action in ("flag", "unflag", "reverify", "db"):
        assert action in res.stdout
