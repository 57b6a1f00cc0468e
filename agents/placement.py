"""Where each part of a run computes: the trainer, the sampler and, for kernel problems, evaluation.

Devices are written the way torch writes them, comma-separated, with ranges allowed:
``cpu``, ``cuda`` (= ``cuda:0``), ``cuda:3``, ``cuda:0,cuda:1``, ``cuda:4-7``. Three config fields:

* ``trainer_devices`` (default: ``device``): where transformers + peft trains the adapter. Several
  devices train in parallel, one process each (``cuda:0-3``; ``cpu,cpu`` for two CPU processes):
  data-parallel, or with ``trainer_parallel = "fsdp"`` with the decoder layers sharded over them
  (agents/data_parallel.py).
* ``sampler_devices`` (vLLM only; default: the trainer's): the GPUs vLLM shards the model over
  (tensor parallelism = their number). Sharing a GPU with the trainer makes vLLM sleep during every
  update, so its weights and KV cache give the memory back (``vllm_sleep = "auto"``).
* ``eval_gpus`` (kernel problems only): the GPUs kernel submissions are timed on, in turn. Default: the
  GPUs neither the trainer nor the sampler uses, or, if there are none, the last GPU with a warning
  in the plan: a kernel timed beside a running LLM is timed on a busy GPU.

``plan(cfg, gpu_count)`` resolves these against the number of visible GPUs (a plain integer, so the
logic is tested on the CPU with stand-in counts) and says what it decided in ``notes``.
"""

from __future__ import annotations

import dataclasses
import re

from agents.config import ConfigError

_ONE = re.compile(r"^(cpu|cuda)(?::(\d+)(?:-(\d+))?)?$")


def parse_devices(text: str, field: str = "devices") -> tuple[str, ...]:
    """``"cuda:0,cuda:2-3"`` → ``("cuda:0", "cuda:2", "cuda:3")``; a bare number means that CUDA device."""
    out: list[str] = []
    for raw in str(text).split(","):
        item = raw.strip().lower()
        if not item:
            continue
        if item.isdigit() or re.fullmatch(r"\d+-\d+", item):
            item = "cuda:" + item
        m = _ONE.match(item)
        if not m:
            raise ConfigError(
                f"{field}: {raw.strip()!r} is not a device; write cpu, cuda, cuda:N or cuda:N-M (comma-separated)"
            )
        kind, a, b = m.group(1), m.group(2), m.group(3)
        if kind == "cpu":
            if a is not None:
                raise ConfigError(f"{field}: write cpu without an index, not {raw.strip()!r}")
            out.append("cpu")
            continue
        lo = int(a) if a is not None else 0
        hi = int(b) if b is not None else lo
        if hi < lo:
            raise ConfigError(f"{field}: the range {raw.strip()!r} runs backwards; write cuda:{hi}-{lo}")
        out += [f"cuda:{i}" for i in range(lo, hi + 1)]
    gpus = [d for d in out if d != "cpu"]
    if len(set(gpus)) != len(gpus):
        raise ConfigError(f"{field}: {text!r} names a GPU twice; give each its own")
    if gpus and "cpu" in out:
        raise ConfigError(f"{field}: cpu cannot be mixed with GPUs ({text!r})")
    if len(out) > 1 and out[0] == "cpu" and field != "trainer_devices":
        raise ConfigError(f"{field}: cpu is one device; only trainer_devices repeats it (one process per rank)")
    return tuple(out)


def gpu_index(device: str) -> int | None:
    return int(device.split(":")[1]) if device.startswith("cuda:") else None


@dataclasses.dataclass(frozen=True)
class Plan:
    trainer: tuple[str, ...]
    sampler: tuple[str, ...]  # the trainer's device when the backend is transformers
    eval_gpus: tuple[int, ...]  # () unless the problem times kernels
    sleep_sampler: bool  # vLLM gives its memory back during each update (shares a GPU)
    notes: tuple[str, ...] = ()
    shard: bool = False  # the trainer ranks shard the decoder layers (FSDP) instead of each holding them

    @property
    def tensor_parallel(self) -> int:
        return max(1, len(self.sampler))

    def describe(self) -> str:
        parts = [
            f"trainer {','.join(self.trainer)}" + (" (fsdp: decoder layers sharded)" if self.shard else ""),
            f"sampler {','.join(self.sampler)}"
            + (f" (tensor parallel {self.tensor_parallel})" if self.tensor_parallel > 1 else "")
            + (", sleeps during updates" if self.sleep_sampler else ""),
        ]
        if self.eval_gpus:
            parts.append("kernel evaluation on GPU " + ",".join(map(str, self.eval_gpus)))
        return "; ".join(parts) + "".join(f". {n}" for n in self.notes)


def plan(cfg, gpu_count: int, *, times_kernels: bool = False) -> Plan:
    """Resolve the config's placement fields against ``gpu_count`` visible GPUs."""
    dev = cfg.device
    if dev == "auto":
        dev = "cuda:0" if gpu_count > 0 else "cpu"
    trainer = parse_devices(cfg.trainer_devices or dev, "trainer_devices" if cfg.trainer_devices else "device")
    notes: list[str] = []

    def check(devs: tuple[str, ...], field: str) -> None:
        for d in devs:
            i = gpu_index(d)
            if i is not None and i >= gpu_count:
                seen = (
                    f"only {gpu_count} GPU{'s' if gpu_count != 1 else ''} (cuda:0-{gpu_count - 1})"
                    if gpu_count
                    else "no GPU"
                )
                raise ConfigError(f"{field} asks for {d}, but this machine has {seen}")

    check(trainer, "trainer_devices")
    shard = cfg.trainer_parallel == "fsdp"
    if shard and len(trainer) < 2:
        raise ConfigError(
            "trainer_parallel=fsdp shards the model over several trainer devices; "
            "name two or more in trainer_devices (e.g. cuda:0-7)"
        )
    remote = cfg.backend == "vllm" and cfg.vllm_server not in ("", "start")
    if remote:
        if cfg.sampler_devices:
            raise ConfigError(
                "sampler_devices does not apply to a vLLM server given by URL (it runs where it was "
                "started); leave it empty or use vllm_server=start"
            )
        sampler: tuple[str, ...] = (cfg.vllm_server,)
    elif cfg.backend == "vllm":
        sampler = (
            parse_devices(cfg.sampler_devices, "sampler_devices")
            if cfg.sampler_devices
            else tuple(dict.fromkeys(trainer))
        )
        check(sampler, "sampler_devices")
        if "cpu" in sampler and "cpu" not in trainer:
            raise ConfigError(
                "sampler_devices is cpu while the trainer uses a GPU; vLLM's CPU build and a GPU trainer "
                "cannot share a process, so use GPUs for both or cpu for both"
            )
    else:
        if cfg.sampler_devices and parse_devices(cfg.sampler_devices, "sampler_devices") != trainer:
            raise ConfigError(
                "sampler_devices applies to --backend vllm; the transformers backend samples on the trainer's device"
            )
        sampler = trainer[:1]  # rank 0 samples
    shared = bool(set(trainer) & set(sampler)) and cfg.backend == "vllm" and "cpu" not in trainer
    sleep = cfg.vllm_sleep == "on" or (cfg.vllm_sleep == "auto" and shared)
    if remote and sleep:
        notes.append(
            "the vLLM server is asked to sleep during updates (it must run with VLLM_SERVER_DEV_MODE=1 "
            "and --enable-sleep-mode)"
        )
    evals: tuple[int, ...] = ()
    if cfg.eval_gpus:
        named = [gpu_index(d) for d in parse_devices(cfg.eval_gpus, "eval_gpus")]
        evals = tuple(i for i in named if i is not None)
        if len(evals) < len(named):
            raise ConfigError("eval_gpus names GPUs (cuda:N or N), not cpu")
        check(tuple(f"cuda:{i}" for i in evals), "eval_gpus")
        if not times_kernels:
            notes.append("eval_gpus is ignored: this problem does not time kernels")
            evals = ()
    elif times_kernels and gpu_count:
        used = {gpu_index(d) for d in trainer + (() if remote else sampler)}
        free = tuple(i for i in range(gpu_count) if i not in used)
        evals = free or (gpu_count - 1,)
        if not free:
            notes.append(
                f"kernels are timed on GPU {gpu_count - 1}, which the LLM also uses: timings are noisier "
                "(give the run a GPU of its own with eval_gpus)"
            )
    return Plan(trainer, sampler, evals, sleep, tuple(notes), shard)


def gpu_count() -> int:
    """Visible CUDA GPUs (0 without torch or CUDA)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0
