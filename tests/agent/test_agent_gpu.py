"""GPU paths (marked ``gpu``; skipped without CUDA): the transformers backend in bf16 samples and
trains on CUDA with the tiny model and with a SmolLM2-shaped model (SmolLM2 itself when its weights
are installed), and the vLLM backend when vLLM is importable.

Imports only torch, transformers, peft, safetensors and the tiny-model helper: the lent GPU machine
has no gymnasium, rich, gguf or tomli_w. Run them with ``bash scripts/gpu-agent-check.sh``."""

import pytest

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda(torch1):
    if not torch1.cuda.is_available():
        pytest.skip("no CUDA GPU")
    return torch1


def bf16_policy(model, tok, **kw):
    from agents.transformers_policy import PolicySettings, TransformersPolicy

    s = PolicySettings(
        lora_rank=8, lr=kw.pop("lr", 1e-2), max_new_tokens=kw.pop("max_new_tokens", 32), device="cuda", seed=0, **kw
    )
    return TransformersPolicy(model, tok, s)


def check_update_direction(pol):
    """One update with advantages (+1, −1) moves log π(a) − log π(b) up: that difference is the
    objective being ascended, so this is what first order guarantees (bf16 forward, fp32 LoRA weights
    and loss). Each log-prob on its own need not move its way: on an H100 the tiny model's update
    with entropic advantages for rewards (1, 0) raised both answers (+1.15 and +0.05 nats: shared
    tokens); the fp32 CPU test checks each one."""
    a, b = pol.sample(pol.prompt_ids("Write a short program."), 2, seed=7)
    assert a.answer_ids != b.answer_ids
    before = pol.logprob_sums([a, b])
    stats = pol.update([a, b], [1.0, -1.0])
    after = pol.logprob_sums([a, b])
    assert stats["train_tokens"] > 0 and stats["loss"] == stats["loss"]  # finite
    assert abs(stats["rho_mean"] - 1.0) < 0.05, stats  # on-policy, bf16 rounding
    assert (after[0] - after[1]) - (before[0] - before[1]) > 0.05, (before, after)
    return stats


def test_bf16_tiny_model_trains_in_the_right_direction(cuda, tiny_tok):
    from agent_helpers import tiny_model

    # lr 1e-3: Adam's first step moves every LoRA weight by about lr whatever the gradient's size
    # (at 1e-2 the step is far outside first order).
    pol = bf16_policy(tiny_model(tiny_tok, seed=0), tiny_tok, lr=1e-3)
    assert pol.dtype == cuda.bfloat16
    base = pol.model.get_base_model().model.layers[0].self_attn.q_proj
    assert base.base_layer.weight.dtype == cuda.bfloat16 and base.base_layer.weight.is_cuda
    check_update_direction(pol)


def test_bf16_sampler_logprobs_match_a_forward_pass(cuda, tiny_tok):
    from agent_helpers import tiny_model

    pol = bf16_policy(tiny_model(tiny_tok, seed=1), tiny_tok)
    rolls = pol.sample(pol.prompt_ids("Numbers:"), 4, seed=3)
    for r, total in zip(rolls, pol.logprob_sums(rolls)):
        assert sum(r.logprobs) == pytest.approx(total, abs=0.05 * len(r.answer_ids) + 0.05)


def test_bf16_smollm2_shaped_model_with_gradient_checkpointing(cuda, tiny_tok):
    """SmolLM2-135M's architecture (random weights), gradient checkpointing on (the CUDA default)."""
    from agent_helpers import smollm2_shaped

    pol = bf16_policy(smollm2_shaped(tiny_tok), tiny_tok, lr=1e-3, max_new_tokens=64)
    assert pol.model.is_gradient_checkpointing
    check_update_direction(pol)


def test_bf16_smollm2_one_update(cuda):
    from agents import models
    from agents.transformers_policy import PolicySettings, TransformersPolicy

    try:
        spec = models.resolve("smollm2")
        if spec.gguf_file:
            pytest.importorskip("gguf", reason="loading SmolLM2 from GGUF needs the gguf package")
    except models.ModelError as e:
        pytest.skip(f"SmolLM2 is not installed here: {e}")
    pol = TransformersPolicy.from_spec(spec, PolicySettings(lora_rank=8, lr=1e-4, max_new_tokens=48, device="cuda"))
    stats = check_update_direction(pol)
    assert stats["train_tokens"] > 0


def test_vllm_backend_on_gpu(cuda, tiny_tok, tmp_path):
    pytest.importorskip(
        "vllm",
        reason="vLLM is not installed here (the lent GPU machine cannot install it: no "
        "package registry and at most 64 MiB carried per call)",
    )
    from agent_helpers import save_tiny
    from test_agent_vllm import check_vllm_backend

    check_vllm_backend(save_tiny(tmp_path / "m", hidden=128, heads=2), device="cuda")
