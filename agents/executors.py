"""Where rollouts are evaluated (docs/agent.md#one-step).

Every evaluation is ``env.reset(options={"state": parent}); env.step(answer)`` in a worker that made
its own env once; the env's verifier runs submitted code in the sandbox, so the worker itself only
orchestrates. Results come back as plain dicts (reward, accepted, score, verdict, child state).

- ``local`` (default): a process pool (spawned workers, so no torch state is forked).
- ``thread``: a thread pool in this process (for envs whose reward is cheap pure Python).
- ``ray``: Ray tasks on an existing cluster (``ray_address``) or a local one; imported lazily.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import importlib
import json
import os
import threading
from typing import Any

#: verdict details that can be large; the archive keeps the construction in the child state instead.
_DROP_DETAILS = ("construction",)


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """How a worker builds its env: a Gymnasium id, keyword arguments, modules to import first."""

    env_id: str
    kwargs: dict = dataclasses.field(default_factory=dict)
    imports: tuple = ()
    gpus: tuple = ()  # kernel problems: the GPUs workers time on, one per worker in turn (device_index)

    def make(self):
        import gymnasium as gym

        import tttd_envs  # noqa: F401  (registers the tttd ids)

        for mod in self.imports:
            importlib.import_module(mod)
        kwargs = dict(self.kwargs)
        if self.gpus:
            kwargs["device_index"] = self.gpus[worker_slot() % len(self.gpus)]
        return gym.make(self.env_id, **kwargs)

    def key(self) -> str:
        return json.dumps([self.env_id, self.kwargs, list(self.imports), list(self.gpus)], sort_keys=True, default=str)


#: this worker's number among its pool's workers (set by the pool initializer; threads count separately)
_SLOT: dict[str, int] = {}
_SLOT_LOCK = threading.Lock()
_THREAD = threading.local()


def worker_slot() -> int:
    """0, 1, 2, … per worker process of a pool (threads of a thread pool take the next free number), so
    that workers spread over ``EnvSpec.gpus`` instead of all timing on the first."""
    if "process" in _SLOT:
        return _SLOT["process"]
    if not hasattr(_THREAD, "slot"):
        with _SLOT_LOCK:
            _THREAD.slot = _SLOT.setdefault("threads", 0)
            _SLOT["threads"] += 1
    return _THREAD.slot


def _init_worker(ppid: int, counter) -> None:
    """Pool-worker initializer: take the next worker number, and exit with the parent (_die_with_parent)."""
    with counter.get_lock():
        _SLOT["process"] = counter.value
        counter.value += 1
    _die_with_parent(ppid)


#: one env per (spec, thread) in each worker process: envs are not thread-safe
_WORKER_ENV: dict[tuple[str, int], Any] = {}


def evaluate(spec: EnvSpec, parent: dict, answer: str, seed: int) -> dict[str, Any]:
    """One rollout's evaluation in this process (the worker entry point of every executor)."""
    key = (spec.key(), threading.get_ident())
    env = _WORKER_ENV.get(key)
    if env is None:
        env = _WORKER_ENV[key] = spec.make()
    env.reset(seed=int(seed), options={"state": parent})
    c0 = _cpu_clock()
    _, reward, _, _, info = env.step(answer)
    cpu_s = _cpu_clock() - c0
    verdict = info.get("verdict")
    vd = verdict.to_dict() if hasattr(verdict, "to_dict") else dict(verdict or {})
    details = {k: v for k, v in (vd.get("details") or {}).items() if k not in _DROP_DETAILS}
    vd["details"] = details
    state = info.get("state")
    sd = state.to_dict() if hasattr(state, "to_dict") else dict(state) if state is not None else None
    accepted = bool(info.get("accepted", vd.get("accepted", False)))
    return {
        "reward": float(reward),
        "accepted": accepted,
        "score": info.get("score"),
        "verdict": vd,
        "state": sd if accepted else None,
        "eval_cpu_s": cpu_s,
    }


def _cpu_clock() -> float:
    """CPU seconds of this evaluation's worker (``eval_cpu_s`` above; agents/cost.py): the whole process
    in a worker process of its own (local and Ray executors; a sandboxed child is not included, its CPU
    is in the Verdict), this thread only where evaluations share the agent's process (thread executor),
    so that the sampler's CPU time in that process is not counted as evaluation."""
    import time

    return time.process_time() if threading.current_thread() is threading.main_thread() else time.thread_time()


def _die_with_parent(ppid: int) -> None:
    """Pool-worker initializer: exit once the process that started the pool is gone. A `tttd discover`
    killed with SIGKILL (or by the OOM killer) cannot shut its pool down, and a spawned worker blocked
    on its call queue would otherwise live on forever (each also holding a verifier sandbox server)."""
    import time

    def watch() -> None:
        while os.getppid() == ppid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="tttd-parent-watch", daemon=True).start()


class LocalExecutor:
    """A pool of worker processes (or threads) each keeping one env per EnvSpec."""

    def __init__(self, spec: EnvSpec, workers: int = 0, kind: str = "process") -> None:
        import multiprocessing as mp

        self.spec = spec
        n = workers or os.cpu_count() or 1
        self.pool: cf.Executor
        if kind == "thread":
            self.pool = cf.ThreadPoolExecutor(max_workers=n)
        else:
            ctx = mp.get_context("spawn")
            self.pool = cf.ProcessPoolExecutor(
                max_workers=n, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(), ctx.Value("i", 0))
            )

    def submit(self, parent: dict, answer: str, seed: int) -> cf.Future:
        return self.pool.submit(evaluate, self.spec, parent, answer, seed)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """The same evaluations as Ray tasks. Connects to ``address`` (a running cluster, e.g. ``ray://head:10001``
    or ``auto``) or starts a local Ray when empty. Each task asks Ray for ``task_cpus`` CPUs and, for
    kernel problems (``spec.gpus``), one GPU: Ray then places it on a node with a free GPU and shows the
    task only that GPU, so the env times on its device 0."""

    def __init__(self, spec: EnvSpec, address: str = "", *, task_cpus: float = 1.0, **init_kwargs) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError("--executor ray needs Ray: pip install 'tttd[ray]'") from None
        self.ray = ray
        self.resources = {"num_cpus": task_cpus, "num_gpus": 1 if spec.gpus else 0}
        self.spec = dataclasses.replace(spec, gpus=(0,)) if spec.gpus else spec
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False, **init_kwargs)
        self._task = ray.remote(num_cpus=self.resources["num_cpus"], num_gpus=self.resources["num_gpus"])(evaluate)

    def submit(self, parent: dict, answer: str, seed: int) -> cf.Future:
        return self._task.remote(self.spec, parent, answer, seed).future()

    def close(self) -> None:
        if self._owns:
            self.ray.shutdown()


def make_executor(kind: str, spec: EnvSpec, *, workers: int = 0, ray_address: str = ""):
    if kind == "ray":
        return RayExecutor(spec, ray_address)
    return LocalExecutor(spec, workers, "thread" if kind == "thread" else "process")
