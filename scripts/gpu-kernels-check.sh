#!/usr/bin/env bash
# GPU checks for the TriMul kernel envs (specs/kernels.md §7.2), for a machine with a CUDA GPU.
# Runs the @gpu tests of tests/kernels and the timing report (reference-style fp32 kernel and the two
# examples, default and gpumode_compat protocols). Logs and JSON go to ${OUT:-./gpu-kernels-out}.
# Needs: python3 with torch (CUDA), triton, numpy, pytest; gymnasium is not needed.
#   PROFILE=quick|full (default quick)   SMALL=1 (3 correctness cases, 3 shapes: a smoke run)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-./gpu-kernels-out}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
py="${PYTHON:-python3}"
{
  echo "== $(date -u) on $(hostname)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  "$py" -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__, torch.cuda.get_device_name(0))"
} 2>&1 | tee "$out/env.txt"
# Can CUDA start inside the sandbox at all? One line per confinement layer (needs root; ~20 s).
"$py" tests/kernels/kern_gpu_diag.py 2>&1 | tee "$out/sandbox-diag.log"
"$py" -m pytest tests/kernels/test_kern_gpu.py -m gpu -v -rA -p no:cacheprovider 2>&1 | tee "$out/gpu-tests.log"
tests_rc=${PIPESTATUS[0]}
small=(); [ "${SMALL:-0}" = 1 ] && small=(--small)
"$py" tests/kernels/kern_gpu_report.py --out "$out" --profile "${PROFILE:-quick}" "${small[@]}" \
    tests/kernels/fixtures/honest_fp32.py examples/trimul_torch.py examples/trimul_triton.py 2>&1 | tee "$out/report.log"
report_rc=${PIPESTATUS[0]}
echo "gpu tests exit $tests_rc, report exit $report_rc"
exit $(( tests_rc || report_rc ))
