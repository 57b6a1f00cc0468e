"""Why a CUDA program cannot start inside the sandbox (a diagnostic for GPU machines; not a test module).

Forks a child per configuration, applies the sandbox's confinement layers one by one (the same
functions the sandbox server uses), then initialises CUDA twice: libcuda's cuInit through ctypes,
and torch (imported before confinement, as the GPU worker's fork server preloads it). Prints one
line per configuration, so the layer that breaks CUDA is the first line that fails. Run as root:

    PYTHONPATH=. python3 tests/kernels/kern_gpu_diag.py [--bisect]

Measured on the lent H100 (Firecracker VM, driver 580.159): cuInit returned 304 under the sandbox's
former fresh read-only /proc and 0 with the host's /proc or a fresh writable one.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from verifiers.sandbox import _isolate, _linux

LIMITS = {
    "cpu_s": 120,
    "cpus": 4,
    "memory_bytes": 32 << 30,
    "file_size_bytes": 2 << 30,
    "open_files": 1024,
    "max_tasks": 512,
    "address_space": False,
}
UID = 1234567


def apply(step: str) -> None:
    if step == "unshare":
        _linux.unshare(_linux.CLONE_NEWNS | _linux.CLONE_NEWNET | _linux.CLONE_NEWIPC | _linux.CLONE_NEWUTS)
    elif step == "root":
        base = tempfile.mkdtemp(prefix="diag-root-")
        os.chmod(base, 0o711)
        work = tempfile.mkdtemp(prefix="diag-work-")
        extra = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d and os.path.isdir(d)]
        _isolate.build_root(base, work, extra, shm_bytes=64 << 20, owner_gid=UID, gpu=True)
    elif step.startswith("rootx:"):  # the sandbox root plus host paths bound whole, to find what is missing
        base = tempfile.mkdtemp(prefix="diag-root-")
        os.chmod(base, 0o711)
        work = tempfile.mkdtemp(prefix="diag-work-")
        extra = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d and os.path.isdir(d)]
        _isolate.build_root(base, work, extra, shm_bytes=64 << 20, owner_gid=UID, gpu=True, enter=False)
        _linux.mount(None, base, None, _linux.MS_REMOUNT | _linux.MS_NOSUID | _linux.MS_NODEV)
        for p in filter(None, step[6:].split(",")):
            if os.path.isdir(p):
                os.makedirs(base + p, exist_ok=True)
                _linux.mount(p, base + p, None, _linux.MS_BIND | _linux.MS_REC)
        os.chroot(base)
        os.chdir("/")
    elif step == "show":
        import stat

        print("  /dev:", sorted(os.listdir("/dev")), flush=True)
        for n in sorted(os.listdir("/dev")):
            if n.startswith("nvidia") and not os.path.isdir("/dev/" + n):
                st = os.stat("/dev/" + n)
                print(
                    "   ",
                    n,
                    oct(st.st_mode),
                    stat.S_ISCHR(st.st_mode),
                    os.major(st.st_rdev),
                    os.minor(st.st_rdev),
                    "open:",
                    _try_open("/dev/" + n),
                    flush=True,
                )
        print(
            "  /proc/driver/nvidia:",
            os.listdir("/proc/driver/nvidia") if os.path.isdir("/proc/driver/nvidia") else None,
            "/sys/bus/pci/devices:",
            len(os.listdir("/sys/bus/pci/devices")) if os.path.isdir("/sys/bus/pci/devices") else None,
            flush=True,
        )
    elif step.startswith("proc:"):  # mount another /proc over the sandbox's (after "root")
        kind = step[5:]
        ro = _linux.MS_RDONLY if kind.endswith("-ro") else 0
        if kind.startswith("fresh"):
            _linux.mount("proc", "/proc", "proc", _linux.MS_NOSUID | _linux.MS_NODEV | _linux.MS_NOEXEC | ro)
        else:
            raise ValueError(kind)
    elif step == "limits":
        _isolate.set_limits(LIMITS)
    elif step == "uid":
        _isolate.drop_privileges(UID)
    elif step == "landlock":  # after "root": the write rules of a GPU worker
        line = _isolate.restrict_writes({"gpu": True, "workdir": _isolate.SANDBOX_WORKDIR}, chrooted=True)
        if line.startswith("unavailable"):
            print("  landlock:", line, flush=True)
    elif step == "seccomp":
        _linux.install_filter(allow_processes=True)
    else:
        raise ValueError(step)


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError as e:
        return f"({e.strerror})"


def _try_open(path: str) -> str:
    try:
        os.close(os.open(path, os.O_RDWR))
        return "ok"
    except OSError as e:
        return f"{e.strerror}"


def probe(steps: list[str]) -> str:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out = []
        try:
            for s in steps:
                apply(s)
            try:
                lib = ctypes.CDLL("libcuda.so.1")
                out.append(f"cuInit={lib.cuInit(0)}")
            except OSError as e:
                out.append(f"dlopen libcuda: {e}")
            import torch

            try:
                x = torch.ones(4, device="cuda")
                out.append(f"torch ok count={torch.cuda.device_count()} sum={float(x.sum())}")
            except Exception as e:  # noqa: BLE001
                out.append(f"torch: {type(e).__name__}: {str(e)[:300]}")
        except BaseException as e:  # noqa: BLE001
            out.append(f"step failed: {type(e).__name__}: {e}")
        os.write(w, " | ".join(out).encode()[:4000])
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    return data.decode(errors="replace")


def main() -> int:
    import torch  # noqa: F401 - preloaded, as in the worker's fork server; CUDA stays uninitialised

    for cmd in (
        "ls -l /dev/ | grep -i nvidia",
        "ls -l /dev/nvidia-caps 2>/dev/null",
        "ldconfig -p | grep -i libcuda",
        "mount | grep -i -E 'nvidia|cgroup' | head",
        "id",
    ):
        print(
            "$", cmd, "\n", subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.rstrip(), flush=True
        )
    print(
        "LD_LIBRARY_PATH",
        os.environ.get("LD_LIBRARY_PATH"),
        "CUDA_VISIBLE_DEVICES",
        os.environ.get("CUDA_VISIBLE_DEVICES"),
        flush=True,
    )
    order = ["unshare", "root", "limits", "uid", "landlock", "seccomp"]
    configs = [order[:k] for k in range(len(order) + 1)]  # the sandbox's layers, cumulated
    configs += [
        ["limits"],
        ["uid"],
        ["seccomp"],
        ["unshare", "uid"],
        ["unshare", "root", "show"],
        ["unshare", "root", "proc:fresh-rw"],
        ["unshare", "root", "proc:fresh-ro"],
        ["unshare", "root", "landlock"],
    ]
    if "--bisect" in sys.argv:  # host directories bound over the sandbox root: all, all but one, one
        extras = ["/dev", "/proc", "/sys", "/etc", "/run", "/tmp", "/var", "/opt", "/root", "/home"]
        configs += [["unshare", "rootx:" + ",".join(extras)]]
        configs += [["unshare", "rootx:" + ",".join(x for x in extras if x != e)] for e in extras]
        configs += [["unshare", "rootx:" + e] for e in extras]
    from verifiers.sandbox._cgroup import RunCgroup, _own_paths

    own = _own_paths().get("", "/")
    print(
        "own cgroup",
        own,
        "controllers",
        _read(f"/sys/fs/cgroup{own}/cgroup.controllers"),
        "subtree_control",
        _read(f"/sys/fs/cgroup{own}/cgroup.subtree_control"),
        flush=True,
    )
    cg = RunCgroup("diag-probe", 1 << 30, 64)
    print("cgroup:", repr(cg.create()), flush=True)
    cg.remove()
    for steps in configs:
        print(f"{'+'.join(steps) or 'none':32s} {probe(steps)}", flush=True)
    from verifiers import sandbox
    from verifiers.kernels import links

    prog = b"def run():\n    import torch\n    return float(torch.ones(4, device='cuda').sum())\n"
    env = {"PATH": "/usr/bin:/bin", "HOME": "/sandbox", "CUDA_VISIBLE_DEVICES": "0"}
    if os.environ.get("LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    extra = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d and os.path.isdir(d)]
    lim = links._GpuLimits(wall_s=60, cpus=4, memory_bytes=32 << 30, open_files=1024, file_size_bytes=2 << 30)
    res = sandbox.run(
        mode="python",
        files={"program.py": prog},
        limits=lim,
        env=env,
        extra_ro=extra,
        config={"entry": "run", "kwargs": {}},
        gpu=True,
        preload=("numpy", "torch"),
        server_env=links._SERVER_ENV,
    )
    print(
        "full sandbox:",
        res.status,
        res.exitcode,
        (res.result or b"")[:600],
        res.stderr[-600:],
        res.isolation,
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
