"""bf16 speed of the transformers policy on a CUDA GPU: sampling tokens/s and rollouts/s, and the time
of one training step (forward + backward + Adam on the LoRA adapter), for the tiny test model and a
SmolLM2-135M-shaped model (random weights: same compute per token). Prints one line per model.

Needs only torch, transformers, peft, safetensors, tokenizers (what the lent GPU machine has); run
through ``bash scripts/gpu-agent-check.sh``. Numbers are medians of 3 repeats after one warm-up."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "tests" / "agent")]


def measure(pol, n: int, new_tokens: int, repeats: int = 3) -> dict:
    import torch

    ids = pol.prompt_ids("Write a Python function that returns a list of 100 floats between 0 and 1. " * 4)
    pol.sample(ids, n, seed=0, max_new_tokens=8)  # warm-up
    rates, rolls_s, train_s = [], [], []
    for i in range(repeats):
        torch.cuda.synchronize()
        t = time.perf_counter()
        rolls = pol.sample(ids, n, seed=i + 1, max_new_tokens=new_tokens)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t
        ntok = sum(len(r.answer_ids) for r in rolls)
        rates.append(ntok / dt)
        rolls_s.append(n / dt)
        adv = [1.0 if j % 2 == 0 else -1.0 for j in range(n)]
        train_s.append(pol.update(rolls, adv)["train_s"])
    return {
        "prompt_tokens": len(ids),
        "batch": n,
        "tokens_per_s": statistics.median(rates),
        "rollouts_per_s": statistics.median(rolls_s),
        "train_step_s": statistics.median(train_s),
        "train_tokens": n * (len(ids) + new_tokens),
    }


def main() -> int:
    import torch
    from agent_helpers import smollm2_shaped, tiny_model, tiny_tokenizer

    from agents.transformers_policy import PolicySettings, TransformersPolicy

    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to measure")
        return 0
    tok = tiny_tokenizer()
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, bf16")
    for name, model, n, new in [
        ("tiny (2 layers, hidden 64)", tiny_model(tok), 16, 256),
        ("SmolLM2-135M-shaped", smollm2_shaped(tok), 16, 256),
        ("SmolLM2-135M-shaped", smollm2_shaped(tok), 64, 256),
    ]:
        s = PolicySettings(lora_rank=8, lr=1e-4, max_new_tokens=new, device="cuda", token_budget=16384)
        pol = TransformersPolicy(model, tok, s)
        # EOS is rare for random weights, so nearly every answer runs to max_new_tokens
        r = measure(pol, n, new)
        print(
            f"{name:28s} batch {r['batch']:3d} × {new} new tokens (prompt {r['prompt_tokens']}): "
            f"sampling {r['tokens_per_s']:8.1f} tok/s, {r['rollouts_per_s']:6.2f} rollouts/s; "
            f"train step {r['train_step_s'] * 1000:7.1f} ms for {r['train_tokens']} tokens",
            flush=True,
        )
        del pol, model
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
