#!/usr/bin/env bash
# Set up and run the main job offline on embedded defaults: list the problems, verify the example
# submissions (a sandboxed program and a JSON construction) with `tttd eval`, then run the reference
# agent (PUCT + entropic test-time training) with SmolLM2-135M-Instruct on CPU for 3 steps on
# AutocorrelationAC2-v0 (examples/discover_ac2_smollm2.toml; a few minutes on 2 cores), and show
# what it trained, its reward curve and the best verified answer it found.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh agent
.venv/bin/tttd list
echo
.venv/bin/tttd eval ErdosMinOverlap-v0 examples/erdos_pairs.py --budget-s 20
echo
.venv/bin/tttd eval CirclePacking26-v0 examples/cp26_grid.json
echo
.venv/bin/tttd discover --config examples/discover_ac2_smollm2.toml
run=$(ls -d runs/AutocorrelationAC2-v0/*/ | sort | tail -n 1)
echo
.venv/bin/python - "$run" <<'PY'
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
print("step  valid  reward mean  reward max  best so far  trained tokens")
for m in rows:
    best = "—" if m["best_reward"] is None else f"{m['best_reward']:.6f}"
    print(f"{m['step']:>4}  {100 * m['valid_frac']:4.0f}%  {m['reward_mean']:11.4f}  {m['reward_max']:10.4f}  "
          f"{best:>11}  {m['train_tokens']:>14}")
print(f"training updates with train_tokens > 0: {sum(m['train_tokens'] > 0 for m in rows)} of {len(rows)} steps")
PY
echo "plots: ${run}plots/best_so_far.png ${run}plots/reward.png ${run}plots/lineage.png"
if [ -f "${run}best/verdict.json" ]; then
  echo "best verified answer: $(ls "${run}"best/answer.*)"
  .venv/bin/python -c 'import json, sys; print("verdict:", json.load(open(sys.argv[1]))["message"])' "${run}best/verdict.json"
  head -c 2000 "${run}"best/answer.*
  echo
else
  cat "${run}best/NONE.txt"
fi
