"""Executors evaluate answers with the env's own verifier in worker processes (local pool, threads,
Ray), and the loop hands a group to the executor before it samples the next one (overlap)."""

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from agents.executors import EnvSpec, LocalExecutor, evaluate

REPO = Path(__file__).resolve().parents[2]
ERDOS = EnvSpec("ErdosMinOverlap-v0", {"budget_s": 2.0})


def erdos_start():
    import gymnasium as gym

    import tttd_envs  # noqa: F401

    env = gym.make("ErdosMinOverlap-v0", budget_s=2.0)
    _, info = env.reset(seed=0, options={"initial": "constant"})
    return info["state"].to_dict()


def answer():
    return "Here is my program:\n```python\n" + (REPO / "examples" / "erdos_pairs.py").read_text() + "```\n"


def independent_score(h):
    """M(h) + δ from the statement, in float64 (the verifier's exact value rounds outward: ≥ this − 1e-12)."""
    h = np.array(h, dtype=np.float64)
    n = len(h)
    return 2.0 / n * np.max(np.correlate(h, 1.0 - h, "full")) + abs(2 * h.sum() / n - 1)


def check(results, start):
    good, bad = results
    assert good["accepted"] and good["verdict"]["status"] == "accepted"
    child = good["state"]
    assert child["parent_id"] == start["id"] and child["lineage"] == [start["id"]]
    assert good["score"] == pytest.approx(independent_score(child["construction"]), abs=1e-9)
    assert good["reward"] == pytest.approx(1.0 / good["score"])  # the card's reciprocal transform
    assert child["value"] == -good["score"]
    assert not bad["accepted"] and bad["state"] is None and bad["reward"] == 0.0
    assert "construction" not in good["verdict"]["details"]  # kept once, in the state


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_local_executor_runs_the_verifier(kind):
    start = erdos_start()
    ex = LocalExecutor(ERDOS, workers=2, kind=kind)
    try:
        futs = [ex.submit(start, answer(), 1), ex.submit(start, "I cannot solve this.", 2)]
        check([f.result(timeout=120) for f in futs], start)
    finally:
        ex.close()


def test_evaluate_in_process_matches():
    start = erdos_start()
    check([evaluate(ERDOS, start, answer(), 1), evaluate(ERDOS, start, "```python\nimport os\n```", 2)], start)


@pytest.mark.slow
def test_ray_executor_runs_the_verifier(monkeypatch):
    ray = pytest.importorskip("ray")
    from agents.executors import RayExecutor

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a length limit
    start = erdos_start()
    ex = RayExecutor(ERDOS, num_cpus=1, _temp_dir=tmp)
    try:
        futs = [ex.submit(start, answer(), 1), ex.submit(start, "no code", 2)]
        check([f.result(timeout=180) for f in futs], start)
    finally:
        ex.close()
    assert not ray.is_initialized()


class _Recorder:
    """A policy and an executor that log the order of events (no model, no processes)."""

    def __init__(self):
        self.events = []
        self.version = 0

    def prompt_ids(self, prompt):
        return [1, 2, 3]

    def sample(self, ids, n, seed, max_new_tokens=None):
        from agents.transformers_policy import Rollout

        self.events.append("sample")
        rng = np.random.default_rng(seed)
        return [Rollout(ids, [4], [-0.1], "a" * int(rng.integers(0, 5)) + "b", True) for _ in range(n)]

    def update(self, rollouts, adv):
        self.events.append("update")
        return {"loss": 0.0, "train_tokens": 0, "rho_mean": 1.0, "train_s": 0.0}

    def save(self, d, optimizer=True):
        Path(d, "adapter_model.safetensors").write_bytes(b"")


def test_a_group_is_submitted_before_the_next_is_sampled(tmp_path, monkeypatch):
    import agent_envs

    from agents import executors, loop
    from agents.config import AgentConfig

    rec = _Recorder()
    real = executors.LocalExecutor.submit

    def submit(self, parent, text, seed):
        rec.events.append("submit")
        return real(self, parent, text, seed)

    monkeypatch.setattr(executors.LocalExecutor, "submit", submit)
    cfg = AgentConfig(
        env=agent_envs.ENV_ID, env_imports=["agent_envs"], steps=1, groups=3, group_size=2, executor="thread", workers=1
    )
    res = loop.Discovery(cfg, tmp_path, policy=rec).run()
    assert rec.events == ["sample", "submit", "submit"] * 3 + ["update"]
    assert res.metrics[0]["rollouts"] == 6 and os.path.isfile(tmp_path / "metrics.jsonl")


class _BatchRecorder(_Recorder):
    """A policy that samples every group of a step in one request, as the vLLM backend does."""

    def sample_batch(self, requests, max_new_tokens=None):
        self.events.append(f"batch of {len(requests)}")
        self.requests = requests
        out = []
        for ids, n, seed in requests:
            out.append(_Recorder.sample(self, ids, n, seed))
            self.events.pop()  # not a separate sampling call
        return out


def test_a_batching_policy_gets_one_request_per_step(tmp_path, monkeypatch):
    """With sample_batch, a step makes one sampling call for all its groups (the engine then batches
    groups × group_size sequences), each group keeping its own seed; every rollout is still evaluated."""
    import agent_envs

    from agents import executors, loop
    from agents.config import AgentConfig

    rec = _BatchRecorder()
    real = executors.LocalExecutor.submit

    def submit(self, parent, text, seed):
        rec.events.append("submit")
        return real(self, parent, text, seed)

    monkeypatch.setattr(executors.LocalExecutor, "submit", submit)
    cfg = AgentConfig(
        env=agent_envs.ENV_ID, env_imports=["agent_envs"], steps=2, groups=3, group_size=2, executor="thread", workers=1
    )
    res = loop.Discovery(cfg, tmp_path, policy=rec).run()
    assert rec.events == (["batch of 3"] + ["submit"] * 6 + ["update"]) * 2
    assert [n for _, n, _ in rec.requests] == [2, 2, 2] and len({s for _, _, s in rec.requests}) == 3
    assert [m["rollouts"] for m in res.metrics] == [6, 6]
