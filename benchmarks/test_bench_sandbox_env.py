"""Sandbox overhead, verifier paths on the largest published constructions, env.step end to end.

Run: .venv/bin/pytest benchmarks --benchmark-only
"""

import json
from pathlib import Path

import gymnasium as gym
import pytest

import tttd_envs  # noqa: F401
from verifiers import get_verifier, sandbox

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "math"
EMPTY = b"def run(budget_s, seed):\n    return [0.5]\n"
CONFIG = {"entry": "run", "kwargs": {"budget_s": 1.0, "seed": 0}, "convert": {"kind": "sequence", "n_max": 10}}


def test_sandbox_empty_program(benchmark):
    sandbox.warm_up()
    limits = sandbox.Limits(wall_s=10)
    res = benchmark(
        lambda: sandbox.run(files={"program.py": EMPTY, "parent.json": b"{}"}, limits=limits, config=CONFIG)
    )
    assert res.status == "ok"


def test_verify_empty_program_end_to_end(benchmark):
    v = get_verifier("erdos_min_overlap", budget_s=5)
    v.verify(EMPTY.decode())
    verdict = benchmark(lambda: v.verify(EMPTY.decode()))
    assert verdict.accepted


LARGEST = {
    "erdos_min_overlap": "erdos_ttt_discover2026.json",
    "autocorrelation_ac1": "ac1_ttt_discover2026.json",
    "autocorrelation_ac2": "ac2_ttt_discover2026.json",
    "circle_packing": "cp32_alphaevolve2025.json",
}


def _data(name):
    p = DATA / name
    if not p.is_file():
        pytest.skip("published data not available")
    return p.read_text()


@pytest.mark.parametrize("verifier", sorted(LARGEST))
def test_verifier_exact_path(benchmark, verifier):
    text = _data(LARGEST[verifier])
    v = get_verifier(verifier, **({"n": 32} if verifier == "circle_packing" else {}))
    verdict = benchmark.pedantic(lambda: v.verify(text), rounds=3, iterations=1)
    assert verdict.accepted


@pytest.mark.parametrize("verifier", ["erdos_min_overlap", "autocorrelation_ac1", "autocorrelation_ac2"])
def test_verifier_float_path(benchmark, verifier):
    from verifiers.math import exact

    construction = json.loads(_data(LARGEST[verifier]))["construction"]
    fn = {
        "erdos_min_overlap": exact.erdos_float64,
        "autocorrelation_ac1": exact.ac1_float64,
        "autocorrelation_ac2": exact.ac2_float64,
    }[verifier]
    benchmark(lambda: fn(construction))


def test_env_step_program(benchmark):
    env = gym.make("CirclePacking26-v0", budget_s=5)
    env.reset(seed=0, options={"initial": "grid"})
    prog = "import json\ndef run(budget_s, seed):\n    return json.load(open('parent.json'))['construction']\n"
    env.step(prog)

    def step():
        env.reset(seed=0, options={"initial": "grid"})
        return env.step(prog)

    _, reward, *_ = benchmark(step)
    assert reward == 1.625


def test_env_step_json_largest(benchmark):
    text = _data("ac2_ttt_discover2026.json")
    env = gym.make("AutocorrelationAC2-v0")
    env.reset(seed=0)
    _, reward, *_ = benchmark.pedantic(lambda: env.step(text), rounds=3, iterations=1)
    assert reward > 0.959
