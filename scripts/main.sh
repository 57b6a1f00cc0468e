#!/usr/bin/env bash
# Set up and run the main job offline on embedded defaults: list the problems, then verify the
# example submissions (a sandboxed program and a JSON construction) with `tttd eval`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh plot
.venv/bin/tttd list
echo
.venv/bin/tttd eval ErdosMinOverlap-v0 examples/erdos_pairs.py --budget-s 20
echo
.venv/bin/tttd eval CirclePacking26-v0 examples/cp26_grid.json
