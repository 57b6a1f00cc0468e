"""Example AutocorrelationAC1-v0 program: a few hundred projected-gradient steps on 2n·max(a*a)/S²."""

import time

import numpy as np


def run(budget_s, seed):
    rng = np.random.default_rng(seed)
    n = 600
    a = 1.0 + 0.1 * rng.random(n)
    deadline = time.time() + min(budget_s, 20.0) * 0.8
    lr = 0.01
    while time.time() < deadline:
        c = np.convolve(a, a)
        k = int(np.argmax(c))
        # gradient of max_k c_k / S² for the active lag k
        s = a.sum()
        grad = 2 * np.array([a[k - i] if 0 <= k - i < n else 0.0 for i in range(n)]) / s**2 - 2 * c[k] / s**3
        a = np.clip(a - lr * grad / (np.abs(grad).max() + 1e-300), 0.0, None)
        a /= a.max()
    c = np.convolve(a, a)
    print(f"float64 estimate: {2 * n * c.max() / a.sum() ** 2:.6f}")
    return a.tolist()
