"""Worker processes that parse and score molecules with per-item time and memory limits
(docs/molecules.md#from-a-string-to-a-key).

Untrusted SMILES are parsed and scored in separate worker processes, never in the verifier's own
process. Each worker limits its address space (``RLIMIT_AS``, 2 GiB by default) and gets one item
at a time; the parent waits at most ``timeout_s`` per item (10 s by default), then SIGKILLs the
worker and starts a fresh one. Only strings (and small JSON-like tuples) go in, floats come out.

A job is ``("canon", smiles, max_heavy, max_features, elements)`` → key or rejection, or
``("score", objective_json, key)`` → float. Results are ``("ok", value)``, ``("timeout", None)``
or ``("error", message)``. ``n_workers=0`` runs everything inline (no limits): for benchmarks and
trusted data only.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MEMORY_BYTES = 2 << 30


class _Executor:
    """Runs jobs; lives in a worker process (or inline). Objectives are built once per spec."""

    def __init__(self) -> None:
        from rdkit import RDLogger

        RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]  # re-exported from rdBase; rdkit-stubs omit it
        self.scorers: dict[str, Any] = {}

    def __call__(self, job: tuple[Any, ...]) -> Any:
        from verifiers.molecules import pipeline

        kind = job[0]
        if kind == "canon":
            _, smiles, max_heavy, max_features, elements = job
            return pipeline.canonical_key(smiles, max_heavy, max_features, frozenset(elements))
        if kind == "score":
            _, spec, key = job
            fn = self.scorers.get(spec)
            if fn is None:
                fn = self.scorers[spec] = _build(json.loads(spec))
            return fn(key)
        raise ValueError(f"unknown job {kind!r}")


def _build(objective: dict[str, Any]) -> Callable[[str], Any]:
    """An objective; the test-only kind ``{"callable": "module:function"}`` names a scorer directly
    (it is only reachable from trusted code, never from an action)."""
    if "callable" in objective:
        import importlib

        module, _, name = objective["callable"].partition(":")
        scorer: Callable[[str], Any] = getattr(importlib.import_module(module), name)
        return scorer
    from verifiers.molecules import objectives

    return objectives.build(objective)


def _worker_main(conn: Connection, memory_bytes: int | None) -> None:
    if memory_bytes:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    run = _Executor()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            conn.send(("ok", run(job)))
        except MemoryError:
            conn.send(("error", f"the item exceeded the worker's {(memory_bytes or 0) >> 20} MiB memory limit"))
        except Exception as e:  # noqa: BLE001 - any failure is the item's error, the worker lives on
            conn.send(("error", f"{type(e).__name__}: {str(e)[:200]}"))


class _Worker:
    """One worker: ``python -m verifiers.molecules.workers FD MEMORY`` on one end of a socket pair.

    A plain subprocess rather than multiprocessing's spawn: spawn re-imports the parent's main
    script, which breaks (recursively) for scripts without an ``if __name__ == "__main__"`` guard.
    """

    def __init__(self, memory_bytes: int | None) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "verifiers.molecules.workers", str(child.fileno()), str(memory_bytes or 0)],
            pass_fds=(child.fileno(),),
            env=env,
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        child.close()
        self.conn = Connection(parent.detach())
        self.ready = False

    def wait_ready(self, timeout: float = 120.0) -> None:
        if not self.ready:
            if not self.conn.poll(timeout):
                raise RuntimeError("a molecule worker did not start (is RDKit installed?)")
            msg = self.conn.recv()
            if msg[0] != "ready":
                raise RuntimeError(f"a molecule worker failed to start: {msg}")
            self.ready = True

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(5)
        except Exception:  # noqa: BLE001
            pass
        self.conn.close()


class WorkerPool:
    """A fixed number of worker processes; :meth:`run` returns one result per job, in job order."""

    def __init__(
        self, n_workers: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S, memory_bytes: int | None = DEFAULT_MEMORY_BYTES
    ) -> None:
        self.n_workers = int(n_workers)
        self.timeout_s = float(timeout_s)
        self.memory_bytes = memory_bytes
        self._workers: list[_Worker] = []
        self._inline: _Executor | None = None
        self._lock = threading.Lock()
        self.restarts = 0

    def _ensure(self) -> None:
        while len(self._workers) < self.n_workers:
            self._workers.append(_Worker(self.memory_bytes))
        for w in self._workers:
            w.wait_ready()

    def run(self, jobs: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
        if not jobs:
            return []
        with self._lock:
            if self.n_workers == 0:
                return self._run_inline(jobs)
            self._ensure()
            return self._run_pool(jobs)

    def _run_inline(self, jobs: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
        if self._inline is None:
            self._inline = _Executor()
        out = []
        for job in jobs:
            try:
                out.append(("ok", self._inline(job)))
            except Exception as e:  # noqa: BLE001
                out.append(("error", f"{type(e).__name__}: {str(e)[:200]}"))
        return out

    def _run_pool(self, jobs: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
        results: list[tuple[str, Any] | None] = [None] * len(jobs)
        pending = list(range(len(jobs)))[::-1]
        busy: dict[int, tuple[int, float]] = {}  # worker slot -> (job index, deadline)
        while pending or busy:
            for slot, w in enumerate(self._workers):
                if slot not in busy and pending:
                    i = pending.pop()
                    try:
                        w.conn.send(jobs[i])
                        busy[slot] = (i, time.monotonic() + self.timeout_s)
                    except (OSError, BrokenPipeError):
                        results[i] = ("error", "the molecule worker died")
                        self._replace(slot)
            if not busy:
                continue
            deadline = min(d for _, d in busy.values())
            ready = wait([self._workers[s].conn for s in busy], timeout=max(0.0, deadline - time.monotonic()))
            for slot in list(busy):
                i, dl = busy[slot]
                w = self._workers[slot]
                if w.conn in ready:
                    try:
                        results[i] = w.conn.recv()
                    except (EOFError, OSError):
                        results[i] = ("error", "the molecule worker died (crash or memory limit)")
                        self._replace(slot)
                    del busy[slot]
                elif time.monotonic() >= dl:
                    results[i] = ("timeout", None)
                    self._replace(slot)
                    del busy[slot]
        return results  # type: ignore[return-value]

    def _replace(self, slot: int) -> None:
        self._workers[slot].kill()
        self.restarts += 1
        self._workers[slot] = _Worker(self.memory_bytes)
        self._workers[slot].wait_ready()

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers]

    def close(self) -> None:
        for w in self._workers:
            try:
                w.conn.send(None)
            except Exception:  # noqa: BLE001
                pass
            w.kill()
        self._workers = []


_shared: dict[tuple[int, float, int | None], WorkerPool] = {}
_shared_owner = os.getpid()


def shared_pool(
    n_workers: int = 1, timeout_s: float = DEFAULT_TIMEOUT_S, memory_bytes: int | None = DEFAULT_MEMORY_BYTES
) -> WorkerPool:
    """One pool per configuration and process, shared by every env and verifier (workers are costly
    to start: each imports RDKit)."""
    global _shared_owner
    if _shared_owner != os.getpid():  # a forked child must not reuse its parent's workers
        _shared.clear()
        _shared_owner = os.getpid()
    key = (int(n_workers), float(timeout_s), memory_bytes)
    if key not in _shared:
        _shared[key] = WorkerPool(*key)
    return _shared[key]


def default_workers() -> int:
    """One worker per available core, at most 4 (override with TTTD_MOL_WORKERS)."""
    env = os.environ.get("TTTD_MOL_WORKERS")
    if env:
        return max(0, int(env))
    return max(1, min(4, len(os.sched_getaffinity(0))))


@atexit.register
def _close_shared() -> None:
    if _shared_owner == os.getpid():
        for pool in _shared.values():
            pool.close()


if __name__ == "__main__":
    _worker_main(Connection(int(sys.argv[1])), int(sys.argv[2]) or None)
