"""Benchmarks for the AtCoder scorers (verifiers.atcoder.score_ahc039 / score_ahc058). Reported, not
asserted.

Run: ``pytest benchmarks/test_bench_atcoder_score.py --benchmark-only``. Each benchmark scores one
strong golden output (a contest-level solver's answer) on its input: the per-case cost inside the
judge, with the input already parsed once (the scorers cache parsed inputs). The ``cold`` variants
include parsing the input text; the ``large`` ones time a 60 MiB AHC039 output of valid polygons and
an AHC058 output with 10^6 comment lines.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from verifiers.atcoder import score_ahc039, score_ahc058

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "atcoder"

# Strong solver outputs: AHC039 seed 1 (504 vertices, score 4154), AHC058 seed 17 (score 5831906).
STRONG = {"ahc039": "ahc039-0002", "ahc058": "ahc058-0023"}
SCORERS = {"ahc039": score_ahc039, "ahc058": score_ahc058}


def _case(problem: str) -> tuple[str, bytes, int]:
    path = DATA_DIR / problem / "golden_scorer.jsonl"
    if not path.is_file():
        pytest.skip(f"golden data not found at {path}")
    with path.open(encoding="utf-8") as fh:
        rec = next(r for r in map(json.loads, fh) if r["id"] == STRONG[problem])
    inp = (DATA_DIR / problem / "in" / f"{rec['input_id']:04d}.txt").read_text(encoding="utf-8")
    out = rec["output"].encode() if rec["output"] is not None else base64.b64decode(rec["output_b64"])
    return inp, out, rec["expected"]["score"]


@pytest.mark.parametrize("problem", ["ahc039", "ahc058"])
def test_bench_score_strong_case(benchmark, problem):
    inp, out, expected = _case(problem)
    mod = SCORERS[problem]
    mod.score(inp, out)  # warm the input cache
    res = benchmark(mod.score, inp, out)
    assert res.verdict == "AC" and res.score == expected


@pytest.mark.parametrize("problem", ["ahc039", "ahc058"])
def test_bench_score_strong_case_cold_input(benchmark, problem):
    inp, out, expected = _case(problem)
    mod = SCORERS[problem]

    def run():
        mod._parse_input_cached.cache_clear()
        return mod.score(inp, out)

    res = benchmark(run)
    assert res.verdict == "AC" and res.score == expected


def test_bench_ahc039_60mib_output(benchmark):
    inp, out, expected = _case("ahc039")
    big = out * ((60 << 20) // len(out))
    score_ahc039.score(inp, out)
    res = benchmark.pedantic(score_ahc039.score, args=(inp, big), rounds=2, iterations=1)
    assert res.verdict == "AC" and res.score == expected


def test_bench_ahc058_million_comment_lines(benchmark):
    inp, out, expected = _case("ahc058")
    big = b"# a comment line\n" * 1_000_000 + out
    score_ahc058.score(inp, out)
    res = benchmark.pedantic(score_ahc058.score, args=(inp, big), rounds=3, iterations=1)
    assert res.verdict == "AC" and res.score == expected
