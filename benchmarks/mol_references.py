"""Reference baseline numbers for every molecule task (docs/molecules.md#references, docs/molecules.md#tasks):
the floor of every board.

    OMP_NUM_THREADS=1 python benchmarks/mol_references.py --out mol_references_v0.json \
        [--budgets 100 1000] [--seeds 0 1 2 3 5] [--ga-budget 1000] [--ga-seeds 0 1]

Random screening runs over every (id, task) including the hidden tasks (their rows are marked
"targets drawn from the screening library"); Graph GA over the public tasks. Each row records the
library, the seeds, the per-seed AUC top-10 and top-10, and their mean and standard deviation.
A script, not a test: a full run takes tens of minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import gymnasium as gym

import tttd_envs  # noqa: F401 - registers the ids
from agents.baselines import molecules_graph_ga as B
from verifiers.molecules import data, objectives


def _row(env_id: str, task: str, method: str, budget: int, seeds: list[int], library: list[str], lib_name: str):
    runs = []
    for seed in seeds:
        env = gym.make(env_id, task=task, budget=budget, max_steps=10 * budget)
        fn = B.random_screening if method == "random" else B.graph_ga
        t0 = time.perf_counter()
        m = fn(env, library, seed)
        runs.append(
            {
                "seed": seed,
                "metric": m["metric"],
                "value": m["metric_value"],
                "top10": m["top10"],
                "calls": m["calls"],
                "wall_s": round(time.perf_counter() - t0, 2),
            }
        )
        env.close()
    values = [r["value"] for r in runs]
    row = {
        "id": env_id,
        "task": task,
        "method": method,
        "budget": budget,
        "library": lib_name,
        "runs": runs,
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }
    if task == "hidden":
        row["note"] = "targets drawn from the screening library (dev pool)"
    print(
        json.dumps({k: row[k] for k in ("id", "task", "method", "budget", "mean", "std")}), file=sys.stderr, flush=True
    )
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--out", required=True)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 5])
    ap.add_argument("--ga-budget", type=int, default=1000)
    ap.add_argument("--ga-seeds", type=int, nargs="*", default=[0, 1])
    args = ap.parse_args(argv)
    lib_name = "zinc250k"
    try:
        library = data.zinc250k()
    except data.DataUnavailable:
        library, lib_name = data.nci5k(), "nci5k"
    rows = []
    for env_id in objectives.OBJECTIVES:
        for task in objectives.tasks(env_id):
            for budget in args.budgets:
                rows.append(_row(env_id, task, "random", budget, args.seeds, library, lib_name))
            if args.ga_seeds and task != "hidden":
                rows.append(_row(env_id, task, "graph-ga", args.ga_budget, args.ga_seeds, library, lib_name))
            with open(args.out, "w") as fh:  # rewritten as it goes: a partial run keeps its rows
                json.dump({"version": "v0", "rdkit": "2026.09.1", "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
