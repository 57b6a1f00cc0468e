"""``tttd discover``: run the reference agent on a problem (docs/agent.md).

    tttd discover ErdosMinOverlap-v0 --model smollm2 --steps 3
    tttd discover TriMul-H100-v0 --model Qwen/Qwen2.5-Coder-7B-Instruct --backend vllm --steps 50
    tttd discover --resume runs/ErdosMinOverlap-v0/2026-11-22T10-00-00

Registered in the ``tttd.commands`` entry-point group; the submission goes through the ``tttd submit``
command in a subprocess, so this package never imports the leaderboard."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agents.config import AgentConfig, ConfigError, field_help, preset

#: command-line options that map one-to-one onto config fields (flag -> field)
_OPTIONS = {
    "model": str,
    "backend": str,
    "steps": int,
    "groups": int,
    "group_size": int,
    "max_new_tokens": int,
    "temperature": float,
    "sampler": str,
    "beta": str,
    "advantage": str,
    "lr": float,
    "lora_rank": int,
    "budget_s": float,
    "executor": str,
    "workers": int,
    "ray_address": str,
    "seed": int,
    "device": str,
    "runs_dir": str,
    "stop_after": int,
    "wandb": str,
}
#: what may change when resuming (everything else would break the exact continuation)
_RESUMABLE = {
    "steps",
    "stop_after",
    "submit",
    "submit_name",
    "executor",
    "workers",
    "ray_address",
    "runs_dir",
    "max_cost_usd",
}


def add_discover_command(sub) -> None:
    p = sub.add_parser(
        "discover",
        help="run the reference agent (PUCT + entropic test-time training) on a problem",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("problem", metavar="ID", nargs="?", help="problem id, e.g. ErdosMinOverlap-v0 (see `tttd list`)")
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue a run from its last checkpoint; 'latest' is the newest "
        "run (of ID when given) under --runs-dir; with --steps N a finished run goes on to step N",
    )
    p.add_argument(
        "--preset",
        metavar="NAME",
        help="start from named values: paper (TTT-Discover's run: 50 steps of "
        "8×64, LoRA rank 32, lr 4e-5, 26000 tokens, vLLM; a GPU node) or cpu (the defaults)",
    )
    p.add_argument(
        "--config", metavar="FILE", help="a TOML or YAML (.yaml/.yml) config file (fields of agents.config.AgentConfig)"
    )
    helps = field_help()
    for name, typ in _OPTIONS.items():
        p.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=typ,
            default=None,
            help=f"{helps.get(name) or 'config field ' + name} (default {getattr(AgentConfig(), name)!r})",
        )
    p.add_argument(
        "--no-train",
        dest="train",
        action="store_false",
        default=None,
        help="frozen sampling: the same search without updating the model (a baseline)",
    )
    p.add_argument(
        "-o",
        "--opt",
        dest="env_opts",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a problem option passed to gym.make (added to env_kwargs), as for `tttd eval`, e.g. "
        "-o instance=X-n101-k25 for CVRP-v0 or -o instance=ta01 for JSSP-v0",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help='any other config field, e.g. --set puct_c=2 --set env_kwargs=\'{"initial":"constant"}\'',
    )
    p.add_argument(
        "--max-cost",
        dest="max_cost_usd",
        type=float,
        default=None,
        metavar="USD",
        help="stop after the step where the run's cost reaches USD, at the rates set in the config "
        "(gpu_hour_usd, cpu_hour_usd, sampler_usd_per_mtok_*; agents/cost.py); 0 = no limit; "
        "may be raised on --resume",
    )
    p.add_argument(
        "--submit", action="store_true", default=None, help="submit the best artifact to the local leaderboard"
    )
    p.add_argument("--name", dest="submit_name", default=None, help="submitter name for --submit")
    p.add_argument("--quiet", action="store_true", help="no live display (one line per step)")
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config (TOML) and where each part would run, then exit",
    )
    p.set_defaults(func=cmd_discover)


def build_config(args) -> tuple[AgentConfig, Path | None]:
    """Defaults < --preset < --config file < explicit options < --set; on --resume, the run's saved config."""
    explicit = {
        k: getattr(args, k)
        for k in [*_OPTIONS, "train", "submit", "submit_name", "max_cost_usd"]
        if getattr(args, k, None) is not None
    }
    if args.resume:
        run_dir = _latest_run(args) if args.resume == "latest" else Path(args.resume)
        if not (run_dir / "config.toml").is_file():
            raise ConfigError(f"{run_dir} is not a run directory (no config.toml)")
        cfg = AgentConfig.load(run_dir / "config.toml")
        if args.problem and args.problem != cfg.env:
            raise ConfigError(f"{run_dir} is a run of {cfg.env}, not {args.problem}")
        changed = sorted(k for k, v in explicit.items() if k not in _RESUMABLE and v != getattr(cfg, k))
        changed += sorted(i.partition("=")[0] for i in args.overrides if i.partition("=")[0] not in _RESUMABLE)
        if getattr(args, "env_opts", None):
            changed.append("the problem options (-o)")
        if changed or args.config or getattr(args, "preset", None):
            raise ConfigError(
                f"cannot change {', '.join(changed) or 'the config file'} when resuming "
                "(only steps, stop_after, submit, executor, workers, ray_address, max_cost_usd)"
            )
    else:
        run_dir = None
        cfg = AgentConfig.from_dict(preset(args.preset)) if getattr(args, "preset", None) else AgentConfig()
        if args.config:
            for k, v in AgentConfig.read_fields(Path(args.config)).items():
                setattr(cfg, k, v)
        if args.problem:
            cfg.env = args.problem
    for k, v in explicit.items():
        setattr(cfg, k, v)
    cfg.override(args.overrides)
    if getattr(args, "env_opts", None) and not args.resume:
        cfg.env_kwargs = {**cfg.env_kwargs, **_env_options(args.env_opts)}
    return cfg.validate(), run_dir


def _env_options(items: list[str]) -> dict:
    """``-o KEY=VALUE`` items as gym.make keyword arguments (VALUE read as JSON when it parses, else text)."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-o {item!r}: write KEY=VALUE, e.g. -o instance=X-n101-k25")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def submit_options(cfg: AgentConfig) -> list[str]:
    """The ``-o`` options `tttd submit` needs to place the run's best answer on the right board: the
    instance the run targeted, for problems with one board per instance (CVRP-v0, JSSP-v0)."""
    from tttd_envs.registration import PROBLEMS, card

    if cfg.env not in PROBLEMS or not card(cfg.env).board.instances:
        return []
    keys = (card(cfg.env).board.instances, "instance_file")
    return [
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
        for k, v in cfg.env_kwargs.items()
        if k in keys and v is not None
    ]


def _latest_run(args) -> Path:
    """The newest run directory (by its config.toml's time) under --runs-dir, of the problem when one is named."""
    root = Path(args.runs_dir or AgentConfig().runs_dir)
    pattern = f"{args.problem.replace('/', '_')}/*/config.toml" if args.problem else "*/*/config.toml"
    runs = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise ConfigError(
            f"--resume latest: no run under {root}"
            + (f" for {args.problem}" if args.problem else "")
            + "; start one without --resume"
        )
    return runs[-1].parent


def _check_env(cfg: AgentConfig) -> None:
    import importlib

    import gymnasium as gym

    import tttd_envs  # noqa: F401

    for mod in cfg.env_imports:
        importlib.import_module(mod)
    if cfg.env not in gym.registry:
        import difflib

        close = difflib.get_close_matches(cfg.env, list(gym.registry), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; run `tttd list` to see them"
        raise ConfigError(f"unknown problem id {cfg.env!r}{hint}")


def cmd_discover(args) -> int:
    from agents import live, models, rundir
    from agents.loop import Discovery

    cfg, run_dir = build_config(args)
    _check_env(cfg)
    if getattr(args, "print_config", False):
        return _print_config(cfg)
    models.resolve(cfg.model)  # a wrong --model fails before a run directory is made
    live.check(cfg)  # so does wandb = PROJECT without the wandb package
    resume = run_dir is not None
    saved = dataclasses.replace(cfg, stop_after=0)  # --stop-after belongs to this invocation only
    if run_dir is None:
        run_dir = rundir.new_run_dir(cfg.runs_dir, cfg.env)
        saved.save(run_dir / "config.toml")
    elif (cfg.steps, cfg.max_cost_usd) != _steps_and_limit(AgentConfig.load(run_dir / "config.toml")):
        saved.save(run_dir / "config.toml")  # extended (or shortened) run, or a new --max-cost
    display = RichDisplay(quiet=args.quiet)
    disc = Discovery(cfg, run_dir, display=display, resume=resume)
    outputs = live.LiveOutputs(disc, notice=display.notice)  # plots/, tensorboard/, W&B after every step
    disc.hooks.append(outputs)
    _print_estimate(display.console, cfg, disc)
    result = disc.run()
    if result.stop_reason:
        display.console.print(result.stop_reason, style="yellow", markup=False, highlight=False, soft_wrap=True)
    pics = outputs.final_plots(disc)
    best_path = None
    if result.best is not None:
        best_path = rundir.write_best(run_dir, cfg.env, disc.card.artifact if disc.card else "text", result.best)
    summary(display.console, cfg, result, disc.card, pics, best_path)
    if cfg.submit:
        from agents import cost

        return _submit(display.console, cfg, best_path, run_dir, run_cost=cost.run_cost(cfg, result.metrics))
    return 0


def _print_config(cfg: AgentConfig) -> int:
    """The config a run would use, as the TOML it would save, and the placement plan on this machine."""
    from agents import placement
    from agents.loop import _card

    card = _card(cfg.env)
    where = placement.plan(cfg, placement.gpu_count(), times_kernels=card is not None and "device_index" in card.limits)
    sys.stdout.write(cfg.to_toml())
    sys.stdout.write(f"# placement on this machine: {where.describe()}\n")
    return 0


def _steps_and_limit(cfg: AgentConfig) -> tuple[int, float]:
    return cfg.steps, cfg.max_cost_usd


def _print_estimate(console, cfg, disc) -> None:
    """What the run may use from here on (agents/cost.py), on the console and in run.log."""
    import logging

    from agents import cost

    first = disc.step_no + 1
    if first > cfg.steps:
        return
    lines = cost.estimate(
        cfg,
        first_step=first,
        device=cost.device_kind(disc.policy, cfg),
        prompt_tokens=cost.first_prompt_tokens(disc.env, disc.policy, cfg.seed),
        spent_usd=cost.run_total(disc.metrics),
    )
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
        logging.getLogger("tttd.agent").info("%s", line)


def summary(console, cfg, result, card, pics, best_path) -> None:
    from rich.table import Table

    m = result.metrics
    n = sum(x["rollouts"] for x in m)
    valid = sum(x["valid_frac"] * x["rollouts"] for x in m)
    t = Table(title=f"tttd discover {cfg.env}: {result.steps_done}/{cfg.steps} steps", show_header=False)
    t.add_row("run directory", str(result.run_dir))
    t.add_row("model / backend", f"{cfg.model} / {cfg.backend}")
    t.add_row("rollouts (valid)", f"{n} ({int(valid)} valid, {100 * valid / max(n, 1):.0f}%)")
    init = [r["state"] for r in result.archive.to_records() if r.get("initial")]
    if init and init[0].get("score") is not None:
        t.add_row("start state", f"{card.score_label if card else 'score'} {init[0]['score']:.10g}")
    if result.best is not None:
        b = result.best
        t.add_row(
            "best found",
            f"{card.score_label if card else 'score'} {b['state']['score']:.10g} "
            f"(step {b['step']}, reward {b['reward']:.6g})",
        )
        if card is not None:
            for ref in card.references:
                if ref.value is not None:
                    mark = "beats" if card.better(b["state"]["score"], ref.value) else "is behind"
                    t.add_row("", f"{mark} {ref.label} {ref.display} ({ref.who} {ref.year})")
        t.add_row("best artifact", str(best_path))
    else:
        t.add_row("best found", "no valid answer in this run (every rollout was rejected by the verifier)")
    if m:
        tot = {
            k: sum((x.get(k) or 0.0) for x in m)
            for k in ("sample_s", "train_s", "eval_wait_s", "step_s", "sampled_tokens")
        }
        t.add_row(
            "time",
            f"sampling {tot['sample_s']:.1f}s ({tot['sampled_tokens'] / max(tot['sample_s'], 1e-9):.1f} tok/s), "
            f"training {tot['train_s']:.1f}s, waiting for evaluation {tot['eval_wait_s']:.1f}s",
        )
        from agents import cost

        t.add_row("cost", cost.summary_text(cfg, m))
        if result.stop_reason:
            t.add_row("stopped", result.stop_reason.split(";")[0])
    t.add_row("plots", f"{pics[0].parent}/ ({', '.join(p.name for p in pics)})")
    t.add_row(
        "go on",
        f"tttd discover --resume {pics[0].parent.parent} --steps {cfg.steps + max(1, cfg.steps)}"
        "  (more steps from the last checkpoint)",
    )
    console.print(t)


def _submit(console, cfg, best_path, run_dir, run_cost: dict | None = None) -> int:
    """``tttd submit ID FILE --name ... --run-id RUN [--run-cost JSON]`` in a subprocess: the leaderboard
    re-verifies the artifact itself, and this package never imports it. ``run_cost``: the run's cost
    and usage (``agents.cost.run_cost``; cost_usd 0 with ``"rates": "unset"`` when no rate is set)."""
    if best_path is None:
        console.print("[yellow]nothing to submit: no valid answer was found[/]")
        return 1
    name = cfg.submit_name or f"tttd-agent/{cfg.model}"
    # through main() rather than `-m tttd_envs.cli`: run as __main__, that module would be loaded twice
    # and a leaderboard error would print a traceback instead of its one sentence
    cmd = [
        sys.executable,
        "-c",
        "import sys; from tttd_envs.cli import main; sys.exit(main())",
        "submit",
        cfg.env,
        str(best_path),
        "--name",
        name,
        "--run-id",
        Path(run_dir).name,
    ]
    for opt in submit_options(cfg):
        cmd += ["-o", opt]
    if run_cost is not None:
        cmd += ["--run-cost", json.dumps(run_cost, separators=(",", ":"), allow_nan=False)]
    console.print("submitting: tttd " + " ".join(cmd[3:]))
    return subprocess.run(cmd, check=False).returncode


class RichDisplay:
    """Live progress (step, rollouts, valid rate, best) on a terminal; one line per step otherwise."""

    def __init__(self, quiet: bool = False) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.live = not quiet and self.console.is_terminal
        self.groups_lines = not quiet and not self.live  # piped output: a line per group's sampling/evaluation
        self.progress: Any = None  # a rich Progress while live
        self.best = None
        self.valid: list[Any] = []

    def start(self, run_dir, cfg, first_step) -> None:
        self.cfg = cfg
        self.t0 = time.perf_counter()
        self.console.print(
            f"[bold]tttd discover[/] {cfg.env} with {cfg.model} ({cfg.backend}); "
            f"{cfg.groups}×{cfg.group_size} rollouts per step; run directory {run_dir}"
        )
        if first_step > 1:
            self.console.print(f"resuming after step {first_step - 1}")
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.progress.start()
            self.steps_task = self.progress.add_task("steps", total=cfg.steps, completed=first_step - 1, info="")
            self.roll_task = self.progress.add_task("rollouts", total=cfg.groups * cfg.group_size, info="")

    def phase(self, step, text) -> None:
        if self.progress:
            self.progress.update(self.roll_task, description=f"step {step}: {text}")
            if text == "sampling":
                self.progress.update(self.roll_task, completed=0)

    def rollouts(self, step, done, total) -> None:
        if self.progress:
            self.progress.update(self.roll_task, completed=done, total=total)

    def group_sampled(self, step, group, groups, answers, tokens, seconds) -> None:
        if self.groups_lines:
            self.console.print(
                f"step {step}: group {group}/{groups} sampled ({answers} answers, {tokens} tokens, {seconds:.1f}s)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    def group_evaluated(self, step, group, groups, valid, answers, best_reward) -> None:
        if self.groups_lines:
            self.console.print(
                f"step {step}: group {group}/{groups} evaluated: {valid}/{answers} valid, "
                f"best reward {best_reward:.4g}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    def notice(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def step_done(self, m) -> None:
        best = "—" if m["best_score"] is None else f"{m['best_score']:.10g}"
        line = (
            f"step {m['step']}/{self.cfg.steps}: reward mean {m['reward_mean']:.4g} max {m['reward_max']:.4g}, "
            f"valid {100 * m['valid_frac']:.0f}%, best {best}, {m['tokens_per_s'] or 0:.1f} tok/s, "
            f"step {m['step_s']:.1f}s"
        )
        from agents import cost

        if cost.rates_set(self.cfg) and m.get("cost_usd_total") is not None:
            line += f", cost {cost.usd(m['cost_usd_total'])} so far"
        if self.progress:
            self.progress.update(self.steps_task, completed=m["step"], info=f"best {best}")
            self.progress.console.print(line)
        else:
            self.console.print(line)

    def close(self) -> None:
        if self.progress:
            self.progress.stop()
            self.progress = None


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.cli ...`` (the same as ``tttd discover ...``)."""
    from tttd_envs.cli import main as tttd_main

    return tttd_main(["discover", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
