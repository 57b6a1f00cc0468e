"""The transformers policy on the tiny model: the gradient moves log-probabilities the right way,
the sampler's log-probs agree with a teacher-forced forward pass, micro-batching does not change
the update, clipping and checkpoints behave (specs/agent.md, "One step" 2 and 6)."""

import pytest

from agents.policy import PolicySettings, Rollout, TransformersPolicy


def make_policy(tok, seed=0, **kw):
    from agent_helpers import tiny_model
    s = PolicySettings(lora_rank=8, lr=kw.pop("lr", 1e-3), max_new_tokens=kw.pop("max_new_tokens", 12), device="cpu",
                       seed=seed, **kw)
    return TransformersPolicy(tiny_model(tok, seed=seed), tok, s)


def test_update_raises_positive_and_lowers_negative_logprob(torch1, tiny_tok):
    from agents.entropic import group_advantages
    pol = make_policy(tiny_tok)
    ids = pol.prompt_ids("Say something.")
    a, b = pol.sample(ids, 2, seed=3)
    assert a.answer_ids != b.answer_ids
    adv, _ = group_advantages([1.0, 0.0])                 # entropic: a gets A > 0, b gets A = −1
    assert adv[0] > 0 > adv[1]
    before = pol.logprob_sums([a, b])
    stats = pol.update([a, b], adv.tolist())
    after = pol.logprob_sums([a, b])
    assert stats["train_tokens"] == len(a.answer_ids) + len(b.answer_ids)
    assert after[0] > before[0] + 1e-3                     # positive advantage: more likely
    assert after[1] < before[1] - 1e-3                     # negative advantage: less likely


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
    assert any(r.finished for r in rolls)        # p(EOS) ≈ 1/384 per token: 400 tokens usually reach it


def test_microbatching_gives_the_same_update(torch1, tiny_tok):
    rolls = make_policy(tiny_tok).sample(make_policy(tiny_tok).prompt_ids("abc"), 4, seed=1)
    adv = [1.5, -0.5, 0.25, -1.25]
    big = make_policy(tiny_tok, token_budget=100000)
    small = make_policy(tiny_tok, token_budget=1)          # one rollout per micro-batch
    sb, ss = big.update(rolls, adv), small.update(rolls, adv)
    assert sb["loss"] == pytest.approx(ss["loss"], rel=1e-5)
    wb, ws = big.adapter_state(), small.adapter_state()
    for k in wb:
        assert torch1.allclose(wb[k], ws[k], atol=1e-7), k


def test_importance_ratio_and_clipping(torch1, tiny_tok):
    import math
    pol = make_policy(tiny_tok)
    rolls = pol.sample(pol.prompt_ids("q"), 2, seed=4)
    assert pol.update(rolls, [1.0, -1.0])["rho_mean"] == pytest.approx(1.0, abs=1e-4)   # on-policy: ρ ≈ 1
    # pretend the sampler gave every token a log-prob 1 higher than the model does: ρ = e^-1 ≈ 0.37
    # unclipped, and 0.8 with clip_ratio 0.2
    fresh = make_policy(tiny_tok)
    shifted = [Rollout(r.prompt_ids, r.answer_ids, [x + 1.0 for x in _token_logprobs(fresh, r, torch1)], r.text, r.finished)
               for r in rolls]
    assert fresh.update(shifted, [1.0, -1.0])["rho_mean"] == pytest.approx(math.exp(-1), abs=1e-4)
    clipped = make_policy(tiny_tok, clip_ratio=0.2)
    assert clipped.update(shifted, [1.0, -1.0])["rho_mean"] == pytest.approx(0.8, abs=1e-5)


def _token_logprobs(pol, r, torch):
    with torch.no_grad():
        lp, mask = pol._answer_logprobs([r])
    return lp[0, :len(r.answer_ids)].tolist()


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
