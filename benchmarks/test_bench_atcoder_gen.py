"""Benchmarks for the AtCoder input generators (docs/atcoder.md#generators performance notes). Reported, not
asserted.

Run: ``pytest benchmarks/test_bench_atcoder_gen.py --benchmark-only``. One AHC039 input consumes about
61,000 ChaCha20 words (about 3,800 blocks, computed in bulk with numpy); one AHC058 input consumes 96.
"""

from __future__ import annotations

import pytest

from verifiers.atcoder import gen_ahc039, gen_ahc058
from verifiers.atcoder.rng import RustRng

AHC039_OFFICIAL_CASE0 = 7882753771510266308


@pytest.mark.parametrize("seed", [0, 122, AHC039_OFFICIAL_CASE0])
def test_bench_gen_ahc039(benchmark, seed):
    text = benchmark(gen_ahc039.generate, seed)
    assert text.startswith("5000\n")


@pytest.mark.parametrize("seed", [0, 149])
def test_bench_gen_ahc058(benchmark, seed):
    text = benchmark(gen_ahc058.generate, seed)
    assert text.startswith("10 4 500 1\n")


def test_bench_chacha_keystream_61065_words(benchmark):
    """The raw keystream an AHC039 input consumes (seed 0: 61,065 u32 words)."""

    def run():
        rng = RustRng.seed_from_u64(0)
        nxt = rng.next_u32
        for _ in range(61065):
            nxt()
        return rng.words_consumed

    assert benchmark(run) == 61065


def test_bench_standard_normal_20000(benchmark):
    """20,000 StandardNormal samples (the normals one AHC039 input draws)."""

    def run():
        rng = RustRng.seed_from_u64(0)
        normal = rng.standard_normal
        return sum(normal() for _ in range(20000))

    benchmark(run)
