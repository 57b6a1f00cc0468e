"""The sandbox fork server: a clean, pre-warmed Python that forks one confined child per request.

Started by :mod:`verifiers.sandbox.client` with a scrubbed environment; it holds no secrets, no
reference data and no verifier state. It imports numpy/scipy once so that each submission starts
in milliseconds. Per request it forks a *monitor* M, which forks the child C. C confines itself
(``_isolate.confine``) and then runs the program; M waits for C, sweeps up any process left under
C's private uid, and reports the exit status and CPU time. A child never runs two submissions.

Wire protocol (parent -> server, SOCK_SEQPACKET): one JSON request with four file descriptors
(stdout, stderr, result, status write ends). M and C report on the status pipe with single lines
(atomic writes): ``pid N``, ``iso {...}``, ``exit {...}``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any

from verifiers.sandbox import _harness, _isolate, _linux

STATUS_FD = 4


def _line(fd: int, tag: str, payload: object) -> None:
    try:
        os.write(fd, f"{tag} {json.dumps(payload, separators=(',', ':'))}\n".encode())
    except OSError:
        pass  # the supervisor went away; nothing to report to


def _child(req: dict[str, Any], fds: list[int], root_mountpoint: str) -> None:
    """Process C: confine, then run. Never returns."""
    try:
        os.setsid()
        _linux.set_pdeathsig(signal.SIGKILL)
        out_w, err_w, res_w, status_w = fds[:4]
        # Extra descriptors (GPU worker: control pipes, shared slots) land on fds 5, 6, … in order;
        # moved out of the way first so the dup2 calls below cannot clobber them.
        import fcntl

        extra = [fcntl.fcntl(fd, fcntl.F_DUPFD, 1000) for fd in fds[4:]]
        if req.get("stdin_file"):  # opened here, before confinement; the child never sees its path
            stdin = os.open(os.path.join(req["workdir"], req["stdin_file"]), os.O_RDONLY)
        else:
            stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(res_w, 3)
        os.dup2(status_w, STATUS_FD)
        for i, fd in enumerate(extra):
            os.dup2(fd, STATUS_FD + 1 + i, inheritable=False)
        os.closerange(STATUS_FD + 1 + len(extra), 1 << 16)
        for fd in (0, 1, 2, 3):
            os.set_inheritable(fd, True)
        os.environ.clear()
        os.environ.update(req["env"])
        # The preloaded modules may have asked tempfile for a directory already (the server's /tmp,
        # which the sandbox root does not have): make it look again, at the run's TMPDIR. Triton and
        # CuPy compile through tempfile (seen on an H100: FileNotFoundError '/tmp/tmp…').
        tempfile.tempdir = None
        cg = req.get("cgroup") or {}
        for d in cg.get("dirs", []):
            with open(os.path.join(d, "cgroup.procs"), "w") as fh:
                fh.write(str(os.getpid()))
        report = _isolate.confine(req, root_mountpoint)
        if cg.get("summary"):
            report["cgroup"] = cg["summary"]
            report["processes"] += f" + cgroup pids.max {req['limits']['max_tasks']}"
            report["memory"] = "whole run (cgroup)"
        elif req["limits"].get("address_space", True):
            report["memory"] = "per process (rlimit AS)"
        else:
            report["memory"] = (
                f"whole run, resident memory sampled every {_WATCH_S * 1e3:.0f} ms (no cgroup "
                "could be created; CUDA needs the address-space limit off)"
            )
        report["summary"] = _isolate.summary(report)
        _line(STATUS_FD, "iso", report)
        os.close(STATUS_FD)
    except BaseException as e:  # noqa: BLE001 - report the setup failure, never run unconfined
        try:
            _line(STATUS_FD, "setup-error", f"{type(e).__name__}: {e}")
        finally:
            os._exit(70)
    if req["mode"] == "exec":
        try:
            os.execve(req["argv"][0], req["argv"], req["env"])
        except OSError as e:
            os.write(2, f"exec failed: {e}\n".encode())
            os._exit(127)
    _harness.run_program(req["config"])
    os._exit(0)


def _sweep_uid(uid: int) -> None:
    """Kill every process still running under the child's private uid (daemons, double forks)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os._exit(0)
    os.waitpid(pid, 0)


def _reap_orphans(timeout_s: float = 2.0) -> None:
    """Wait (briefly) for every process that was reparented to us, so none is left a zombie."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


_WATCH_S = 0.02


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of every process below `root` (the monitor: the run's child and, as subreaper,
    any orphans of it), following /proc/PID/task/TID/children."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, stack, seen = 0, [root], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            if p != root:
                with open(f"/proc/{p}/statm") as fh:
                    total += int(fh.read().split()[1]) * page
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return total


def _monitor(req: dict[str, Any], fds: list[int], root_mountpoint: str) -> None:
    """Process M: fork C, wait, sweep, report. Never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    _linux.set_pdeathsig(signal.SIGKILL)
    _linux.set_child_subreaper()  # orphans of the run come back to us and are reaped here
    status_w = fds[3]
    cgroup = None
    processes_allowed = req["limits"]["cpus"] > 1 or req.get("allow_exec")
    if req.get("uid") and processes_allowed and os.geteuid() == 0 and not req.get("no_cgroup"):
        # Processes allowed: one memory and task budget for the whole run, not per process.
        from verifiers.sandbox._cgroup import RunCgroup

        cgroup = RunCgroup(f"tttd-run-{os.getpid()}", req["limits"]["memory_bytes"], req["limits"]["max_tasks"])
        req["cgroup"] = {"dirs": [], "summary": cgroup.create()}
        req["cgroup"]["dirs"] = cgroup.to_wire()
    t_fork = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(req, fds, root_mountpoint)
    for fd in fds[:3] + fds[4:]:
        os.close(fd)
    _line(status_w, "pid", pid)
    # No cgroup and no address-space limit (a CUDA worker on a host without delegable cgroups): the
    # only memory bound left is this one, the resident memory of the whole process tree, sampled.
    watch = not (req.get("cgroup") or {}).get("summary") and not req["limits"].get("address_space", True)
    limit, peak, killed = int(req["limits"]["memory_bytes"]), 0, 0
    while True:
        try:
            done, status, _ru = os.wait4(pid, os.WNOHANG if watch else 0)
        except ChildProcessError:
            status = 0
            break
        except InterruptedError:
            continue
        if done:
            break
        rss = _tree_rss_bytes(os.getpid())
        peak = max(peak, rss)
        if rss > limit and not killed:
            killed = 1
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(_WATCH_S)
    wall = time.monotonic() - t_fork
    uid = req.get("uid")
    if uid and processes_allowed:
        _sweep_uid(int(uid))
    _reap_orphans()
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    info: dict[str, float | None] = {
        "exitcode": os.waitstatus_to_exitcode(status),
        "cpu_s": ch.ru_utime + ch.ru_stime,
        "maxrss_kb": ch.ru_maxrss,
        "wall_s": wall,
    }
    if watch:
        info["oom_kills"], info["mem_peak_bytes"] = killed, peak or None
    if cgroup is not None:
        info["oom_kills"] = cgroup.oom_kills()
        info["mem_peak_bytes"] = cgroup.peak_bytes()
        cgroup.remove()
    _line(status_w, "exit", info)
    os._exit(0)


def serve(sock: socket.socket, preload: list[str]) -> None:
    for name in preload:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a missing optional library only costs speed
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped automatically
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    base = tempfile.mkdtemp(prefix="tttd-sandbox-root-")
    os.chmod(base, 0o711)  # children that switched uid before mounting must reach root/
    root_mountpoint = os.path.join(base, "root")
    os.mkdir(root_mountpoint, 0o755)
    try:
        sock.sendall(b'{"ready": true}')
        while True:
            readable, _, _ = select.select([sock, sys.stdin], [], [])
            if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1):
                return  # the parent went away
            if sock not in readable:
                continue
            try:
                msg, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 16)
            except OSError:
                return
            if not msg:
                return
            req = json.loads(msg)
            if len(fds) != 4 + int(req.get("n_extra_fds", 0)):
                for fd in fds:
                    os.close(fd)
                continue
            if not os.path.isdir(root_mountpoint):  # never run a child without its root
                os.makedirs(root_mountpoint, 0o755, exist_ok=True)
            pid = os.fork()
            if pid == 0:
                # The monitor must never unwind into this loop (and its cleanup): whatever happens, exit.
                try:
                    sock.close()
                    _monitor(req, fds, root_mountpoint)
                finally:
                    os._exit(70)
            for fd in fds:
                os.close(fd)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    fd = int(sys.argv[1])
    preload = [p for p in sys.argv[2].split(",") if p] if len(sys.argv) > 2 else []
    sock = socket.socket(fileno=fd)
    serve(sock, preload)


if __name__ == "__main__":
    main()
