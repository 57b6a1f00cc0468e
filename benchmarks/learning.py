"""Does the agent learn? Test-time training against frozen sampling and best-of-N, on a real problem.

Three arms at the same rollout budget and the same seeds, each a real `tttd discover` run with the
offline default model (SmolLM2-135M-Instruct) on CPU:

- ``ttt``:       PUCT + entropic test-time training of the LoRA adapter (the method);
- ``frozen``:    the same search with ``--no-train`` (frozen sampling, PUCT reuse of states);
- ``best-of-n``: ``--no-train --set sampler=fixed``: every group starts from an initial state.

The problem is AutocorrelationAC2-v0 answered with a JSON construction: every nonnegative list is a
valid step function, so a 135M model gets a valid answer often enough for a group to have a spread
of rewards (the reward is the exact C2 lower bound, about 0.5–0.9). The answer starts with ``[`` and
stops at the first ``]`` (``answer_prefix`` / ``stop``): format help, never a repaired answer.

    .venv/bin/python benchmarks/learning.py                       # 3 arms × 3 seeds, default steps
    .venv/bin/python benchmarks/learning.py --steps 4 --seeds 0   # a quick look
    .venv/bin/python benchmarks/learning.py --report benchmarks/results/learning   # table + plot again

It writes ``<out>/runs/`` (every run directory), ``<out>/learning.json`` (per arm, seed and step:
best and mean reward), ``<out>/learning.md`` (the table) and ``<out>/learning.png`` (the plot).
Not part of CI: a full run takes about an hour and a half on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = "AutocorrelationAC2-v0"
ARMS = {
    "ttt": [],
    "frozen": ["--no-train"],
    "best-of-n": ["--no-train", "--set", "sampler=fixed"],
    # not run by default: the same method with a third of the learning rate (--arms ttt-lr1e-4)
    "ttt-lr1e-4": ["--set", "lr=1e-4"],
}
DEFAULT_ARMS = ["ttt", "frozen", "best-of-n"]
#: the run's configuration, the same for every arm (only the flags above differ)
COMMON = [
    "--model",
    "smollm2",
    "--groups",
    "2",
    "--group-size",
    "8",
    "--max-new-tokens",
    "48",
    "--set",
    "answer_prefix=[1, ",
    "--set",
    'stop=["]"]',
    "--set",
    "lr=3e-4",
    "--set",
    "lora_rank=16",
    "--executor",
    "thread",
    "--workers",
    "1",
    "--set",
    "threads=1",
    "--quiet",
]


def run_one(arm: str, seed: int, steps: int, out: Path) -> dict:
    runs = out / "runs" / f"{arm}-seed{seed}"
    cmd = [
        sys.executable,
        "-m",
        "tttd_envs.cli",
        "discover",
        ENV,
        *COMMON,
        *ARMS[arm],
        "--steps",
        str(steps),
        "--seed",
        str(seed),
        "--runs-dir",
        str(runs),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{arm} seed {seed} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    run_dir = sorted((runs / ENV).iterdir())[-1]
    metrics = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x.strip()]
    print(
        f"  {arm:10s} seed {seed}: {wall / 60:.1f} min, best reward {max(m['reward_max'] for m in metrics):.4f}",
        flush=True,
    )
    return {
        "arm": arm,
        "seed": seed,
        "wall_s": wall,
        "run_dir": str(run_dir.relative_to(out)),
        "steps": [
            {
                "step": m["step"],
                "reward_max": m["reward_max"],
                "reward_mean": m["reward_mean"],
                "valid_frac": m["valid_frac"],
                "train_tokens": m.get("train_tokens", 0),
                "groups_dropped": m["groups_dropped"],
            }
            for m in metrics
        ],
    }


def best_so_far(steps: list[dict]) -> list[float]:
    out, best = [], float("-inf")
    for s in steps:
        best = max(best, s["reward_max"])
        out.append(best)
    return out


def _ms(xs: list[float]) -> tuple[float, float]:
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def report(out: Path) -> None:
    data = json.loads((out / "learning.json").read_text())
    runs = data["runs"]
    arms = [a for a in ARMS if any(r["arm"] == a for r in runs)]
    seeds = sorted({r["seed"] for r in runs})
    n_steps = min(len(r["steps"]) for r in runs)
    per = {a: [r for r in runs if r["arm"] == a] for a in arms}
    lines = [
        f"`{ENV}`, SmolLM2-135M-Instruct on CPU, {data['groups']}×{data['group_size']} rollouts per step, "
        f"{n_steps} steps, seeds {', '.join(map(str, seeds))}; mean ± standard deviation across seeds.",
        "",
        "| arm | best reward (final) | mean reward, first step | mean reward, last 3 steps | valid, last 3 steps "
        "| trained tokens | minutes per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in arms:
        rs = per[a]
        fin = _ms([best_so_far(r["steps"])[n_steps - 1] for r in rs])
        first = _ms([r["steps"][0]["reward_mean"] for r in rs])
        last = _ms([statistics.fmean(s["reward_mean"] for s in r["steps"][n_steps - 3 : n_steps]) for r in rs])
        valid = _ms([statistics.fmean(s["valid_frac"] for s in r["steps"][n_steps - 3 : n_steps]) for r in rs])
        tok = statistics.fmean(sum(s["train_tokens"] for s in r["steps"]) for r in rs)
        wall = _ms([r["wall_s"] / 60 for r in rs])
        lines.append(
            f"| {a} | {fin[0]:.4f} ± {fin[1]:.4f} | {first[0]:.4f} ± {first[1]:.4f} | "
            f"{last[0]:.4f} ± {last[1]:.4f} | {100 * valid[0]:.0f}% ± {100 * valid[1]:.0f}% | {tok:,.0f} | "
            f"{wall[0]:.1f} ± {wall[1]:.1f} |"
        )
    lines += [
        "",
        "Per seed, best reward after the last step: "
        + "; ".join(
            f"{a} "
            + ", ".join(f"{best_so_far(r['steps'])[n_steps - 1]:.4f}" for r in sorted(per[a], key=lambda r: r["seed"]))
            for a in arms
        )
        + ".",
    ]
    lines += [
        "",
        "Per step (mean ± standard deviation across seeds): best reward so far / mean reward of the step.",
        "",
        "| step | " + " | ".join(arms) + " |",
        "|---|" + "---|" * len(arms),
    ]
    for t in range(n_steps):
        cells = []
        for a in arms:
            b = _ms([best_so_far(r["steps"])[t] for r in per[a]])
            m = _ms([r["steps"][t]["reward_mean"] for r in per[a]])
            cells.append(f"{b[0]:.4f} ± {b[1]:.4f} / {m[0]:.4f} ± {m[1]:.4f}")
        lines.append(f"| {t + 1} | " + " | ".join(cells) + " |")
    (out / "learning.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    _plot(per, n_steps, out / "learning.png", data)


def _plot(per: dict, n_steps: int, path: Path, data: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    x = list(range(1, n_steps + 1))
    for k, (a, rs) in enumerate(per.items()):
        for ax, series in (
            (axes[0], [best_so_far(r["steps"])[:n_steps] for r in rs]),
            (axes[1], [[s["reward_mean"] for s in r["steps"][:n_steps]] for r in rs]),
        ):
            mean = [statistics.fmean(col) for col in zip(*series)]
            lo = [min(col) for col in zip(*series)]
            hi = [max(col) for col in zip(*series)]
            ax.plot(x, mean, marker="o", ms=3, color=f"C{k}", label=f"{a} (mean of {len(rs)} seeds)")
            ax.fill_between(x, lo, hi, color=f"C{k}", alpha=0.15)
    axes[0].set_title("best reward so far (band: min–max over seeds)")
    axes[1].set_title("mean reward per step (band: min–max over seeds)")
    for ax in axes:
        ax.set_xlabel("step")
        ax.set_ylabel(f"reward (C2 lower bound, {ENV})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"SmolLM2-135M on 2 CPU cores, {data['groups']}×{data['group_size']} rollouts per step", fontsize=10)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    os.replace(tmp, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--arms", nargs="+", default=DEFAULT_ARMS, choices=list(ARMS))
    ap.add_argument("--parallel", type=int, default=2, help="runs at a time (each uses one torch thread)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "learning")
    ap.add_argument("--report", type=Path, metavar="OUT", help="only rewrite the table and plot from OUT/learning.json")
    args = ap.parse_args(argv)
    if args.report:
        report(args.report)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(a, s) for s in args.seeds for a in args.arms]
    print(f"{len(jobs)} runs of {args.steps} steps, {args.parallel} at a time, into {args.out}", flush=True)
    with ThreadPoolExecutor(args.parallel) as pool:
        runs = list(pool.map(lambda j: run_one(j[0], j[1], args.steps, args.out), jobs))
    path = args.out / "learning.json"
    if path.is_file():  # keep the other arms' and seeds' runs of an earlier invocation
        done = {(r["arm"], r["seed"]) for r in runs}
        runs = [r for r in json.loads(path.read_text())["runs"] if (r["arm"], r["seed"]) not in done] + runs
    path.write_text(
        json.dumps(
            {
                "env": ENV,
                "command": COMMON,
                "arms": ARMS,
                "groups": 2,
                "group_size": 8,
                "steps": args.steps,
                "runs": runs,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    report(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
