"""Entropic advantages against hand-computed values (docs/agent.md#one-step)."""

import math

import numpy as np
import pytest

from agents.entropic import BETA_CAP, adaptive_beta, entropic_advantages, group_advantages, mean_baseline_advantages


def test_fixed_beta_three_rewards_by_hand():
    # β = 1, r = (0, 1, 2): e = (e^-2, e^-1, 1); Z_i = leave-one-out mean of the other two.
    # A_1 = e^-2 / ((e^-1 + 1)/2) - 1 = -0.802124, A_2 = e^-1 / ((e^-2 + 1)/2) - 1 = -0.351946,
    # A_3 = 1 / ((e^-2 + e^-1)/2) - 1 = 2.974446 (worked on paper to 6 digits)
    a = entropic_advantages([0.0, 1.0, 2.0], beta=1.0)
    assert a == pytest.approx([-0.802124, -0.351946, 2.974446], abs=2e-6)


def test_fixed_beta_two_rewards_by_hand():
    # k = 2: Z_1 = e_2, Z_2 = e_1, so A = (e^-1 - 1, e - 1)
    a = entropic_advantages([3.0, 4.0], beta=1.0)
    assert a == pytest.approx([math.exp(-1) - 1, math.e - 1], abs=1e-9)


def test_group_of_one_and_constant_group_are_zero():
    assert entropic_advantages([5.0], beta=2.0).tolist() == [0.0]
    adv, beta = group_advantages([0.7, 0.7, 0.7, 0.7])
    assert adv.tolist() == [0.0] * 4 and beta == 0.0
    adv, _ = group_advantages([0.0, 0.0], beta=2.0)
    assert adv.tolist() == [0.0, 0.0]
    assert group_advantages([1.0])[0].tolist() == [0.0]


def _kl_uniform(r, beta):
    """KL(q ‖ uniform) written out directly (independent of the module's helper)."""
    w = [math.exp(beta * (x - max(r))) for x in r]
    s = sum(w)
    return sum((x / s) * math.log((x / s) * len(r)) for x in w if x > 0)


@pytest.mark.parametrize(
    "rewards", [[0.0, 1.0, 2.0], [0.1, 0.2, 0.2, 0.9, 0.3], list(np.linspace(0, 1, 16) ** 3), [1e-3, 2e-3, 5e-3, 1e-2]]
)
def test_adaptive_beta_reaches_kl_ln2(rewards):
    beta = adaptive_beta(rewards)
    assert 0 < beta < BETA_CAP
    assert _kl_uniform(rewards, beta) == pytest.approx(math.log(2), abs=1e-6)


def test_adaptive_beta_invariant_to_positive_affine_maps():
    r = np.array([0.3, 0.1, 0.7, 0.65, 0.2, 0.0])
    base, b0 = group_advantages(r)
    for a, b in [(2.0, 0.0), (0.01, 5.0), (1000.0, -3.0)]:
        adv, b1 = group_advantages(a * r + b)
        assert adv == pytest.approx(base, rel=1e-7, abs=1e-9)
        assert b1 == pytest.approx(b0 / a, rel=1e-7)


def test_two_distinct_rewards_saturate():
    # with k = 2 the KL only tends to ln 2 as β → ∞ (q → (0, 1)); in float64 it reaches ln 2 once
    # e^-β ≲ 1e-16, i.e. β ≈ 37–45, so the loser gets A = −1 and the winner ≈ 1/1e-12
    beta = adaptive_beta([0.0, 1.0])
    assert 30 < beta < 50
    assert _kl_uniform([0.0, 1.0], beta) == pytest.approx(math.log(2), abs=1e-6)
    adv, _ = group_advantages([0.0, 1.0])
    assert adv[0] == pytest.approx(-1.0, abs=1e-12) and adv[1] > 1e11


def test_best_sample_gets_the_largest_advantage_and_signs_split():
    adv, _ = group_advantages([0.2, 0.5, 0.1, 0.4])
    assert int(np.argmax(adv)) == 1
    assert adv[1] > 0 and adv[2] < 0


def test_mean_baseline():
    assert mean_baseline_advantages([1.0, 2.0, 6.0]).tolist() == [-2.0, -1.0, 3.0]
    adv, beta = group_advantages([1.0, 2.0, 6.0], method="mean_baseline")
    assert adv.tolist() == [-2.0, -1.0, 3.0] and beta == 0.0
    with pytest.raises(ValueError, match="unknown advantage method"):
        group_advantages([1.0, 2.0], method="ppo")
