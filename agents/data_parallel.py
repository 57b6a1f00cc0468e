"""Data-parallel training inside a run: ``trainer_devices = "cuda:0-3"`` trains the adapter on four GPUs.

This process is rank 0: it samples (or drives vLLM), evaluates and keeps the run, exactly as with one
trainer. ``world - 1`` helper processes, started here, each hold the same model and adapter on their own
device and wait for orders. For every update rank 0 sends the step's rollouts and advantages to all
ranks (``broadcast_object_list``); each rank computes the gradient of its share (every world-th
rollout, :meth:`TransformersPolicy.update`), the gradients are summed with ``all_reduce`` and every rank
takes the same Adam step. The result is the update one process would make from all the rollouts,
computed in parts (tested: two gloo processes against one, and a run against a one-process run).

The backend is NCCL on GPUs and gloo on the CPU (``trainer_devices = "cpu,cpu"`` is how the CPU tests
run it). A resumed run loads the checkpoint on every rank.

**Sharded** (``trainer_parallel = "fsdp"``), for a model that does not fit one trainer device: each rank
keeps 1/world of every decoder layer (FSDP2's ``fully_shard``,
:func:`agents.transformers_policy.shard_layers`) and a layer is gathered only while it computes, so
every forward pass needs all ranks. Rank 0 therefore sends every call that runs the model (sampling,
log-probs, saving, the adapter's state) to the helpers too, and they run it alongside; while sampling,
every rank follows the tokens rank 0 draws. The rollouts are still split across the ranks for the
update, and FSDP reduces the gradients. The model is loaded on the CPU of each process, then each
layer's shard moves to its device, so the device never holds the whole model (the host does, once per
process). Every rank builds the adapter from the same seed on the CPU, where that is deterministic.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

from agents.transformers_policy import PolicySettings, TransformersPolicy

# sharded: the calls that run the model, which every rank makes together
_LOCKSTEP = frozenset({"sample", "logprob_sums", "save", "adapter_state"})


def _backend(devices: tuple[str, ...]) -> str:
    return "gloo" if devices[0] == "cpu" else "nccl"


def _join(rank: int, world: int, init_file: str, backend: str, device: str) -> None:
    import torch
    import torch.distributed as dist

    if device.startswith("cuda"):
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=f"file://{init_file}", rank=rank, world_size=world)


def _same_start(policy: TransformersPolicy) -> None:
    """Every rank starts from rank 0's adapter (they are seeded alike; this makes sure)."""
    import torch.distributed as dist

    for p in policy.params:
        dist.broadcast(p.data, src=0)


def _helper(rank: int, world: int, init_file: str, backend: str, spec, settings: PolicySettings, device: str) -> None:
    """A helper rank: build the same policy, then follow rank 0's orders until it says stop."""
    import torch.distributed as dist

    settings = dataclasses.replace(settings, device=device)
    _join(rank, world, init_file, backend, device)
    try:
        policy = TransformersPolicy.from_spec(spec, settings)
        if not policy.sharded:
            _same_start(policy)
        while True:
            box: list[Any] = [None]
            dist.broadcast_object_list(box, src=0)
            order, args = box[0]
            if order == "update":
                policy.update(*args)
            elif order == "load":
                policy.load(Path(args))
            elif order == "call":
                name, a, kw = args
                getattr(policy, name)(*a, **kw)
            elif order == "stop":
                break
    finally:
        dist.destroy_process_group()


class DataParallelTrainer:
    """Rank 0's TransformersPolicy, with helper ranks that take part in every update. Everything but
    update, load and close is rank 0's policy (sampling, log-probs, saving, the tokenizer)."""

    def __init__(self, spec, settings: PolicySettings, devices: tuple[str, ...]) -> None:
        import torch.multiprocessing as mp

        self.devices = devices
        self.world = len(devices)
        self._dir = tempfile.mkdtemp(prefix="tttd-dp-")
        init_file = os.path.join(self._dir, "init")
        backend = _backend(devices)
        # the helpers start first: rank 0 joining the group waits for them
        self._procs = []
        ctx = mp.get_context("spawn")
        for rank in range(1, self.world):
            p = ctx.Process(
                target=_helper, args=(rank, self.world, init_file, backend, spec, settings, devices[rank]), daemon=True
            )
            p.start()
            self._procs.append(p)
        _join(0, self.world, init_file, backend, devices[0])
        self.policy = TransformersPolicy.from_spec(spec, dataclasses.replace(settings, device=devices[0]))
        if not self.policy.sharded:
            _same_start(self.policy)

    def __getattr__(self, name: str):
        attr = getattr(self.policy, name)
        if name not in _LOCKSTEP or not self.policy.sharded:
            return attr

        def together(*args, **kwargs):
            self._order("call", (name, args, kwargs))
            return attr(*args, **kwargs)

        return together

    def _order(self, order: str, args: Any) -> None:
        import torch.distributed as dist

        dist.broadcast_object_list([(order, args)], src=0)

    def update(self, rollouts, advantages) -> dict[str, float]:
        self._order("update", (list(rollouts), list(advantages)))
        return self.policy.update(rollouts, advantages)

    def load(self, directory: Path) -> None:
        self._order("load", str(directory))
        self.policy.load(directory)

    def close(self) -> None:
        import torch.distributed as dist

        if not dist.is_initialized():
            return
        self._order("stop", None)
        for p in self._procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
        dist.destroy_process_group()
