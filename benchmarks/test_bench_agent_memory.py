"""Peak memory of one training step on a long rollout: chunked log-probabilities against whole-sequence
logits (the trainer at scale). A SmolLM2-shaped model (vocabulary 49152, and the same body with Qwen's 151936),
fp32 on the CPU with gradient checkpointing, one rollout of a 64-token prompt and a 3000-token answer.
Whole-sequence logits are 3000 × 49152 fp32 = 590 MB, plus their softmax temporaries and gradients; chunked at
1024 tokens they exist for 1024 tokens at a time.

Each variant runs in its own process, which reports its resident-memory high-water mark before and
after the update (ru_maxrss); the figure is the rise, and the ratio is chunked / whole in the same run.

Run: .venv/bin/pytest benchmarks/test_bench_agent_memory.py --benchmark-only -s
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")
ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path[:0] = [{root!r}, {helpers!r}]
import torch
torch.set_num_threads(2)
from agent_helpers import smollm2_shaped, tiny_tokenizer
from agents.transformers_policy import PolicySettings, Rollout, TransformersPolicy
tok = tiny_tokenizer()
s = PolicySettings(lora_rank=8, lr=1e-4, device="cpu", token_budget=100000, logprob_chunk_tokens={chunk},
                   gradient_checkpointing="on", share_prompt="off")
model = smollm2_shaped(tok)
if {vocab} != 49152:                       # a Qwen-sized vocabulary on the same body
    model.resize_token_embeddings({vocab})
pol = TransformersPolicy(model, tok, s)
g = torch.Generator().manual_seed(0)
prompt = torch.randint(3, {vocab}, (64,), generator=g).tolist()
answer = torch.randint(3, {vocab}, ({answer},), generator=g).tolist()
roll = Rollout(prompt, answer, [-10.0] * len(answer), "", True)
kb = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before = kb()
t = time.perf_counter()
stats = pol.update([roll], [1.0])
print(json.dumps({{"before_kb": before, "after_kb": kb(), "seconds": time.perf_counter() - t,
                  "train_tokens": stats["train_tokens"], "chunk_ok": pol._chunk_ok}}))
"""


def _peak(chunk: int, vocab: int, answer: int = 3000) -> dict:
    code = CHILD.format(root=str(ROOT), helpers=str(ROOT / "tests" / "agent"), chunk=chunk, answer=answer, vocab=vocab)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("vocab", [49152, 151936])
def test_training_step_peak_memory_chunked_vs_whole(benchmark, vocab):
    res = {}

    def once():
        res["whole"] = _peak(0, vocab)
        res["chunked"] = _peak(1024, vocab)

    benchmark.pedantic(once, rounds=1, iterations=1)
    rise = {k: (v["after_kb"] - v["before_kb"]) / 1024 for k, v in res.items()}
    assert res["chunked"]["chunk_ok"] is True
    benchmark.extra_info.update({f"{k}_rise_mb": round(v, 1) for k, v in rise.items()})
    benchmark.extra_info.update({f"{k}_seconds": round(v["seconds"], 1) for k, v in res.items()})
    benchmark.extra_info["chunked_over_whole"] = round(rise["chunked"] / rise["whole"], 3)
    print(
        f"\npeak memory rise of one update (a 3064-token rollout, vocabulary {vocab}): whole logits "
        f"{rise['whole']:.0f} MB in {res['whole']['seconds']:.1f} s, chunked (1024) {rise['chunked']:.0f} MB in "
        f"{res['chunked']['seconds']:.1f} s; ratio {rise['chunked'] / rise['whole']:.3f}"
    )
