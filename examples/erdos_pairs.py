"""Example ErdosMinOverlap-v0 program: a short random search over exactly normalised functions.

Values come in pairs 1/2 ± d with d a multiple of 2^-40, so Σh = n/2 exactly (δ = 0) and every
value stays in [0, 1]. Starts from parent.json when it holds a construction.
"""

import json
import time

import numpy as np


def overlap(h):
    n = len(h)
    return 2.0 / n * np.max(np.correlate(h, 1.0 - h, "full"))


def run(budget_s, seed):
    rng = np.random.default_rng(seed)
    with open("parent.json") as fh:
        parent = json.load(fh)["construction"]
    n = 200
    q = 2.0**-40
    # d_j for the pair (j, n-1-j): a symmetric bump-free start, or the parent's values when usable.
    if parent and len(parent) == n:
        h = np.array(parent, dtype=float)
    else:
        x = np.linspace(0, 2, n, endpoint=False) + 1.0 / n
        h = np.clip(0.5 + 0.45 * np.cos(np.pi * (x - 1.0)), 0.0, 1.0)
        h *= (n / 2) / h.sum()
    d = np.round((h[: n // 2] - 0.5) / q) * q
    d = np.clip(d, -0.5, 0.5)
    pairs = rng.permutation(n)  # which slots get +d and which get −d

    def build(d):
        out = np.empty(n)
        out[pairs[: n // 2]] = 0.5 + d
        out[pairs[n // 2 :]] = 0.5 - d
        return out

    best = build(d)
    best_val = overlap(best)
    deadline = time.time() + min(budget_s, 20.0) * 0.8
    step = 0.05
    while time.time() < deadline:
        cand = d + np.round(rng.normal(0, step, d.size) / q) * q
        cand = np.clip(cand, -0.5, 0.5)
        h = build(cand)
        val = overlap(h)
        if val < best_val:
            best, best_val, d = h, val, cand
        else:
            step = max(step * 0.999, 1e-4)
    print(f"float64 estimate of M(h): {best_val:.6f}")
    return best.tolist()
