#!/usr/bin/env bash
# Set up and run the main job offline on embedded defaults: list the problems, verify the example
# submissions (a sandboxed program and a JSON construction) with `tttd eval`, then run the reference
# agent with SmolLM2-135M-Instruct on CPU for 2 steps on ErdosMinOverlap-v0 (a few minutes on 2
# cores) and show its plots and the best verified artifact it found (or that it found none).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh agent
.venv/bin/tttd list
echo
.venv/bin/tttd eval ErdosMinOverlap-v0 examples/erdos_pairs.py --budget-s 20
echo
.venv/bin/tttd eval CirclePacking26-v0 examples/cp26_grid.json
echo
.venv/bin/tttd discover ErdosMinOverlap-v0 --model smollm2 --steps 2 --groups 2 --group-size 4 \
  --max-new-tokens 192 --budget-s 10 --seed 0
run=$(ls -d runs/ErdosMinOverlap-v0/*/ | sort | tail -n 1)
echo
echo "plots: ${run}plots/best_so_far.png ${run}plots/reward.png ${run}plots/lineage.png"
if [ -f "${run}best/verdict.json" ]; then
  echo "best verified artifact: $(ls "${run}"best/answer.*)"
  .venv/bin/python -c 'import json, sys; print("verdict:", json.load(open(sys.argv[1]))["message"])' "${run}best/verdict.json"
  head -c 2000 "${run}"best/answer.*
else
  cat "${run}best/NONE.txt"
fi
