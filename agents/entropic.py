"""Group advantages for the policy update (docs/agent.md#one-step).

The entropic objective weights the best rollouts of a group exponentially more than the average:
the agent seeks outliers, not safe means. Plain numpy: no torch needed to test or use it.
"""

from __future__ import annotations

import math

import numpy as np

BETA_CAP = 1e6
BISECT_ITERS = 60
TARGET_KL = math.log(2.0)


def entropic_advantages(rewards, beta: float) -> np.ndarray:
    """A_i = e_i / (Z_i + 1e-12) − 1 with e_i = exp(β (r_i − max r)) and the leave-one-out mean
    Z_i = (Σ_j e_j − e_i) / (k − 1). A group of one has no baseline: A = 0."""
    r = np.asarray(rewards, dtype=np.float64)
    k = r.size
    if k <= 1:
        return np.zeros(k)
    e = np.exp(beta * (r - r.max()))
    z = (e.sum() - e) / (k - 1)
    return e / (z + 1e-12) - 1.0


def kl_to_uniform(rewards, beta: float) -> float:
    """KL(q_β ‖ uniform) = Σ q log q + log k, with q_β ∝ exp(β r) over the k samples."""
    r = np.asarray(rewards, dtype=np.float64)
    logits = beta * (r - r.max())
    logq = logits - np.log(np.exp(logits).sum())
    q = np.exp(logq)
    return float(np.sum(q * logq) + math.log(r.size))


def adaptive_beta(rewards, target_kl: float = TARGET_KL) -> float:
    """β with KL(q_β ‖ uniform) = target: double an upper bound from 1 (cap 1e6), then bisect 60 times.

    KL grows monotonically with β from 0 (uniform) to log(k / #argmax). When that limit is ≤ ln 2
    the target is reached only as β → ∞ (in float64: once the KL rounds to ln 2, β ≈ 40) or not at all
    (then the cap is used). For k = 2 this makes the advantages (−1, ≈ 1e12): the update is then
    driven by the winner alone (Adam normalises the scale), so prefer groups of 3 or more.
    A constant group returns 0 (every β gives the uniform distribution)."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.size <= 1 or np.all(r == r[0]):
        return 0.0
    hi = 1.0
    while kl_to_uniform(r, hi) < target_kl and hi < BETA_CAP:
        hi = min(2.0 * hi, BETA_CAP)
    if kl_to_uniform(r, hi) < target_kl:
        return hi
    lo = 0.0
    for _ in range(BISECT_ITERS):
        mid = 0.5 * (lo + hi)
        if kl_to_uniform(r, mid) < target_kl:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def mean_baseline_advantages(rewards) -> np.ndarray:
    """A = r − mean(r): the ablation baseline."""
    r = np.asarray(rewards, dtype=np.float64)
    return r - r.mean() if r.size else r


def group_advantages(rewards, *, method: str = "entropic", beta: float | str = "adaptive") -> tuple[np.ndarray, float]:
    """(advantages, β used) for one group. Constant groups give zeros (they carry no signal)."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.size <= 1 or np.all(r == r[0]):
        return np.zeros(r.size), 0.0
    if method == "mean_baseline":
        return mean_baseline_advantages(r), 0.0
    if method != "entropic":
        raise ValueError(f"unknown advantage method {method!r}; use 'entropic' or 'mean_baseline'")
    b = adaptive_beta(r) if beta == "adaptive" else float(beta)
    return entropic_advantages(r, b), b
