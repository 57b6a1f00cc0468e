"""Judge overhead per case beyond the program's own run time (docs/atcoder.md#running-a-case).

A C++ program that reads nothing and exits: everything measured is the harness (staging the binary
and input, the sandboxed fork + exec, supervision, classification).
Run: .venv/bin/pytest benchmarks/test_bench_atcoder_judge.py --benchmark-only
"""

import shutil
from types import SimpleNamespace

import pytest

from verifiers.atcoder import inputs, judge

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")


@pytest.fixture(scope="module")
def empty_binary():
    c = judge.compile_cpp("int main() { return 0; }\n")
    assert c.ok, c.message
    return c.binary


def _accept(_i, _o):
    return SimpleNamespace(verdict="AC", score=1, message="")


def test_run_case_overhead_small_input(empty_binary, benchmark):
    res = benchmark(lambda: judge.run_case(empty_binary, "10 4 500 1\n"))
    assert res.exitcode == 0


def test_run_case_overhead_ahc039_input(empty_binary, benchmark):
    text = inputs.input_text("ahc039", 0)  # ~120 KB on stdin
    res = benchmark(lambda: judge.run_case(empty_binary, text))
    assert res.exitcode == 0


def test_judge_five_cases_two_cores(empty_binary, benchmark):
    cases = benchmark.pedantic(
        lambda: judge.judge(empty_binary, [0, 1, 2, 3, 4], lambda s: "1\n", _accept), rounds=5, iterations=1
    )
    assert all(c.verdict == "AC" for c in cases)
