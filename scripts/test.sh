#!/usr/bin/env bash
# Set up and run the CPU test suite (GPU-marked tests skip without CUDA). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
