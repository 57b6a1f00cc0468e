#!/usr/bin/env bash
# Everything a lent GPU session should run, in one device call of under 10 minutes (device time is
# scarce: a machine start costs a minute or more). Writes 8 files (the most a device call returns)
# under ${OUT:-./gpu-session-out}: env.txt, sandbox-diag.log, kern-gpu-tests.log, kern-report.log,
# trimul_gpu_report.json, ab/trimul_gpu_report.json, agent.log, summary.txt
# Each part has its own time limit, so a hang in one still leaves the others' logs.
#   PROFILE=quick|full (timing report, default quick)   SMALL=1 (report on 3 shapes only)
#   PART=all|tests|report: the GPU test file alone has grown to several minutes, so a lease is best
#   spent as two calls: PART=tests (diagnostic + GPU tests, up to 9 min), then PART=report (timing
#   report, waits/calibration A/B, agent). PART=all (default) runs both within the tighter limits below.
#   PART=vm: the virtual-machine check of the TriMul timing (docs/kernels.md): what a user sees with the
#   default profile (kern_user_check.py), the verifier's full-profile scores with and without prewarm_ms,
#   and bare CUDA-event timing of the same kernels side by side (kern_bare_time.py), about 7 minutes.
#   TTTD_DATA_DIR=<carried folder holding trimul.py>: adds TTT-Discover's published kernel to the report and
#   runs its GPU test (never commit that file; carry it in an ignored folder).
set -uo pipefail
part="${PART:-all}"
if [ "$part" = vm ]; then
  cd "$(dirname "$0")/.."
  out="${OUT:-./gpu-session-out}"; mkdir -p "$out"
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
  py="${PYTHON:-python3}"
  { echo "== $(date -u) on $(hostname)"; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv 2>&1
    "$py" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"; } > "$out/env.txt" 2>&1
  published=(); [ -n "${TTTD_DATA_DIR:-}" ] && mapfile -t published < <(find "$TTTD_DATA_DIR" -name '*trimul*.py' | head -1)
  timeout -k 5 100 "$py" tests/kernels/kern_user_check.py > "$out/user-check.log" 2>&1; user_rc=$?
  timeout -k 5 200 "$py" tests/kernels/kern_gpu_report.py --out "$out" --profile full --modes default,compat \
      --prewarm 0,0.5 examples/trimul_triton.py > "$out/kern-report.log" 2>&1; report_rc=$?
  if [ ${#published[@]} -gt 0 ]; then
    timeout -k 5 100 "$py" tests/kernels/kern_gpu_report.py --out "$out/published" --profile full --modes compat \
        --prewarm 0,0.5 "${published[@]}" >> "$out/kern-report.log" 2>&1
  fi
  timeout -k 5 90 "$py" tests/kernels/kern_bare_time.py --out "$out/bare.json" \
      --against "$out/trimul_gpu_report.json,$out/published/trimul_gpu_report.json" \
      examples/trimul_triton.py examples/trimul_torch.py "${published[@]}" > "$out/bare.log" 2>&1; bare_rc=$?
  { echo "exit codes: user check $user_rc, report $report_rc, bare $bare_rc (124 = timed out)"
    cat "$out/user-check.log"; grep -E "^===|host gate|geometric" "$out/kern-report.log" | cut -c1-300
    grep -E "^BARE|^FIDELITY" "$out/bare.log" | cut -c1-400; } > "$out/summary.txt" 2>&1
  cat "$out/summary.txt"
  exit $(( user_rc || report_rc || bare_rc ))
fi
t_tests=270; t_report=130; t_ab=80; t_agent=75
[ "$part" = tests ] && t_tests=500
[ "$part" = report ] && { t_report=280; t_ab=150; t_agent=120; }
cd "$(dirname "$0")/.."
out="${OUT:-./gpu-session-out}"
mkdir -p "$out"
export PYTHONPATH="$PWD:$PWD/tests/agent${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
py="${PYTHON:-python3}"
{
  echo "== $(date -u) on $(hostname)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  "$py" -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__, torch.cuda.get_device_name(0))"
} > "$out/env.txt" 2>&1
diag_rc=0; kern_rc=0; report_rc=0; agent_rc=0
if [ "$part" != report ]; then
timeout -k 5 40 "$py" tests/kernels/kern_gpu_diag.py > "$out/sandbox-diag.log" 2>&1
diag_rc=$?
timeout -k 5 "$t_tests" "$py" -m pytest tests/kernels/test_kern_gpu.py -m gpu -v -rA -p no:cacheprovider --durations=0 \
    > "$out/kern-gpu-tests.log" 2>&1
kern_rc=$?
fi
if [ "$part" != tests ]; then
small=(); [ "${SMALL:-0}" = 1 ] && small=(--small)
# TTT-Discover's published kernel, when a data directory holds it (TTTD_DATA_DIR, e.g. a carried folder).
published=(); [ -n "${TTTD_DATA_DIR:-}" ] && mapfile -t published < <(find "$TTTD_DATA_DIR" -name '*trimul*.py' | head -1)
timeout -k 5 "$t_report" "$py" tests/kernels/kern_gpu_report.py --out "$out" --profile "${PROFILE:-quick}" "${small[@]}" \
    tests/kernels/fixtures/honest_fp32.py examples/trimul_torch.py examples/trimul_triton.py "${published[@]}" \
    > "$out/kern-report.log" 2>&1
report_rc=$?
# What wake-up latency costs: the torch example with blocking vs polling waits, each with the null kernel
# alone and with the busy-kernel ladder (envelope and fence margins), timed even on a noisy host.
timeout -k 5 "$t_ab" "$py" tests/kernels/kern_gpu_report.py --out "$out/ab" --profile quick --small --modes default \
    --waits blocking,polling --calib null,busy --no-noise-check examples/trimul_torch.py >> "$out/kern-report.log" 2>&1
OMP_NUM_THREADS=4 timeout -k 5 "$t_agent" bash scripts/gpu-agent-check.sh > "$out/agent.log" 2>&1
agent_rc=$?
fi
{
  echo "exit codes: sandbox diag $diag_rc, kernel gpu tests $kern_rc, timing report $report_rc, agent $agent_rc (124 = timed out)"
  echo "part: $part"
  [ -f "$out/sandbox-diag.log" ] && grep -E "^(none|unshare|limits|uid|seccomp|landlock|  landlock|full sandbox)" "$out/sandbox-diag.log" | cut -c1-200
  [ -f "$out/kern-gpu-tests.log" ] && grep -E "PASSED|FAILED|ERROR|SKIPPED|passed|failed|probe:|[0-9.]+s call" "$out/kern-gpu-tests.log" | grep -v "::.*PASSED \[" | tail -45
  [ -f "$out/kern-report.log" ] && grep -E "^===|mean|overhead|busy-kernel|noise|^    [a-zA-Z]" "$out/kern-report.log" | grep -v "isolation\|stderr tail" | cut -c1-260
  [ -f "$out/agent.log" ] && grep -E "passed|failed|tok/s|rollouts|train" "$out/agent.log" | tail -12
} > "$out/summary.txt" 2>&1
cat "$out/summary.txt"
exit $(( diag_rc || kern_rc || report_rc || agent_rc ))
