"""Benchmarks for verifiers.math.exact (docs/math.md#exact-scoring timing table,
docs/math.md#adversarial-inputs). Reported, not asserted.

Run: ``pytest benchmarks/test_bench_exact.py --benchmark-only``. The n = 100,000 adversarial
dynamic-range case (about 24 s per call on a 2-core CPU) runs only with TTTD_BENCH_ADVERSARIAL=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from verifiers.math import exact as X

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "math"

EXACT = {"erdos": X.erdos_exact, "ac1": X.ac1_exact, "ac2": X.ac2_exact}
FLOAT = {"erdos": X.erdos_float64, "ac1": X.ac1_float64, "ac2": X.ac2_float64}

LARGE_FILES = [
    "ac1_ttt_discover2026",  # n = 30,000
    "ac2_ttt_discover2026",  # n = 50,000
    "ac2_alphaevolve2025_v2",  # n = 50,000
    "erdos_ttt_discover2026",  # n = 600, the largest Erdős file
]


def _load(stem: str) -> list[float]:
    path = DATA_DIR / f"{stem}.json"
    if not path.is_file():
        pytest.skip(f"data file {path} not found")
    return json.loads(path.read_text())["construction"]


@pytest.mark.parametrize("stem", LARGE_FILES)
def test_bench_exact_score_file(benchmark, stem):
    values = _load(stem)
    fn = EXACT[stem.split("_")[0]]
    benchmark.extra_info["n"] = len(values)
    benchmark.pedantic(fn, args=(values,), rounds=3, iterations=1, warmup_rounds=0)


@pytest.mark.parametrize("stem", LARGE_FILES)
def test_bench_float64_estimate_file(benchmark, stem):
    values = _load(stem)
    fn = FLOAT[stem.split("_")[0]]
    benchmark.extra_info["n"] = len(values)
    benchmark(fn, values)


def _erdos_pairs(n: int, seed: int) -> list[float]:
    """Typical valid Erdős data: 1/2 ± k·2^-40 in pairs, so Σh = n/2 exactly."""
    rng = np.random.default_rng(seed)
    d = rng.integers(-(2**38), 2**38, n // 2) * 2.0**-40
    h = np.concatenate([0.5 + d, 0.5 - d])
    rng.shuffle(h)
    return h.tolist()


def test_bench_erdos_exact_n10000_typical(benchmark):
    h = _erdos_pairs(10_000, 0)
    benchmark.pedantic(X.erdos_exact, args=(h,), rounds=3, iterations=1, warmup_rounds=0)


def test_bench_ac2_exact_n100000_typical(benchmark):
    a = np.random.default_rng(0).random(100_000).tolist()
    benchmark.pedantic(X.ac2_exact, args=(a,), rounds=3, iterations=1, warmup_rounds=0)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("TTTD_BENCH_ADVERSARIAL") != "1",
    reason="about 24 s per call; set TTTD_BENCH_ADVERSARIAL=1 to run",
)
def test_bench_ac1_exact_n100000_adversarial(benchmark):
    """Values spanning 1e-300…1e6: about 3,600-bit integers, the worst case for slot width."""
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(np.log(1e-300), np.log(1e6), 100_000))
    a[0], a[1] = 1e-300, 1e6
    benchmark.pedantic(X.ac1_exact, args=(a.tolist(),), rounds=1, iterations=1, warmup_rounds=0)
