"""The transformers policy on the tiny model: the gradient moves log-probabilities the right way,
the sampler's log-probs agree with a teacher-forced forward pass, micro-batching does not change
the update, clipping and checkpoints behave (docs/agent.md#one-step)."""

import pytest

from agents.transformers_policy import PolicySettings, Rollout, TransformersPolicy


def make_policy(tok, seed=0, **kw):
    from agent_helpers import tiny_model

    s = PolicySettings(
        lora_rank=8, lr=kw.pop("lr", 1e-3), max_new_tokens=kw.pop("max_new_tokens", 12), device="cpu", seed=seed, **kw
    )
    return TransformersPolicy(tiny_model(tok, seed=seed), tok, s)


def test_update_raises_positive_and_lowers_negative_logprob(torch1, tiny_tok):
    from agents.entropic import group_advantages

    pol = make_policy(tiny_tok)
    ids = pol.prompt_ids("Say something.")
    a, b = pol.sample(ids, 2, seed=3)
    assert a.answer_ids != b.answer_ids
    adv, _ = group_advantages([1.0, 0.0])  # entropic: a gets A > 0, b gets A = −1
    assert adv[0] > 0 > adv[1]
    before = pol.logprob_sums([a, b])
    stats = pol.update([a, b], adv.tolist())
    after = pol.logprob_sums([a, b])
    assert stats["train_tokens"] == len(a.answer_ids) + len(b.answer_ids)
    assert after[0] > before[0] + 1e-3  # positive advantage: more likely
    assert after[1] < before[1] - 1e-3  # negative advantage: less likely


def test_zero_advantages_change_nothing(torch1, tiny_tok):
    pol = make_policy(tiny_tok)
    rolls = pol.sample(pol.prompt_ids("x"), 3, seed=0)
    w0 = pol.adapter_state()
    stats = pol.update(rolls, [0.0, 0.0, 0.0])
    assert stats["train_tokens"] == 0 and pol.version == 0
    assert all(torch1.equal(w0[k], v) for k, v in pol.adapter_state().items())


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_sampler_logprobs_match_a_full_forward_pass(torch1, tiny_tok, temperature):
    """The KV-cached sampler's log-probs equal log_softmax(logits / T) of one teacher-forced pass."""
    pol = make_policy(tiny_tok, temperature=temperature)
    ids = pol.prompt_ids("Write numbers.")
    for r in pol.sample(ids, 3, seed=11):
        seq = torch1.tensor([r.prompt_ids + r.answer_ids])
        with torch1.no_grad():
            logits = pol.model(input_ids=seq).logits[0].float()
        lp = torch1.log_softmax(logits / temperature, dim=-1)
        p = len(r.prompt_ids)
        ref = [float(lp[p - 1 + j, t]) for j, t in enumerate(r.answer_ids)]
        assert r.logprobs == pytest.approx(ref, abs=1e-4)
        assert r.text == tiny_tok.decode(r.answer_ids, skip_special_tokens=True)


def test_sampling_is_a_function_of_the_seed(torch1, tiny_tok):
    pol = make_policy(tiny_tok)
    ids = pol.prompt_ids("Hello")
    x = [r.answer_ids for r in pol.sample(ids, 4, seed=5)]
    assert x == [r.answer_ids for r in pol.sample(ids, 4, seed=5)]
    assert x != [r.answer_ids for r in pol.sample(ids, 4, seed=6)]


def test_answers_stop_at_eos(torch1, tiny_tok):
    pol = make_policy(tiny_tok, max_new_tokens=400)
    rolls = pol.sample(pol.prompt_ids("x"), 4, seed=2)
    eos = tiny_tok.eos_token_id
    for r in rolls:
        assert eos not in r.answer_ids[:-1]
        assert r.finished == (r.answer_ids[-1] == eos)
        assert len(r.logprobs) == len(r.answer_ids)
    assert any(r.finished for r in rolls)  # p(EOS) ≈ 1/384 per token: 400 tokens usually reach it


def test_microbatching_gives_the_same_update(torch1, tiny_tok):
    rolls = make_policy(tiny_tok).sample(make_policy(tiny_tok).prompt_ids("abc"), 4, seed=1)
    adv = [1.5, -0.5, 0.25, -1.25]
    big = make_policy(tiny_tok, token_budget=100000)
    small = make_policy(tiny_tok, token_budget=1)  # one rollout per micro-batch
    sb, ss = big.update(rolls, adv), small.update(rolls, adv)
    assert sb["loss"] == pytest.approx(ss["loss"], abs=1e-5)
    wb, ws = big.adapter_state(), small.adapter_state()
    for k in wb:
        assert torch1.allclose(wb[k], ws[k], atol=1e-7), k


def test_importance_ratio(torch1, tiny_tok):
    import math

    pol = make_policy(tiny_tok)
    rolls = pol.sample(pol.prompt_ids("q"), 2, seed=4)
    assert pol.update(rolls, [1.0, -1.0])["rho_mean"] == pytest.approx(1.0, abs=1e-4)  # on-policy: ρ ≈ 1
    # pretend the sampler gave every token a log-prob 1 higher than the model does: ρ = e^-1 ≈ 0.37
    fresh = make_policy(tiny_tok)
    shifted = [
        Rollout(r.prompt_ids, r.answer_ids, [x + 1.0 for x in _token_logprobs(fresh, r, torch1)], r.text, r.finished)
        for r in rolls
    ]
    st = fresh.update(shifted, [1.0, -1.0])
    assert st["rho_mean"] == pytest.approx(math.exp(-1), abs=1e-4)
    assert st["clip_frac"] == 0.0
    # PPO clipping at 0.2, every ratio 0.37 < 0.8: for A = +1, min(0.37, 0.8) keeps ρ·A (not clipped);
    # for A = −1, min(−0.37, −0.8) takes the clipped term, so those tokens are clipped
    clipped = make_policy(tiny_tok, clip_ratio=0.2).update(shifted, [1.0, -1.0])
    assert clipped["rho_mean"] == pytest.approx(math.exp(-1), abs=1e-4)  # ρ is reported unclipped
    n_pos = len(rolls[0].answer_ids)
    assert clipped["clip_frac"] == pytest.approx(len(rolls[1].answer_ids) / (n_pos + len(rolls[1].answer_ids)))


def test_ppo_clipped_surrogate_worked_example(torch1):
    """pg_loss against a worked example: two rollouts, ε = 0.2, ratios ρ chosen by hand.

    rollout 1, A = +2: ρ = 1.25 → min(2.5, 1.2·2 = 2.4) = 2.4 (clipped, no gradient)
                       ρ = 1.0  → 2.0 (not clipped)
                       ρ = 0.5  → min(1.0, 0.8·2 = 1.6) = 1.0 (not clipped: PPO keeps the pessimistic term)
    rollout 2, A = −1: ρ = 1.5  → min(−1.5, 1.2·−1 = −1.2) = −1.5 (not clipped)
                       ρ = 0.7  → min(−0.7, 0.8·−1 = −0.8) = −0.8 (clipped, no gradient)
                       a padding token (mask 0) counts nothing.
    loss per token = −surrogate; d loss / d log π = −A·ρ where not clipped, 0 where clipped."""
    import math

    from agents.transformers_policy import pg_loss

    torch = torch1
    rho = torch.tensor([[1.25, 1.0, 0.5], [1.5, 0.7, 3.0]], dtype=torch.float64)
    old = torch.full_like(rho, math.log(0.4))
    logp = (rho.log() + old).requires_grad_(True)
    adv = torch.tensor([2.0, -1.0], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]], dtype=torch.float64)

    loss, r, clip = pg_loss(logp, old, adv, mask, clip_ratio=0.2)
    assert loss.flatten().tolist() == pytest.approx([-2.4, -2.0, -1.0, 1.5, 0.8, 0.0], abs=1e-12)
    assert clip.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert r.flatten().tolist() == pytest.approx([1.25, 1.0, 0.5, 1.5, 0.7, 0.0], abs=1e-12)
    loss.sum().backward()
    assert logp.grad.flatten().tolist() == pytest.approx([0.0, -2.0, -1.0, 1.5, 0.0, 0.0], abs=1e-12)

    # without clipping: loss −ρA everywhere and gradient −Aρ (importance-sampled REINFORCE)
    logp.grad = None
    loss, _, clip = pg_loss(logp, old, adv, mask, clip_ratio=0.0)
    assert loss.flatten().tolist() == pytest.approx([-2.5, -2.0, -1.0, 1.5, 0.7, 0.0], abs=1e-12)
    assert clip.sum() == 0
    loss.sum().backward()
    assert logp.grad.flatten().tolist() == pytest.approx([-2.5, -2.0, -1.0, 1.5, 0.7, 0.0], abs=1e-12)


def test_trainer_logprobs_use_the_sampling_temperature(torch1, tiny_tok):
    """At T = 0.5 the trainer's log π equals the sampler's (ρ = 1 on-policy); log-probs of the
    untempered softmax would not: they differ from the sampler's."""
    pol = make_policy(tiny_tok, temperature=0.5)
    rolls = pol.sample(pol.prompt_ids("Write numbers."), 3, seed=7)
    lp, mask = pol._answer_logprobs(rolls)
    for r, row in zip(rolls, lp):
        assert row[: len(r.answer_ids)].tolist() == pytest.approx(r.logprobs, abs=1e-4)
    assert pol.update(rolls, [1.0, -0.5, -0.5])["rho_mean"] == pytest.approx(1.0, abs=1e-4)
    # the untempered distribution is a different one: its log-probs of these tokens differ
    with torch1.no_grad():
        seq = torch1.tensor([rolls[0].prompt_ids + rolls[0].answer_ids])
        raw = torch1.log_softmax(make_policy(tiny_tok).model(input_ids=seq).logits[0].float(), -1)
    p = len(rolls[0].prompt_ids)
    untempered = [float(raw[p - 1 + j, t]) for j, t in enumerate(rolls[0].answer_ids)]
    assert max(abs(a - b) for a, b in zip(untempered, rolls[0].logprobs)) > 0.05


def test_shared_prompt_training_equals_whole_sequences(torch1, tiny_tok):
    """One pass of the prompt with its KV cache repeated gives the same log-probs and update as
    whole sequences (float rounding only)."""
    on = make_policy(tiny_tok, share_prompt="on", temperature=0.8, stop=["e"], max_new_tokens=30)
    off = make_policy(tiny_tok, share_prompt="off", temperature=0.8, stop=["e"], max_new_tokens=30)
    rolls = on.sample(on.prompt_ids("Say something please."), 4, seed=3)
    assert len({len(r.answer_ids) for r in rolls}) > 1  # answers of different lengths: padding is exercised
    a, ma = on._answer_logprobs(rolls)
    b, mb = off._answer_logprobs(rolls)
    assert torch1.equal(ma, mb)
    assert torch1.allclose(a * ma, b * mb, atol=1e-5)
    adv = [1.0, -0.5, 0.25, -0.75]
    on.update(rolls, adv), off.update(rolls, adv)
    wa, wb = on.adapter_state(), off.adapter_state()
    for k in wa:
        assert torch1.allclose(wa[k], wb[k], atol=1e-5), k


def test_max_new_tokens_is_fitted_to_the_context(torch1, tiny_tok):
    from agent_helpers import tiny_model

    model = tiny_model(tiny_tok, seed=0)
    model.config.max_position_embeddings = 40
    pol = TransformersPolicy(model, tiny_tok, PolicySettings(max_new_tokens=500, device="cpu"))
    ids = pol.prompt_ids("abc")
    assert pol.fit_new_tokens(len(ids)) == 40 - len(ids)
    for r in pol.sample(ids, 3, seed=1):
        assert len(r.answer_ids) <= 40 - len(ids)
    assert pol.fit_new_tokens(39) == 1
    with pytest.raises(ValueError, match="fills the model's context of 40 tokens"):
        pol.fit_new_tokens(40)


def test_answer_prefix_and_stop_strings(torch1, tiny_tok):
    """The answer starts with the prefix (whose tokens end the prompt and are never trained) and
    ends right after the first stop string."""
    pol = make_policy(tiny_tok, answer_prefix="[0.5, ", stop=["a", "e"], max_new_tokens=60)
    ids = pol.prompt_ids("x")
    tail = tiny_tok("[0.5, ", add_special_tokens=False)["input_ids"]
    assert ids[-len(tail) :] == tail
    rolls = pol.sample(ids, 6, seed=2)
    assert any(r.finished and r.text[-1] in "ae" for r in rolls)
    for r in rolls:
        assert r.text.startswith("[0.5, ")
        body = r.text[len("[0.5, ") :]
        if r.finished and r.answer_ids[-1] != tiny_tok.eos_token_id:
            assert body[-1] in "ae" and "a" not in body[:-1] and "e" not in body[:-1]
        else:
            assert "a" not in body and "e" not in body
    from agents.transformers_policy import cut_at_stop

    assert cut_at_stop("12]]3", ["]"]) == "12]" and cut_at_stop("xyz", ["]"]) == "xyz"
    assert cut_at_stop("ab```c]", ["]", "```"]) == "ab```"


def _token_logprobs(pol, r, torch):
    with torch.no_grad():
        lp, mask = pol._answer_logprobs([r])
    return lp[0, : len(r.answer_ids)].tolist()


def test_checkpoint_round_trip_is_exact(torch1, tiny_tok, tmp_path):
    pol = make_policy(tiny_tok)
    rolls = pol.sample(pol.prompt_ids("z"), 3, seed=9)
    pol.update(rolls, [1.0, -0.5, -0.5])
    pol.save(tmp_path / "ck")
    assert (tmp_path / "ck" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "ck" / "adapter_config.json").is_file()
    twin = make_policy(tiny_tok, seed=0)
    twin.load(tmp_path / "ck")
    a, b = pol.adapter_state(), twin.adapter_state()
    assert all(torch1.equal(a[k], b[k]) for k in a)
    # the optimizer state came back too: the next update is identical
    pol.update(rolls, [-1.0, 0.5, 0.5])
    twin.update(rolls, [-1.0, 0.5, 0.5])
    a, b = pol.adapter_state(), twin.adapter_state()
    assert all(torch1.equal(a[k], b[k]) for k in a)


def test_kl_penalty_holds_the_adapter_near_the_base_model(torch1, tiny_tok):
    """Ten updates pushing one answer up and one down: with a strong KL penalty the answers'
    log-probabilities stay much closer to the base model's than without (measured: total drift 57
    nats without the penalty, 1.0 with kl_coef = 50)."""
    drifts = {}
    for kl in (0.0, 50.0):
        pol = make_policy(tiny_tok, kl_coef=kl, lr=1e-2)
        rolls = pol.sample(pol.prompt_ids("Say something."), 2, seed=3)
        base = pol.logprob_sums(rolls)
        for _ in range(10):
            pol.update(rolls, [1.0, -1.0])
        drifts[kl] = sum(abs(a - b) for a, b in zip(pol.logprob_sums(rolls), base))
    assert drifts[50.0] < 0.5 * drifts[0.0], drifts


@pytest.mark.parametrize("share", ["on", "off"])
def test_chunked_logprobs_equal_whole_sequence_logits(torch1, tiny_tok, share):
    """Log-probs computed a chunk of positions at a time from the decoder's hidden states (so full-vocabulary
    logits exist for a few tokens only) equal those of whole-sequence logits, and so does the update they
    drive, for whole sequences and for a shared prompt. A chunk of 5 tokens splits every batch here."""
    kw = dict(share_prompt=share, temperature=0.7, stop=["e"], max_new_tokens=30)
    chunked = make_policy(tiny_tok, logprob_chunk_tokens=5, **kw)
    whole = make_policy(tiny_tok, logprob_chunk_tokens=0, **kw)
    rolls = whole.sample(whole.prompt_ids("Say something please."), 4, seed=3)
    assert len({len(r.answer_ids) for r in rolls}) > 1
    a, ma = chunked._answer_logprobs(rolls)
    b, mb = whole._answer_logprobs(rolls)
    assert chunked._chunk_ok is True and whole._chunk_ok is None  # the chunked path really ran
    assert torch1.equal(ma, mb) and torch1.allclose(a * ma, b * mb, atol=1e-5)
    adv = [1.0, -0.5, 0.25, -0.75]
    sa, sb = chunked.update(rolls, adv), whole.update(rolls, adv)
    assert sa["loss"] == pytest.approx(sb["loss"], abs=1e-5)
    wa, wb = chunked.adapter_state(), whole.adapter_state()
    for k in wa:
        assert torch1.allclose(wa[k], wb[k], atol=1e-6), k


def test_a_head_that_is_not_a_projection_falls_back_to_whole_logits(torch1, tiny_tok):
    """A model whose forward scales its logits beyond the output head fails the one-time head check: the
    policy warns and keeps whole-sequence logits, so its log-probs stay right."""
    p = make_policy(tiny_tok, logprob_chunk_tokens=5)
    real = type(p.model.get_base_model()).forward

    def scaled(self, *a, **kw):
        out = real(self, *a, **kw)
        out.logits = out.logits * 2.0
        return out

    import unittest.mock

    with unittest.mock.patch.object(type(p.model.get_base_model()), "forward", scaled):
        with pytest.warns(UserWarning, match="not a plain projection"):
            assert p._chunking() is False


def _dp_rank(rank, world, init_file, out_dir, answers, adv):
    """One rank of the data-parallel test: the same policy and rollouts as one process, its share of the update."""
    import sys as _sys
    from pathlib import Path as _P

    _sys.path.insert(0, str(_P(__file__).resolve().parent))
    import torch
    import torch.distributed as dist
    from agent_helpers import tiny_tokenizer

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        tok = tiny_tokenizer()
        pol = make_policy(tok, token_budget=1)
        rolls = [Rollout(pol.prompt_ids("abc"), a, [-3.0] * len(a), "", True) for a in answers]
        stats = pol.update(rolls, adv)
        torch.save({"state": pol.adapter_state(), "stats": stats}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_make_the_update_of_one(torch1, tiny_tok, tmp_path):
    """Data-parallel training: two CPU processes (gloo) split five rollouts (3 + 2), sum their gradients and
    step; both end with the adapter one process gets from all five, within float rounding."""
    import torch.multiprocessing as mp

    answers = [[5, 6, 7], [8, 9], [10, 11, 12, 13], [14], [15, 16]]
    adv = [1.5, -0.5, 0.25, -1.25, 0.75]
    one = make_policy(tiny_tok, token_budget=1)
    rolls = [Rollout(one.prompt_ids("abc"), a, [-3.0] * len(a), "", True) for a in answers]
    s1 = one.update(rolls, adv)
    mp.start_processes(
        _dp_rank, args=(2, str(tmp_path / "init"), str(tmp_path), answers, adv), nprocs=2, start_method="spawn"
    )
    for rank in (0, 1):
        got = torch1.load(tmp_path / f"rank{rank}.pt")
        assert got["stats"]["loss"] == pytest.approx(s1["loss"], abs=1e-6)
        assert got["stats"]["train_tokens"] == s1["train_tokens"] == 3 + 2 + 4 + 1 + 2
        for k, v in one.adapter_state().items():
            assert torch1.allclose(got["state"][k], v, atol=1e-6), (rank, k)
    assert not torch1.equal(one.adapter_state()[k], make_policy(tiny_tok).adapter_state()[k])  # it did move
