"""A control group per run (when the sandbox may create processes): one memory limit and one task
limit for the whole run, not per process. cgroup v1 (memory + pids controllers) and v2 are
supported where the verifier may create child groups; otherwise the run falls back to the
per-process rlimits and the isolation report says so."""

from __future__ import annotations

import os
import time

_ROOT = "/sys/fs/cgroup"


def _own_paths() -> dict[str, str]:
    """controller -> our cgroup path ('' key: the v2 unified path)."""
    out = {}
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(",") if controllers else [""]:
                    out[c] = path
    except OSError:
        pass
    return out


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _read_kv(path: str) -> dict[str, int]:
    try:
        with open(path) as fh:
            return {k: int(v) for k, v in (line.split() for line in fh if len(line.split()) == 2)}
    except (OSError, ValueError):
        return {}


class RunCgroup:
    def __init__(self, name: str, memory_bytes: int, max_tasks: int) -> None:
        self.name, self.memory_bytes, self.max_tasks = name, int(memory_bytes), int(max_tasks)
        self.dirs: list[str] = []
        self.kind = ""
        self.memory_dir = ""

    def create(self) -> str:
        """Create the group(s); returns a description for the isolation report ('' if unavailable)."""
        own = _own_paths()
        if os.path.exists(os.path.join(_ROOT, "cgroup.controllers")):
            return self._create_v2(own.get("", "/"))
        return self._create_v1(own)

    def _create_v1(self, own: dict[str, str]) -> str:
        try:
            mem = os.path.join(_ROOT, "memory", own.get("memory", "/").lstrip("/"), self.name)
            pids = os.path.join(_ROOT, "pids", own.get("pids", "/").lstrip("/"), self.name)
            os.mkdir(mem)
            self.dirs.append(mem)
            _write(os.path.join(mem, "memory.limit_in_bytes"), str(self.memory_bytes))
            os.mkdir(pids)
            self.dirs.append(pids)
            _write(os.path.join(pids, "pids.max"), str(self.max_tasks))
        except OSError:
            self.remove()
            return ""
        self.kind, self.memory_dir = "v1", mem
        return f"cgroup v1: memory {self.memory_bytes >> 20} MiB and {self.max_tasks} tasks for the whole run"

    def _create_v2(self, own: str) -> str:
        parent = os.path.join(_ROOT, own.lstrip("/"))
        # Best effort: delegate the controllers this group has to its children if nobody has. The
        # kernel refuses it while the group itself holds processes (cgroup v2's no-internal-process
        # rule), as on the lent H100 VM, where the run then has no memory limit and says so.
        for c in ("memory", "pids"):
            try:
                with open(os.path.join(parent, "cgroup.controllers")) as fh:
                    available = fh.read().split()
                with open(os.path.join(parent, "cgroup.subtree_control")) as fh:
                    enabled = fh.read().split()
                if c in available and c not in enabled:
                    _write(os.path.join(parent, "cgroup.subtree_control"), "+" + c)
            except OSError:
                pass
        try:
            d = os.path.join(parent, self.name)
            os.mkdir(d)
            self.dirs.append(d)
            _write(os.path.join(d, "memory.max"), str(self.memory_bytes))
            _write(os.path.join(d, "memory.swap.max"), "0") if os.path.exists(
                os.path.join(d, "memory.swap.max")
            ) else None
            _write(os.path.join(d, "pids.max"), str(self.max_tasks))
        except OSError:
            self.remove()
            return ""
        self.kind, self.memory_dir = "v2", d
        return f"cgroup v2: memory {self.memory_bytes >> 20} MiB and {self.max_tasks} tasks for the whole run"

    def join(self, pid: int) -> None:
        for d in self.dirs:
            _write(os.path.join(d, "cgroup.procs"), str(pid))

    def oom_kills(self) -> int:
        if self.kind == "v1":
            return _read_kv(os.path.join(self.memory_dir, "memory.oom_control")).get("oom_kill", 0)
        if self.kind == "v2":
            return _read_kv(os.path.join(self.memory_dir, "memory.events")).get("oom_kill", 0)
        return 0

    def peak_bytes(self) -> int | None:
        """Peak memory charged to the run (only pages touched after it joined the group)."""
        name = {"v1": "memory.max_usage_in_bytes", "v2": "memory.peak"}.get(self.kind)
        if not name:
            return None
        try:
            with open(os.path.join(self.memory_dir, name)) as fh:
                return int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def remove(self, timeout_s: float = 2.0) -> None:
        deadline = time.monotonic() + timeout_s
        for d in reversed(self.dirs):
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
        self.dirs = []

    def to_wire(self) -> list[str]:
        return list(self.dirs)
