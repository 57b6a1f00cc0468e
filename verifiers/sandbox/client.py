"""Parent side of the sandbox: starts the fork server, submits a run, supervises it.

The parent enforces the wall-clock limit (SIGTERM to the child's process group, SIGKILL after a
grace period), caps what it reads from stdout/stderr and from the result channel, and turns what
happened into a :class:`SandboxResult`. It never unpickles or imports anything the child produced.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

#: Environment variables passed through to the server (never secrets; needed by some CPUs' BLAS).
_PASS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
)
#: Imported once by the fork server. Measured on 2 cores: numpy+scipy ≈ 13 ms per empty run; adding
#: scipy.optimize/signal/spatial ≈ 24 ms (a larger address space makes every fork slower), so programs
#: import those submodules themselves, inside their own budget.
DEFAULT_PRELOAD = ("numpy", "scipy")
_STARTUP_TIMEOUT_S = 120.0
UID_BASE, UID_SPAN = 100000, 1 << 30


@dataclasses.dataclass
class Limits:
    """Resource limits of one sandboxed run (defaults follow docs/math.md#limits)."""

    wall_s: float = 330.0
    cpu_s: float | None = None  # default: wall_s × cpus
    cpus: int = 1
    memory_bytes: int = 4 << 30
    output_bytes: int = 16 << 20  # cap on stdout + stderr together (stdout only if not stderr_counts)
    keep_output_bytes: int = 64 << 10  # tail kept of each stream
    keep_stdout_bytes: int | None = None  # override for stdout (a judge keeps all of it)
    stderr_counts: bool = True  # does stderr count toward output_bytes?
    stack_bytes: int | None = None  # RLIMIT_STACK (None: inherited)
    result_bytes: int = 1 << 20
    file_size_bytes: int = 64 << 20
    workdir_bytes: int = 256 << 20  # size of the private working directory (tmpfs)
    open_files: int = 64
    kill_grace_s: float = 2.0

    @property
    def max_tasks(self) -> int:
        return 8 * self.cpus + 16

    def wire(self) -> dict[str, Any]:
        cpu = self.cpu_s if self.cpu_s is not None else self.wall_s * self.cpus
        return {
            "cpu_s": cpu,
            "cpus": self.cpus,
            "memory_bytes": self.memory_bytes,
            "file_size_bytes": self.file_size_bytes,
            "open_files": self.open_files,
            "workdir_bytes": self.workdir_bytes,
            "stack_bytes": self.stack_bytes,
            "max_tasks": self.max_tasks,
        }


@dataclasses.dataclass
class SandboxResult:
    """What happened to one run. ``status`` is one of: ok, timeout, output_limit, result_too_large,
    memory (the run's cgroup memory limit killed a process), crashed (died from a signal or a
    non-zero exit), no_result, channel_broken, setup_error."""

    status: str
    result: bytes | None
    stdout: str
    stderr: str
    exitcode: int | None
    wall_s: float
    cpu_s: float | None
    isolation: dict[str, Any]
    maxrss_kb: int | None = None  # peak RSS of the largest process (includes the pre-exec Python)
    mem_peak_bytes: int | None = None  # peak memory of the whole run from its cgroup, when there is one
    run_wall_s: float | None = None  # wall time measured by the monitor around the child alone
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)  # `collect`ed from the workdir
    stdout_bytes: bytes = b""  # stdout as bytes (what a scorer must judge; `stdout` is decoded)
    timeout_kind: str | None = None  # "wall" or "cpu"
    detail: str = ""  # for a wall timeout: the signal that ended it (SIGTERM/SIGKILL)


class SandboxError(RuntimeError):
    """The sandbox itself could not run (a verifier misconfiguration, not the submitter's fault)."""


def sandbox_path() -> str:
    """PATH inside the sandbox: the interpreter's own bin folder first, so tools installed beside it (ninja
    for torch's load_inline, in a GPU image whose Python lives in /opt/torch/.venv) are found as they are
    outside the sandbox; then the system folders."""
    return ":".join(dict.fromkeys([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]))


def _scrubbed_env(cpus: int) -> dict[str, str]:
    env = {
        "PATH": sandbox_path(),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": "/sandbox",
        "TMPDIR": "/sandbox",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
    }
    for var in _THREAD_VARS:
        env[var] = str(cpus)
    for var in _PASS_ENV:
        if var in os.environ:
            env[var] = os.environ[var]
    return env


class _Server:
    """One fork server per parent process (restarted if it dies)."""

    def __init__(self, preload: tuple[str, ...], pass_env: tuple[str, ...] = ()) -> None:
        self.preload = preload
        self.pass_env = pass_env  # e.g. LD_LIBRARY_PATH for a GPU worker (read at process start)
        self.owner = os.getpid()  # a forked copy of the parent must not use or kill our server
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None

    def _start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = _scrubbed_env(1)
        env["HOME"] = "/nonexistent"
        env.pop("TMPDIR")
        pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = pkg_root  # the server imports the harness from this checkout
        for var in self.pass_env:
            if var in os.environ:
                env[var] = os.environ[var]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "verifiers.sandbox._server", str(child.fileno()), ",".join(self.preload)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=None,
            pass_fds=(child.fileno(),),
            env=env,
            cwd="/",
            close_fds=True,
            start_new_session=True,
        )
        child.close()
        parent.settimeout(_STARTUP_TIMEOUT_S)
        try:
            hello = parent.recv(256)
        except (TimeoutError, OSError) as e:
            self.proc.kill()
            raise SandboxError(f"the sandbox server did not start: {e}") from None
        if b"ready" not in hello:
            self.proc.kill()
            raise SandboxError("the sandbox server did not start (see its error output above)")
        parent.settimeout(None)
        self.sock = parent

    def submit(self, req: dict[str, Any], fds: list[int]) -> None:
        with self.lock:
            for attempt in range(2):
                if self.proc is None or self.proc.poll() is not None:
                    self._start()
                assert self.sock is not None  # set by _start, together with proc
                try:
                    socket.send_fds(self.sock, [json.dumps(req).encode()], fds)
                    return
                except OSError:
                    self.proc = None
                    if attempt:
                        raise SandboxError("could not reach the sandbox server") from None

    def close(self) -> None:
        if os.getpid() != self.owner:
            return
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    assert self.proc.stdin is not None  # started with stdin=PIPE
                    self.proc.stdin.close()
                    self.proc.wait(timeout=5)
                except Exception:  # noqa: BLE001
                    self.proc.kill()
            self.proc = None


_server: _Server | None = None
_server_lock = threading.Lock()


_extra_servers: dict[tuple[tuple[str, ...], tuple[str, ...]], _Server] = {}


def _get_server(preload: tuple[str, ...] = DEFAULT_PRELOAD, pass_env: tuple[str, ...] = ()) -> _Server:
    """The fork server for this preload set (one per parent process and set; the default one is shared)."""
    global _server
    with _server_lock:
        if preload == DEFAULT_PRELOAD and not pass_env:
            if _server is None or _server.owner != os.getpid():
                _server = _Server(DEFAULT_PRELOAD)
                atexit.register(_server.close)
            return _server
        srv = _extra_servers.get((preload, pass_env))
        if srv is None or srv.owner != os.getpid():
            srv = _extra_servers[(preload, pass_env)] = _Server(preload, pass_env)
            atexit.register(srv.close)
        return srv


def _forget_server_in_child() -> None:
    global _server, _server_lock
    _server = None  # the child starts its own server on first use
    _extra_servers.clear()
    _server_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_server_in_child)


def warm_up() -> None:
    """Start the fork server now (it is otherwise started on first use)."""
    srv = _get_server()
    with srv.lock:
        if srv.proc is None or srv.proc.poll() is not None:
            srv._start()


_cpu_counter = 0


def _pick_cpus(n: int) -> list[int]:
    global _cpu_counter
    avail = sorted(os.sched_getaffinity(0))
    if n >= len(avail):
        return avail
    start = _cpu_counter % len(avail)
    _cpu_counter += n
    return [avail[(start + i) % len(avail)] for i in range(n)]


def _kill(pid: int | None, sig: int) -> None:
    if not pid:
        return
    for fn in (os.killpg, os.kill):
        try:
            fn(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class _Tail:
    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.buf = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self.buf += data
        if len(self.buf) > 2 * self.keep:
            del self.buf[: len(self.buf) - self.keep]

    def text(self) -> str:
        return self.raw().decode("utf-8", errors="replace")

    def raw(self) -> bytes:
        return bytes(self.buf[-self.keep :])


def run(
    *,
    mode: str = "python",
    files: dict[str, bytes],
    limits: Limits,
    config: dict[str, Any] | None = None,
    argv: list[str] | None = None,
    extra_ro: list[str] | None = None,
    force_userns: bool = False,
    stdin_file: str | None = None,
    executables: tuple[str, ...] = (),
    bind_workdir: bool = False,
    collect: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    cpu_set: list[int] | None = None,
    extra_fds: tuple[int, ...] = (),
    gpu: bool = False,
    preload: tuple[str, ...] | None = None,
    server_env: tuple[str, ...] = (),
    no_cgroup: bool = False,
    cpu_info: bool = False,
) -> SandboxResult:
    """Run one submission in a fresh confined child and supervise it.

    ``files`` are written into the private working directory (``program.py``, ``parent.json``, …;
    read-only for the child). ``mode="python"`` runs ``_harness.run_program(config)``;
    ``mode="exec"`` executes ``argv`` (process creation then follows the ``cpus`` rule).
    ``force_userns`` (tests) makes a root parent confine the child the way it is confined for a
    user who is not root: a user namespace instead of a uid switch.

    For compiled programs: ``stdin_file`` names one of ``files`` that becomes the child's standard
    input (opened read-only; it is not placed in the working directory); ``executables`` are made
    executable; ``bind_workdir`` binds the staged directory itself instead of a private tmpfs, so
    that files the child writes (a compiler's binary) can be read back with ``collect``; ``env``
    replaces the default scrubbed environment; ``cpu_set`` pins the child to these cores.

    For a GPU worker (verifiers.kernels): ``extra_fds`` (at most 8) become the child's fds 5, 6, … in
    order (control pipes, shared memory); ``gpu`` makes the NVIDIA device nodes, the host's /proc
    and a read-only /sys visible in its root. Without a cgroup and with the address-space limit off
    (``address_space: False`` in the limits, as CUDA needs), the monitor samples the run's resident
    memory and kills it over ``memory_bytes``; ``no_cgroup`` (tests) skips the cgroup to get there.
    ``cpu_info`` (the kernels' CPU dev mode) shows /proc/cpuinfo and /sys/devices/system/cpu read-only,
    which PyTorch needs for any half-precision op on the CPU. ``preload`` picks a fork server that imported these
    modules (e.g. torch, whose import costs seconds) and ``server_env`` names variables that server keeps (e.g.
    LD_LIBRARY_PATH, which the loader reads only at process start). None of these changes anything for
    callers that do not pass them.
    """
    workdir = tempfile.mkdtemp(prefix="tttd-run-")
    # A private uid per run, from a range wide enough that concurrent runs practically never share one.
    uid = UID_BASE + secrets.randbelow(UID_SPAN) if os.geteuid() == 0 else None
    try:
        for name, data in files.items():
            if "/" in name or name.startswith("."):
                raise SandboxError(f"bad sandbox file name {name!r}")
            path = os.path.join(workdir, name)
            with open(path, "wb") as fh:
                fh.write(data)
            os.chmod(path, 0o555 if name in executables else 0o444)
        if uid is not None:
            # root-owned, group = the sandbox's private gid, sticky: the program may create files
            # here but cannot replace or delete parent.json (owned by root, read-only).
            os.chown(workdir, 0, uid)
            os.chmod(workdir, 0o1770)
        else:
            os.chmod(workdir, 0o700)
        if stdin_file is not None and stdin_file not in files:
            raise SandboxError(f"stdin_file {stdin_file!r} is not one of the files")
        req = {
            "mode": mode,
            "workdir": workdir,
            "uid": uid,
            "limits": limits.wire(),
            "config": config or {},
            "argv": argv or [],
            "env": dict(env) if env is not None else _scrubbed_env(limits.cpus),
            "cpu_set": list(cpu_set) if cpu_set else _pick_cpus(limits.cpus),
            "extra_ro": extra_ro or [],
            "stdin_file": stdin_file,
            "bind_workdir": bool(bind_workdir),
            "allow_exec": mode == "exec",
            "force_userns": bool(force_userns and uid is not None),
            "allow_degraded": os.environ.get("TTTD_SANDBOX_ALLOW_DEGRADED") == "1",
            "no_cgroup": bool(no_cgroup),
            "cpu_info": bool(cpu_info),
        }
        if extra_fds or gpu:
            if len(extra_fds) > 8:
                raise SandboxError("at most 8 extra file descriptors")
            req["n_extra_fds"], req["gpu"] = len(extra_fds), bool(gpu)
        res = _supervise(
            req, limits, tuple(extra_fds), (tuple(preload) if preload else DEFAULT_PRELOAD, tuple(server_env))
        )
        for name in collect:
            path = os.path.join(workdir, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as fh:
                    res.files[name] = fh.read(limits.file_size_bytes + 1)
        return res
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _supervise(
    req: dict[str, Any],
    limits: Limits,
    extra_fds: tuple[int, ...] = (),
    server: tuple[tuple[str, ...], tuple[str, ...]] = (DEFAULT_PRELOAD, ()),
) -> SandboxResult:
    pipes = [os.pipe() for _ in range(4)]  # stdout, stderr, result, status
    read_ends = [r for r, _ in pipes]
    write_ends = [w for _, w in pipes]
    for r in read_ends:
        os.set_blocking(r, False)
    t0 = time.monotonic()
    try:
        _get_server(*server).submit(req, write_ends + list(extra_fds))
    finally:
        for w in write_ends:
            os.close(w)
    out = _Tail(limits.keep_stdout_bytes if limits.keep_stdout_bytes is not None else limits.keep_output_bytes)
    err = _Tail(limits.keep_output_bytes)
    result = bytearray()
    status_buf = bytearray()
    pid: int | None = None
    exit_info: dict[str, Any] | None = None
    exit_seen = 0.0  # when the "exit" status line arrived (set together with exit_info)
    iso: dict[str, Any] = {}
    setup_error = None
    open_fds = {read_ends[0]: "out", read_ends[1]: "err", read_ends[2]: "res", read_ends[3]: "status"}
    deadline = t0 + limits.wall_s
    killed_at: float | None = None
    verdict: str | None = None
    escalated = False
    detail = ""
    try:
        while open_fds:
            now = time.monotonic()
            if killed_at is None and now >= deadline:
                verdict, detail = "timeout", "wall"
                killed_at = now
                _kill(pid, signal.SIGTERM)
            if killed_at is not None and now >= killed_at + limits.kill_grace_s:
                if exit_info is None and verdict == "timeout":
                    escalated = True  # it outlived SIGTERM by the whole grace period
                _kill(pid, signal.SIGKILL)
                if exit_info is not None or now >= killed_at + limits.kill_grace_s + 10:
                    break
            if exit_info is not None and set(open_fds.values()) - {"status"} and now > exit_seen + 1.0:
                break  # the child is gone; stray writers are ignored
            wait = (killed_at + limits.kill_grace_s - now) if killed_at else (deadline - now)
            ready, _, _ = select.select(list(open_fds), [], [], max(0.0, min(wait, 0.5)))
            for fd in ready:
                kind = open_fds.get(fd)
                if kind is None:  # closed earlier in this same round (caps)
                    continue
                want = 1 << 16
                if kind == "res":  # never read more than cap + 1 bytes of the result
                    want = min(want, limits.result_bytes + 1 - len(result))
                try:
                    data = os.read(fd, want)
                except BlockingIOError:
                    continue
                if not data:
                    del open_fds[fd]
                    continue
                if kind in ("out", "err"):
                    (out if kind == "out" else err).add(data)
                    counted = out.total + (err.total if limits.stderr_counts else 0)
                    if counted > limits.output_bytes and killed_at is None:
                        verdict = "output_limit"
                        killed_at = time.monotonic()
                        _kill(pid, signal.SIGKILL)
                        for f in [f for f, k in open_fds.items() if k in ("out", "err")]:
                            del open_fds[f]
                elif kind == "res":
                    result += data
                    if len(result) > limits.result_bytes and killed_at is None:
                        verdict = "result_too_large"
                        killed_at = time.monotonic()
                        _kill(pid, signal.SIGKILL)
                        del open_fds[fd]
                else:
                    status_buf += data
                    while b"\n" in status_buf:
                        line, _, rest = bytes(status_buf).partition(b"\n")
                        status_buf = bytearray(rest)
                        tag, _, payload = line.decode().partition(" ")
                        value = json.loads(payload)
                        if tag == "pid":
                            pid = int(value)
                            if killed_at is not None:
                                _kill(pid, signal.SIGKILL)
                        elif tag == "iso":
                            iso = value
                        elif tag == "setup-error":
                            setup_error = str(value)
                        elif tag == "exit":
                            exit_info = value
                            exit_seen = time.monotonic()
    finally:
        if exit_info is None:
            _kill(pid, signal.SIGKILL)
        for fd in read_ends:
            try:
                os.close(fd)
            except OSError:
                pass
    wall = time.monotonic() - t0
    exitcode = exit_info.get("exitcode") if exit_info else None
    cpu = exit_info.get("cpu_s") if exit_info else None
    res = SandboxResult(
        status="ok",
        result=bytes(result[: limits.result_bytes + 1]),
        stdout=out.text(),
        stderr=err.text(),
        exitcode=exitcode,
        wall_s=wall,
        cpu_s=cpu,
        isolation=iso,
        detail=detail,
        maxrss_kb=exit_info.get("maxrss_kb") if exit_info else None,
        run_wall_s=exit_info.get("wall_s") if exit_info else None,
        mem_peak_bytes=exit_info.get("mem_peak_bytes") if exit_info else None,
    )
    res.stdout_bytes = out.raw()
    if setup_error is not None:
        res.status, res.detail = "setup_error", setup_error
    elif verdict in ("output_limit", "result_too_large"):
        res.status = verdict
    elif verdict == "timeout":
        res.status, res.timeout_kind = "timeout", "wall"
        res.detail = "SIGKILL" if escalated else "SIGTERM"
    elif exit_info and exit_info.get("oom_kills"):
        res.status, res.detail = "memory", f"{exit_info['oom_kills']} process(es) killed by the run's memory limit"
    elif (
        exitcode is not None
        and exitcode in (-signal.SIGXCPU,)
        or (exitcode == -signal.SIGKILL and cpu is not None and cpu >= limits.wire()["cpu_s"] - 0.05)
    ):
        res.status, res.timeout_kind = "timeout", "cpu"
    elif exitcode is None:
        res.status, res.detail = "crashed", "the sandbox monitor did not report an exit status"
    elif exitcode == 86:
        res.status = "channel_broken"
    elif exitcode != 0:
        res.status = "crashed"
        res.detail = (
            f"killed by signal {signal.Signals(-exitcode).name}" if exitcode < 0 else f"exited with status {exitcode}"
        )
    elif not result and req["mode"] == "python":
        res.status = "no_result"
    return res
