"""Sandbox limits under the math verifiers (docs/math.md, "Adversarial inputs"): time, output, memory and
process limits, daemons, the filesystem view, the network and the environment. Each test also checks that
the side effect did not happen.

The sandbox child runs under a private uid (reported in details["isolation"]["user"]); "nothing
outlives the run" is checked by looking for any process with that uid in /proc once the Verdict is back.
Where the kernel cannot provide a layer, the test is skipped and the Verdict must not claim "full".
"""

from __future__ import annotations

import ast
import os
import secrets
import socket
import sqlite3
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import advhelpers as H
import pytest
from advhelpers import assert_no_survivors, fixture, verifier

OK_PROGRAM = "def run(budget_s, seed):\n    return [0.25, 0.75, 0.75, 0.25]\n"


def assert_status(verdict, status: str, *substrings: str) -> None:
    assert verdict.status == status, (verdict.status, verdict.message)
    assert verdict.score is None and not verdict.accepted
    for s in substrings:
        assert s in verdict.message, (s, verdict.message)


def assert_still_works() -> None:
    v = verifier("erdos").verify(OK_PROGRAM)
    H.assert_exact_score(v, Fraction(13, 32), up=True)


def require(verdict, layer: str, value: str) -> None:
    """Skip when this kernel did not give the layer; the Verdict must then not claim full isolation."""
    iso = verdict.details.get("isolation") or {}
    if value not in str(iso.get(layer, "")):
        assert iso.get("level") != "full", iso
        pytest.skip(f"isolation layer {layer}={value!r} not available here: {iso.get('summary')}")


def timed(v, text: str, **kw):
    t0 = time.monotonic()
    verdict = v.verify(text, **kw)
    return verdict, time.monotonic() - t0


# -- sleeping past the budget ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sleep_in_run.py", "sleep_at_import.py"])
def test_sleeps_past_the_budget(name):
    verdict, elapsed = timed(verifier("erdos", budget_s=1, grace_s=1), fixture(name))
    assert_status(verdict, "timeout", "did not return within 2 s", "budget_s 1", "process group")
    assert 2.0 <= elapsed < 2.0 + 2.0 + 1.5  # wall limit + SIGKILL grace + slack
    assert_no_survivors(verdict)
    assert_still_works()


@pytest.mark.parametrize("setsid", [False, True], ids=["same_group", "own_session"])
def test_sleeping_children_die_with_the_run(setsid):
    v = verifier("erdos", budget_s=1, grace_s=1, cpus=2)
    verdict, elapsed = timed(v, fixture("fork_and_sleep.py", setsid=setsid))
    assert_status(verdict, "timeout", "within 2 s")
    assert elapsed < 2.0 + 2.0 + 1.5
    assert_no_survivors(verdict)


# -- ignoring SIGTERM -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ignore_sigterm_busy.py", "ignore_sigterm_sigxcpu_sleep.py"])
def test_ignores_sigterm(name):
    verdict, elapsed = timed(verifier("erdos", budget_s=1, grace_s=1), fixture(name))
    assert_status(verdict, "timeout", "killed")
    assert elapsed < 2.0 + 2.0 + 1.5  # SIGKILL 2 s after SIGTERM, whatever the program does
    assert_no_survivors(verdict)
    assert_still_works()


def test_message_says_sigkill_after_grace():
    verdict = verifier("erdos", budget_s=1, grace_s=1).verify(fixture("ignore_sigterm_sigxcpu_sleep.py"))
    assert_status(verdict, "timeout", "SIGKILL", "ignored SIGTERM", "grace period")


# -- 1 GB of output ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_prints_1gb(stream):
    verdict, elapsed = timed(verifier("erdos", budget_s=20, grace_s=1), fixture("print_1gb.py", stream=stream))
    assert_status(verdict, "output_limit", "16 MiB")
    assert elapsed < 10  # killed at the cap, not after 1 GB or the wall limit
    assert len(verdict.details[stream]) <= 64 << 10  # only a tail is kept
    assert_no_survivors(verdict)
    assert_still_works()


@pytest.mark.parametrize("fd", [1, 2])
def test_writes_the_output_fds_directly(fd):
    verdict, elapsed = timed(verifier("erdos", budget_s=20, grace_s=1), fixture("write_stdout_fd.py", fd=fd))
    assert_status(verdict, "output_limit", "16 MiB")
    assert elapsed < 10


# -- 100 GB ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [fixture("allocate_100gb.py"), "import numpy as np\n\ndef run(budget_s, seed):\n    return np.ones(100 << 27)\n"],
)
def test_allocates_100gb(src):
    verdict = verifier("erdos").verify(src)
    assert_status(verdict, "memory", "4 GiB memory limit")


def test_allocates_until_the_limit():
    verdict, elapsed = timed(
        verifier("erdos", budget_s=20, grace_s=1, memory_bytes=1 << 30), fixture("allocate_gradually.py")
    )
    assert_status(verdict, "memory", "1 GiB memory limit")
    assert elapsed < 15
    assert_no_survivors(verdict)


# -- process creation ----------------------------------------------------------------------------

CPUS1_MSG = "creating processes is not allowed with cpus=1"


@pytest.mark.parametrize("name", ["fork_loop.py", "pool_64.py", "subprocess_sh.py", "posix_spawn.py"])
def test_process_creation_refused_with_one_cpu(name):
    verdict = verifier("erdos").verify(fixture(name))
    require(verdict, "processes", "seccomp (no fork/exec)")
    assert_status(verdict, "crashed")
    assert_no_survivors(verdict)


@pytest.mark.parametrize("name", ["fork_loop.py", "pool_64.py", "subprocess_sh.py", "posix_spawn.py"])
def test_message_says_why_with_one_cpu(name):
    verdict = verifier("erdos").verify(fixture(name))
    require(verdict, "processes", "seccomp (no fork/exec)")
    assert_status(verdict, "crashed", CPUS1_MSG)


def test_threads_still_work_with_one_cpu():
    src = (
        "import threading\n\ndef run(budget_s, seed):\n    out = []\n"
        "    ts = [threading.Thread(target=out.append, args=(0.5,)) for _ in range(4)]\n"
        "    [t.start() for t in ts]\n    [t.join() for t in ts]\n    return out\n"
    )
    H.assert_exact_score(verifier("erdos").verify(src), Fraction(1, 2), up=True)


@pytest.mark.parametrize("name", ["fork_loop.py", "fork_children_sleep.py"])
def test_fork_bomb_stopped_with_two_cpus(name):
    verdict, elapsed = timed(verifier("erdos", budget_s=5, grace_s=1, cpus=2), fixture(name))
    require(verdict, "processes", "rlimit nproc 32 (private uid)")
    assert not verdict.accepted and verdict.status in ("crashed", "rejected"), verdict.message
    assert elapsed < 5  # stopped by the task cap, not by the wall limit
    assert_no_survivors(verdict)  # nothing outlives the run
    assert_still_works()


@pytest.mark.parametrize("name", ["fork_loop.py", "fork_children_sleep.py"])
def test_fork_bomb_message_names_the_task_limit(name):
    # The forked children must not write their own error records to the result channel (that would
    # make the Verdict "malformed result"), and a bare os.fork failure must name the task limit.
    verdict = verifier("erdos", budget_s=5, grace_s=1, cpus=2).verify(fixture(name))
    assert_status(verdict, "crashed", "task limit")


# -- a setsid double-fork daemon -----------------------------------------------------------------


def test_daemon_dies_with_the_run(open_dir):
    host_marker = os.path.join(open_dir, "daemon_marker")
    src = fixture("daemon_marker.py", host_marker=host_marker, host_dir=open_dir)
    verdict = verifier("erdos", budget_s=5, grace_s=1, cpus=2).verify(src)
    require(verdict, "processes", "rlimit nproc 32 (private uid)")
    H.assert_exact_score(verdict, Fraction(1, 2), up=True)  # whatever the main program returns
    assert_no_survivors(verdict, settle_s=0.2)
    time.sleep(6.0)  # the daemon would have written by now
    assert os.listdir(open_dir) == []
    assert H.pids_with_uid(H.run_uid(verdict)) == []


def test_daemon_cannot_even_fork_with_one_cpu(open_dir):
    src = fixture("daemon_marker.py", host_marker=os.path.join(open_dir, "m"), host_dir=open_dir)
    verdict = verifier("erdos").verify(src)
    require(verdict, "processes", "seccomp (no fork/exec)")
    assert_status(verdict, "crashed", CPUS1_MSG)
    assert_no_survivors(verdict)


# -- reading outside the working directory -------------------------------------------------------

RECORD = [0.25, 0.75, 0.75, 0.25]


def record_file(open_dir: str) -> str:
    """A world-readable copy of a 'record' (stands in for the data directory and agent archives)."""
    path = os.path.join(open_dir, "record.json")
    Path(path).write_text('{"construction": [0.25, 0.75, 0.75, 0.25]}')
    os.chmod(path, 0o644)
    return path


def leaderboard_db(open_dir: str) -> str:
    path = os.path.join(open_dir, "leaderboard.sqlite")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE rows (construction TEXT, score REAL)")
    db.execute("INSERT INTO rows VALUES (?, ?)", ("[0.25, 0.75, 0.75, 0.25]", 0.40625))
    db.commit()
    db.close()
    os.chmod(path, 0o644)
    return path


READ_TARGETS = [
    "data_file_absolute",
    "data_file_relative",
    "record_copy",
    "ssh_key",
    "root_home",
    "repo_checkout",
    "verifier_module",
]


def read_target(which: str, open_dir: str) -> str:
    data = H.DATA_DIR / "erdos_haugland2016.json"
    if which.startswith("data_file") and not data.is_file():
        pytest.skip(f"no data file {data}")
    return {
        "data_file_absolute": str(data),
        "data_file_relative": "../shared/data/math/erdos_haugland2016.json",
        "record_copy": record_file(open_dir) if which == "record_copy" else "",
        "ssh_key": "~/.ssh/id_rsa",
        "root_home": "/root/.bashrc",
        "repo_checkout": str(H.REPO / "pyproject.toml"),
        "verifier_module": str(H.REPO / "verifiers" / "math" / "erdos.py"),
    }[which]


@pytest.mark.parametrize("which", READ_TARGETS)
def test_reads_outside_fail(which, open_dir):
    path = read_target(which, open_dir)
    verdict = verifier("erdos").verify(fixture("read_outside.py", path=path))
    require(verdict, "filesystem", "chroot")
    assert_status(verdict, "crashed")
    assert "FileNotFoundError" in verdict.message or "PermissionError" in verdict.message, verdict.message
    assert "construction" not in verdict.details


def test_reads_the_leaderboard_db_fail(open_dir):
    path = leaderboard_db(open_dir)
    verdict = verifier("erdos").verify(fixture("read_sqlite.py", path=path))
    require(verdict, "filesystem", "chroot")
    assert_status(verdict, "crashed", "unable to open database")
    assert "construction" not in verdict.details


def test_reads_proc_environ_fail():
    verdict = verifier("erdos").verify(fixture("read_proc_environ.py"))
    require(verdict, "filesystem", "chroot")
    assert_status(verdict, "crashed")
    assert "FileNotFoundError" in verdict.message or "PermissionError" in verdict.message
    assert "environ" not in verdict.details["stdout"]


def test_the_same_program_reads_its_own_directory():
    """Control: the read program itself works on parent.json, the one file it may read."""
    verdict = verifier("erdos").verify(
        fixture("read_outside.py", path="parent.json"), parent={"construction": RECORD, "value": -0.40625}
    )
    H.assert_exact_score(verdict, Fraction(13, 32), up=True)


# -- writing outside the working directory -------------------------------------------------------


def write_targets(open_dir: str, token: str) -> dict[str, tuple[str, str]]:
    import numpy

    site = Path(numpy.__file__).resolve().parents[1]
    return {
        "verifier_module": (str(H.REPO / "verifiers" / "math" / "erdos.py"), "a"),
        "system_tmp": (os.path.join(tempfile.gettempdir(), f"tttd-adv-{token}"), "w"),
        "site_packages": (str(site / f"tttd_adv_{token}.py"), "w"),
        "open_host_dir": (os.path.join(open_dir, f"written-{token}"), "w"),
        "python_stdlib": (os.path.join(os.path.dirname(os.__file__), f"tttd_adv_{token}.py"), "w"),
        "root_of_sandbox": (f"/tttd-adv-{token}", "w"),
    }


@pytest.mark.parametrize(
    "which", ["verifier_module", "system_tmp", "site_packages", "open_host_dir", "python_stdlib", "root_of_sandbox"]
)
def test_writes_outside_fail(which, open_dir):
    token = secrets.token_hex(6)
    path, mode = write_targets(open_dir, token)[which]
    before = Path(path).read_bytes() if os.path.exists(path) else None
    mtime = os.stat(path).st_mtime_ns if before is not None else None
    verdict = verifier("erdos").verify(fixture("write_outside.py", path=path, mode=mode))
    require(verdict, "filesystem", "chroot")
    assert_status(verdict, "crashed")
    assert any(e in verdict.message for e in ("FileNotFoundError", "PermissionError", "Read-only", "OSError")), (
        verdict.message
    )
    if before is None:
        assert not os.path.exists(path)
    else:
        assert Path(path).read_bytes() == before and os.stat(path).st_mtime_ns == mtime
    assert not os.path.exists(os.path.join("/", f"tttd-adv-{token}"))


def test_writing_in_the_working_directory_is_allowed():
    src = (
        "def run(budget_s, seed):\n    with open('scratch.txt', 'w') as fh:\n        fh.write('x' * 1000)\n"
        "    return [0.5]\n"
    )
    H.assert_exact_score(verifier("erdos").verify(src), Fraction(1, 2), up=True)


# -- network ------------------------------------------------------------------------------------


class Listener:
    """A host listener on 127.0.0.1 (TCP or UDP, random port) or an abstract unix socket; records
    every connection and every byte it receives."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.events: list[bytes] = []
        fam = socket.AF_UNIX if kind == "unix" else socket.AF_INET
        typ = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(fam, typ)
        if kind == "unix":
            self.name = f"tttd-adv-{secrets.token_hex(6)}"
            self.sock.bind("\0" + self.name)
        else:
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        if typ == socket.SOCK_STREAM:
            self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + 30
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                if self.kind == "udp":
                    self.events.append(self.sock.recv(4096))
                    continue
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.events.append(b"<connection>")
            conn.settimeout(1)
            try:
                self.events.append(conn.recv(4096))
            except OSError:
                pass
            conn.close()

    def close(self) -> list[bytes]:
        time.sleep(0.3)
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()
        return self.events


def _control_connect(listener: Listener) -> None:
    """Control: the listener does receive what a host process sends (so silence below means something)."""
    s = socket.create_connection(("127.0.0.1", listener.port), timeout=2)
    s.sendall(b"control")
    s.close()


@pytest.mark.parametrize(
    "name,kind",
    [
        ("tcp_connect.py", "tcp"),
        ("http_request.py", "tcp"),
        ("udp_send.py", "udp"),
        ("unix_abstract_connect.py", "unix"),
    ],
)
def test_network_unreachable(name, kind):
    listener = Listener(kind)
    token = secrets.token_hex(8)
    try:
        subst = {"token": token, "name": getattr(listener, "name", "")}
        if kind != "unix":
            subst["port"] = listener.port
        verdict = verifier("erdos").verify(fixture(name, **subst))
    finally:
        events = listener.close()
    require(verdict, "network", "netns")
    assert_status(verdict, "crashed")
    assert events == [], events
    assert token not in H.all_text(verdict)


def test_listener_control():
    listener = Listener("tcp")
    _control_connect(listener)
    assert listener.close()[:2] == [b"<connection>", b"control"]


def test_dns_lookup_fails():
    verdict = verifier("erdos").verify(fixture("dns_lookup.py"))
    require(verdict, "network", "netns")
    assert_status(verdict, "crashed", "gaierror")


# -- the environment -------------------------------------------------------------------------------

SECRETS = ("TINKER_API_KEY", "HF_TOKEN", "WANDB_API_KEY")
ALLOWED_ENV = {
    "PATH",
    "LANG",
    "LC_ALL",
    "HOME",
    "TMPDIR",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONNOUSERSITE",
    "PYTHONHASHSEED",
    "MPLBACKEND",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
}


@pytest.mark.parametrize("restart", [False, True], ids=["planted_after_start", "planted_before_start"])
def test_prints_environ(monkeypatch, restart):
    from verifiers.sandbox import client

    values = {k: f"secret-{k.lower()}-{secrets.token_hex(8)}" for k in SECRETS}
    for k, val in values.items():
        monkeypatch.setenv(k, val)
    if restart:  # the server then starts with the secrets in our environment
        client._get_server().close()
    verdict = verifier("erdos").verify(fixture("print_environ.py"))
    assert verdict.status in ("accepted", "crashed"), verdict.message
    text = H.all_text(verdict)
    for k, val in values.items():
        assert val not in text
        assert k not in verdict.details["stdout"]
    env = ast.literal_eval(verdict.details["stdout"].splitlines()[0])
    assert set(env) <= ALLOWED_ENV, set(env) - ALLOWED_ENV
    assert env["HOME"] == "/sandbox"
    if restart:
        srv = client._server.proc.pid
        with open(f"/proc/{srv}/environ", "rb") as fh:
            server_env = fh.read()
        for val in values.values():
            assert val.encode() not in server_env  # the fork server itself holds no secrets


# -- output on both streams, and what a verifier error does to the next submission ----------


@pytest.fixture
def restart_server_after():
    """The bugs below damage the shared fork server; give later tests a fresh one."""
    yield
    from verifiers.sandbox import client

    client._get_server().close()


def test_prints_on_both_streams(restart_server_after):
    for j in range(20):  # the crossing read must fall on stdout while stderr is ready: vary the cap
        v = verifier("erdos", budget_s=20, grace_s=1, output_bytes=(1 << 20) + j * (1 << 15))
        verdict = v.verify(fixture("print_both_streams.py"))
        assert_status(verdict, "output_limit", "1 MiB")


def test_records_stay_unreadable_after_a_verifier_error(open_dir, restart_server_after):
    path = record_file(open_dir)
    for j in range(20):
        v = verifier("erdos", budget_s=20, grace_s=1, output_bytes=(1 << 20) + j * (1 << 15))
        if v.verify(fixture("print_both_streams.py")).status == "error":
            break
    time.sleep(0.5)
    verdict = verifier("erdos").verify(fixture("read_outside.py", path=path))
    assert verdict.details["isolation"]["level"] == "full", verdict.details["isolation"]
    assert_status(verdict, "crashed")
