#!/usr/bin/env bash
# Set up (every CPU extra: the agent, molecules, kernels dev mode, Ray, logistics solvers) and run the CPU test suite (GPU-marked tests skip without CUDA). Extra args go to pytest.
# Starts a throwaway PostgreSQL on 127.0.0.1 so the leaderboard tests also run against it
# (TTTD_REQUIRE_POSTGRES=1 makes a failure to start it fatal, as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,agent,mol,mol-data,kernels,ray,logistics
bash scripts/system-deps.sh
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
pgdir=$(mktemp -d)
cleanup() { bash scripts/postgres-test-server.sh stop "$pgdir" >/dev/null 2>&1 || rm -rf "$pgdir"; }
trap cleanup EXIT
if url=$(bash scripts/postgres-test-server.sh start "$pgdir"); then
  export TTTD_TEST_POSTGRES_URL="$url"
elif [ "${TTTD_REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "test.sh: could not start PostgreSQL" >&2
  exit 1
else
  echo "test.sh: PostgreSQL unavailable; the PostgreSQL variants of the leaderboard tests will skip" >&2
fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
