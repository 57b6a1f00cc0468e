"""Placement of trainer, sampler and kernel evaluation (agents/placement.py), with stand-in GPU counts, and
how the executors and the vLLM backend carry it out (no GPU needed)."""

import concurrent.futures as cf
import sys
import types

import pytest

from agents.config import AgentConfig, ConfigError
from agents.placement import parse_devices, plan


def cfg(**kw):
    c = AgentConfig(env="ErdosMinOverlap-v0")
    for k, v in kw.items():
        setattr(c, k, v)
    return c.validate()


def test_device_lists_parse_like_torch_writes_them():
    assert parse_devices("cuda:0,cuda:2-3") == ("cuda:0", "cuda:2", "cuda:3")
    assert parse_devices("cuda") == ("cuda:0",) and parse_devices(" 4-5 ") == ("cuda:4", "cuda:5")
    assert parse_devices("cpu") == ("cpu",)
    for bad, words in [
        ("gpu0", "is not a device"),
        ("cuda:3-1", "runs backwards"),
        ("cuda:1,1", "names a GPU twice"),
        ("cpu,cuda:0", "cannot be mixed"),
        ("cpu:1", "without an index"),
    ]:
        with pytest.raises(ConfigError, match=words):
            parse_devices(bad, "sampler_devices")


def test_single_gpu_vllm_shares_and_sleeps_and_kernels_share_with_a_warning():
    p = plan(cfg(backend="vllm"), gpu_count=1, times_kernels=True)
    assert p.trainer == ("cuda:0",) and p.sampler == ("cuda:0",) and p.sleep_sampler and p.tensor_parallel == 1
    assert p.eval_gpus == (0,) and "also uses" in p.notes[0]
    assert "sleeps during updates" in p.describe()
    assert not plan(cfg(backend="vllm", vllm_sleep="off"), gpu_count=1).sleep_sampler


def test_an_eight_gpu_node():
    """Trainer on GPU 0, vLLM tensor-parallel over 1-6, kernels timed on GPU 7 (the free one, by default)."""
    p = plan(cfg(backend="vllm", device="cuda:0", sampler_devices="cuda:1-6"), gpu_count=8, times_kernels=True)
    assert p.trainer == ("cuda:0",) and p.sampler == tuple(f"cuda:{i}" for i in range(1, 7))
    assert p.tensor_parallel == 6 and not p.sleep_sampler and p.eval_gpus == (7,) and p.notes == ()
    p = plan(cfg(backend="vllm", sampler_devices="cuda:0-3", eval_gpus="4-7"), gpu_count=8, times_kernels=True)
    assert p.trainer == ("cuda:0",) and p.sleep_sampler and p.eval_gpus == (4, 5, 6, 7)
    assert plan(cfg(eval_gpus="cuda:1"), gpu_count=2).eval_gpus == ()  # not a kernel problem: noted, unused
    assert plan(cfg(), gpu_count=0, times_kernels=True) == plan(cfg(device="cpu"), gpu_count=0, times_kernels=True)
    assert plan(cfg(), gpu_count=0).trainer == ("cpu",)


def test_placement_errors_are_one_sentence():
    cases = [
        (dict(device="cuda:2"), 2, "asks for cuda:2, but this machine has only 2 GPUs"),
        (dict(device="cuda"), 0, "has no GPU"),
        (dict(trainer_devices="cpu,cuda:0"), 1, "cpu cannot be mixed with GPUs"),
        (dict(trainer_devices="cuda:0,cuda:0"), 1, "names a GPU twice"),
        (dict(backend="vllm", sampler_devices="cpu,cpu"), 0, "only trainer_devices repeats it"),
        (dict(backend="vllm", sampler_devices="cuda:0-8"), 8, "asks for cuda:8"),
        (dict(sampler_devices="cuda:1"), 2, "applies to --backend vllm"),
        (dict(backend="vllm", sampler_devices="cpu"), 1, "cannot share a process"),
        (dict(eval_gpus="cpu"), 1, "names GPUs"),
        (dict(trainer_parallel="fsdp"), 1, "name two or more in trainer_devices"),
        (dict(trainer_parallel="fsdp", trainer_devices="cuda:0"), 1, "name two or more in trainer_devices"),
    ]
    for kw, n, words in cases:
        with pytest.raises(ConfigError, match=words) as e:
            plan(cfg(**kw), gpu_count=n, times_kernels=True)
        assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="device must be auto, cpu, cuda or cuda:N"):
        cfg(device="gpu")
    with pytest.raises(ConfigError, match="vllm_gpu_memory_utilization must be in"):
        cfg(vllm_gpu_memory_utilization=1.5)
    with pytest.raises(ConfigError, match="trainer_parallel must be data or fsdp, not 'zero3'"):
        cfg(trainer_parallel="zero3")


def test_pool_workers_spread_over_the_evaluation_gpus():
    """Each worker of a pool takes the next number; an EnvSpec with gpus gives worker k the GPU k mod n."""
    from agents.executors import EnvSpec, LocalExecutor

    ex = LocalExecutor(EnvSpec("ErdosMinOverlap-v0"), workers=2)
    try:
        import time

        slots, deadline = set(), time.monotonic() + 60
        while slots != {0, 1} and time.monotonic() < deadline:  # the second worker may take a while to spawn
            slots |= {f.result() for f in [ex.pool.submit(_slow_slot) for _ in range(4)]}
        assert slots == {0, 1}
    finally:
        ex.close()
    with cf.ThreadPoolExecutor(3) as pool:
        got = [f.result() for f in [pool.submit(_slow_slot) for _ in range(3)]]
    assert len(set(got)) == 3 and max(got) - min(got) == 2  # three threads, three consecutive numbers


def _slow_slot():
    import time

    from agents.executors import worker_slot

    time.sleep(0.2)
    return worker_slot()


def test_env_spec_gives_each_worker_its_gpu(monkeypatch):
    import gymnasium as gym

    from agents import executors

    seen = []
    monkeypatch.setattr(gym, "make", lambda env_id, **kw: seen.append(kw.get("device_index")))
    spec = executors.EnvSpec("TriMul-H100-v0", {"mode": "cpu"}, gpus=(4, 5, 6))
    for slot in (0, 1, 2, 3):
        monkeypatch.setitem(executors._SLOT, "process", slot)
        spec.make()
    assert seen == [4, 5, 6, 4]
    assert executors.EnvSpec("X", {}).key() != spec.key()


def test_ray_tasks_request_their_resources():
    ray = pytest.importorskip("ray")
    import tempfile

    from agents.executors import EnvSpec, RayExecutor

    tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    ex = RayExecutor(EnvSpec("ErdosMinOverlap-v0"), task_cpus=1, num_cpus=2, _temp_dir=tmp)
    try:
        assert ex.resources == {"num_cpus": 1, "num_gpus": 0}

        @ray.remote(**ex.resources)
        def assigned():
            return ray.get_runtime_context().get_assigned_resources()

        assert ray.get(assigned.remote()) == {"CPU": 1.0}
        # A kernel problem's tasks ask for a GPU, and Ray shows each task only its own (device 0 in the task);
        # not submitted, as this cluster has no GPU to place them on.
        kernel = RayExecutor(EnvSpec("TriMul-H100-v0", gpus=(3, 4)))
        assert kernel.resources == {"num_cpus": 1.0, "num_gpus": 1} and kernel.spec.gpus == (0,)
    finally:
        ex.close()
    assert not ray.is_initialized()


class _FakeLLM:
    calls: list = []

    def __init__(self, **kw):
        import os

        _FakeLLM.calls.append(("init", kw, os.environ.get("CUDA_VISIBLE_DEVICES")))

    def sleep(self, level):
        _FakeLLM.calls.append(("sleep", level))

    def wake_up(self):
        _FakeLLM.calls.append(("wake",))


def test_vllm_engine_gets_its_settings_gpus_and_sleeps_around_updates(monkeypatch, tmp_path):
    """The engine is built with the config's settings, sees only its GPUs while it starts, and sleeps during
    every update when it shares a GPU with the trainer (a stand-in LLM records the calls; no GPU needed)."""
    from agents import vllm_policy

    fake = types.ModuleType("vllm")
    fake.LLM = _FakeLLM
    lora = types.ModuleType("vllm.lora.request")
    lora.LoRARequest = lambda name, i, path: types.SimpleNamespace(lora_path=path)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setitem(sys.modules, "vllm.lora", types.ModuleType("vllm.lora"))
    monkeypatch.setitem(sys.modules, "vllm.lora.request", lora)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,6,7")
    c = cfg(backend="vllm", sampler_devices="cuda:1-2", vllm_gpu_memory_utilization=0.6, vllm_max_model_len=32768)
    p = plan(c, gpu_count=4)
    kw = vllm_policy.engine_kwargs(c, p)
    assert kw == {
        "tensor_parallel_size": 2,
        "enable_prefix_caching": True,
        "gpu_memory_utilization": 0.6,
        "max_model_len": 32768,
    }

    class Trainer:
        device, tokenizer, version = "cuda:0", None, 0

        def save(self, directory, optimizer=True):  # the adapter a sampler loads
            pass

        def update(self, rollouts, advantages):
            _FakeLLM.calls.append(("train",))
            return {"train_tokens": 0}

    _FakeLLM.calls = []
    from agents.transformers_policy import PolicySettings

    pol = vllm_policy.VLLMPolicy(Trainer(), str(tmp_path), PolicySettings(), gpus=(1, 2), sleep=True, **kw)
    kind, got, visible = _FakeLLM.calls[0]
    assert visible == "5,6" and got["tensor_parallel_size"] == 2 and got["enable_sleep_mode"] is True
    assert got["gpu_memory_utilization"] == 0.6 and got["max_model_len"] == 32768 and pol.tensor_parallel == 2
    import os

    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3,5,6,7"  # restored for this process
    pol.update([], [])
    assert _FakeLLM.calls[1:] == [("sleep", 1), ("train",), ("wake",)]


def test_vllm_samples_every_group_in_one_generate_call(monkeypatch, tmp_path):
    """sample_batch sends all prompts in one generate call with one SamplingParams per prompt (its own seed
    and max_tokens), and turns each prompt's outputs into its group of rollouts."""
    from agents import vllm_policy
    from agents.transformers_policy import PolicySettings

    calls = []

    class LLM(_FakeLLM):
        def generate(self, prompts, params, lora_request=None, use_tqdm=True):
            calls.append((prompts, params))
            out = []
            for _p, sp in zip(prompts, params):
                comps = [
                    types.SimpleNamespace(
                        token_ids=[7, 8],
                        logprobs=[{7: types.SimpleNamespace(logprob=-0.5)}, {8: types.SimpleNamespace(logprob=-1.5)}],
                        finish_reason="stop",
                    )
                    for _ in range(sp["n"])
                ]
                out.append(types.SimpleNamespace(outputs=comps))
            return out

    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = LLM, (lambda **kw: kw)
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = lambda prompt_token_ids: tuple(prompt_token_ids)
    lora = types.ModuleType("vllm.lora.request")
    lora.LoRARequest = lambda name, i, path: types.SimpleNamespace(lora_path=path)
    for name, mod in [
        ("vllm", fake),
        ("vllm.inputs", inputs),
        ("vllm.lora", types.ModuleType("vllm.lora")),
        ("vllm.lora.request", lora),
    ]:
        monkeypatch.setitem(sys.modules, name, mod)

    class Trainer:
        device, version = "cpu", 0
        tokenizer = types.SimpleNamespace(decode=lambda ids, skip_special_tokens=True: "xy")

        def save(self, directory, optimizer=True):  # the adapter a sampler loads
            pass

        def fit_new_tokens(self, n_prompt, max_new=None):
            return 100 - n_prompt

    pol = vllm_policy.VLLMPolicy(Trainer(), str(tmp_path), PolicySettings(temperature=0.9))
    groups = pol.sample_batch([([1, 2, 3], 2, 11), ([4, 5], 3, 12)])
    assert len(calls) == 1
    prompts, params = calls[0]
    assert prompts == [(1, 2, 3), (4, 5)] and [p["seed"] for p in params] == [11, 12]
    assert [p["max_tokens"] for p in params] == [97, 98] and [p["n"] for p in params] == [2, 3]
    assert [len(g) for g in groups] == [2, 3] and groups[1][0].prompt_ids == [4, 5]
    assert groups[0][0].logprobs == [-0.5, -1.5] and groups[0][0].finished
    assert len(pol.sample([9], 4, 13)) == 4 and len(calls) == 2


def test_several_trainer_devices_train_data_parallel_and_rank_0_samples():
    p = plan(cfg(trainer_devices="cuda:0-3"), gpu_count=8, times_kernels=True)
    assert p.trainer == ("cuda:0", "cuda:1", "cuda:2", "cuda:3") and p.sampler == ("cuda:0",)
    assert p.eval_gpus == (4, 5, 6, 7)
    p = plan(cfg(trainer_devices="cpu,cpu"), gpu_count=0)
    assert p.trainer == ("cpu", "cpu") and p.sampler == ("cpu",)
    p = plan(cfg(backend="vllm", trainer_devices="cpu,cpu"), gpu_count=0)
    assert p.sampler == ("cpu",) and p.tensor_parallel == 1
    assert not p.shard and "fsdp" not in p.describe()
    p = plan(cfg(trainer_devices="cuda:0-7", trainer_parallel="fsdp", backend="vllm"), gpu_count=8)
    assert p.shard and p.trainer == tuple(f"cuda:{i}" for i in range(8)) and p.sleep_sampler
    assert p.describe().startswith("trainer cuda:0,cuda:1,cuda:2,cuda:3,cuda:4,cuda:5,cuda:6,cuda:7 (fsdp: ")
