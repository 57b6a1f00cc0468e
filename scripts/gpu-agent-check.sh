#!/usr/bin/env bash
# The reference agent on a CUDA machine, one command: the gpu-marked agent tests (bf16 transformers
# backend; vLLM when it is installed) and bf16 speed numbers (sampling tok/s, rollouts/s, train step).
# Needs only torch, transformers, peft, safetensors, tokenizers and pytest (no install step).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"
# The speed numbers are wanted even when a test fails: run both, then report both exit codes.
set +e
"$py" -m pytest -q -p no:cacheprovider -rs -m gpu tests/agent/test_agent_gpu.py
tests_rc=$?
"$py" benchmarks/agent_gpu_bench.py
bench_rc=$?
echo "gpu agent tests exit $tests_rc, bench exit $bench_rc"
exit $(( tests_rc || bench_rc ))
