"""What a discovery costs: tokens, device-seconds, evaluation CPU-seconds, and dollars at the user's rates.

TTT-Discover's published runs cost about $500 per problem. Every step of ``tttd discover`` records
what it used; the dollars come from rates the user sets in the config (all 0 by default: nothing is
priced, and the figures say so). ``--max-cost USD`` stops a run at the first step boundary where its
cost has reached the limit, after that step's checkpoint, so ``--resume --max-cost MORE`` continues it
exactly.

What each step counts (fields of the step's record in ``metrics.jsonl``):

``prompt_tokens``      tokens the sampler read: Σ over rollouts of the prompt's length in tokens. The
                       rollouts of a group share one prompt and each counts it once, which is what a
                       hosted sampler bills without prompt caching.
``completion_tokens``  tokens the sampler wrote: Σ over rollouts of the answer's length (the same
                       number as ``sampled_tokens``).
``train_tokens``       answer tokens the trainer took a gradient step on (from the policy's update;
                       rollouts of dropped groups, whose advantage is 0, cost nothing).
``sampler_device_s``   ``sample_s`` (wall seconds of the sampling calls) × ``sampler_devices``.
``trainer_device_s``   ``train_s`` (wall seconds of the update) × ``trainer_devices``.
                       A device is one GPU, or on the CPU one core torch computes on (wall seconds ×
                       torch's threads: CPU device-seconds are core-seconds).
``eval_cpu_s``         Σ over rollouts of (a) the sandboxed program's CPU seconds, user + system,
                       from the Verdict's ``details["cpu_s"]`` (math problems; for AtCoder the sum of
                       its test cases' ``cpu_s``), and (b) the CPU seconds the evaluation worker spent
                       in ``env.step`` itself: parsing, checks and scoring outside the sandbox
                       (``eval_cpu_s`` of ``agents.executors.evaluate``).

Not counted: the time between phases (waiting for the last evaluations, checkpoints, plots), the
sandbox server's own work, AtCoder's compile step, and the GPU time of timing a kernel. A machine
rented for the whole run costs its wall time, which is at least this.

Dollars (rates are config fields; ``--set gpu_hour_usd=2.5`` etc.):

``sampler_usd``  with a hosted sampler's token prices set (``sampler_usd_per_mtok_prompt`` or
                 ``sampler_usd_per_mtok_completion``): prompt_tokens × prompt price / 10⁶ +
                 completion_tokens × completion price / 10⁶, and its device-seconds are not also
                 charged; otherwise sampler_device_s / 3600 × the device's hourly rate
                 (``gpu_hour_usd`` on a GPU, ``cpu_hour_usd`` on the CPU).
``trainer_usd``  trainer_device_s / 3600 × the device's hourly rate.
``eval_usd``     eval_cpu_s / 3600 × ``cpu_hour_usd``.
``cost_usd``     their sum; ``cost_usd_total`` the run's cost through this step (carried in the
                 checkpoint, so it keeps counting across ``--resume``). ``cost_device`` says which
                 hourly rate applied ("gpu" or "cpu").
"""

from __future__ import annotations

import math
from typing import Any

#: the config fields that price a run (0 = not charged)
RATE_FIELDS = ("gpu_hour_usd", "cpu_hour_usd", "sampler_usd_per_mtok_prompt", "sampler_usd_per_mtok_completion")
#: fields this module adds to a step's metrics that depend on measured time (or on rates times it)
TIMED_COST_FIELDS = (
    "sampler_device_s",
    "trainer_device_s",
    "eval_cpu_s",
    "sampler_usd",
    "trainer_usd",
    "eval_usd",
    "cost_usd",
    "cost_usd_total",
)
NO_RATES_HINT = (
    "no rates set, nothing priced: set gpu_hour_usd, cpu_hour_usd, sampler_usd_per_mtok_prompt "
    "or sampler_usd_per_mtok_completion (--set KEY=VALUE)"
)


# -- rates and devices --------------------------------------------------------------------------
def rates_set(cfg) -> bool:
    return any(float(getattr(cfg, k)) > 0 for k in RATE_FIELDS)


def hosted_sampler(cfg) -> bool:
    """Token prices set: the sampler is billed per token, not per device-second."""
    return cfg.sampler_usd_per_mtok_prompt > 0 or cfg.sampler_usd_per_mtok_completion > 0


def sampler_devices(cfg, policy=None) -> int:
    """Devices the sampler holds while it samples: its GPUs (vLLM's tensor-parallel size; one for the
    transformers backend), or on the CPU the cores torch computes on."""
    tp = getattr(policy, "tensor_parallel", None)
    return int(tp) if tp and device_kind(policy, cfg) == "gpu" else _cpu_cores(policy)


def trainer_devices(cfg, policy=None) -> int:
    """Devices the trainer holds while it updates: one GPU, or on the CPU the cores torch uses."""
    return _cpu_cores(policy)


def _cpu_cores(policy) -> int:
    """1 on a GPU; on the CPU the policy's torch threads (a CPU-second is a core-second, the unit
    ``cpu_hour_usd`` prices evaluation in too). A policy that does not say counts as 1."""
    dev = getattr(policy, "device", None) or getattr(getattr(policy, "trainer", None), "device", None)
    if policy is None or str(dev).startswith("cuda"):
        return 1
    return max(
        1, int(getattr(policy, "cpu_threads", None) or getattr(getattr(policy, "trainer", None), "cpu_threads", 1) or 1)
    )


def device_kind(policy, cfg) -> str:
    """ "gpu" or "cpu": where the policy runs (its resolved ``device``; the config's when it has none)."""
    dev = getattr(policy, "device", None) or getattr(getattr(policy, "trainer", None), "device", None)
    if dev is None:
        dev = cfg.device if cfg.device != "auto" else "cpu"
    return "gpu" if str(dev).startswith("cuda") else "cpu"


def device_hour_usd(cfg, kind: str) -> float:
    return cfg.gpu_hour_usd if kind == "gpu" else cfg.cpu_hour_usd


# -- one rollout, one step, one run ---------------------------------------------------------------
def rollout_eval_cpu_s(out: dict[str, Any]) -> float:
    """CPU seconds of one rollout's evaluation: the sandboxed program's (Verdict details) plus the
    worker's own in ``env.step`` (see the module docstring)."""
    details = (out.get("verdict") or {}).get("details") or {}
    child = _number(details.get("cpu_s"))
    if child is None and isinstance(details.get("cases"), list):  # AtCoder: one sandbox run per case
        child = sum(_number(c.get("cpu_s")) or 0.0 for c in details["cases"] if isinstance(c, dict))
    return (child or 0.0) + (_number(out.get("eval_cpu_s")) or 0.0)


def step_costs(m: dict[str, Any], results: list[list[dict]], cfg, previous: list[dict], policy=None) -> dict[str, Any]:
    """The cost fields of one step, from its metrics ``m`` (prompt_tokens, sampled_tokens, train_tokens,
    sample_s, train_s), its evaluation results (per group, per rollout) and the earlier steps' metrics."""
    kind = device_kind(policy, cfg)
    rate = device_hour_usd(cfg, kind)
    prompt, completion = int(m.get("prompt_tokens") or 0), int(m.get("sampled_tokens") or 0)
    sampler_s = float(m.get("sample_s") or 0.0) * sampler_devices(cfg, policy)
    trainer_s = float(m.get("train_s") or 0.0) * trainer_devices(cfg, policy)
    eval_s = sum(rollout_eval_cpu_s(o) for res in results for o in res)
    if hosted_sampler(cfg):
        sampler_usd = (
            prompt * cfg.sampler_usd_per_mtok_prompt + completion * cfg.sampler_usd_per_mtok_completion
        ) / 1e6
    else:
        sampler_usd = sampler_s * rate / 3600
    trainer_usd = trainer_s * rate / 3600
    eval_usd = eval_s * cfg.cpu_hour_usd / 3600
    cost = sampler_usd + trainer_usd + eval_usd
    return {
        "completion_tokens": completion,
        "cost_device": kind,
        "sampler_device_s": sampler_s,
        "trainer_device_s": trainer_s,
        "eval_cpu_s": eval_s,
        "sampler_usd": sampler_usd,
        "trainer_usd": trainer_usd,
        "eval_usd": eval_usd,
        "cost_usd": cost,
        "cost_usd_total": run_total(previous) + cost,
    }


def run_total(metrics: list[dict]) -> float:
    """The run's cost so far: the last step's cumulative figure (0 before the first step)."""
    return float(metrics[-1].get("cost_usd_total") or 0.0) if metrics else 0.0


def totals(metrics: list[dict]) -> dict[str, float]:
    """Sums over the steps of a run (for the summary)."""
    keys = (
        "prompt_tokens",
        "completion_tokens",
        "train_tokens",
        "sampler_device_s",
        "trainer_device_s",
        "eval_cpu_s",
        "sampler_usd",
        "trainer_usd",
        "eval_usd",
    )
    out = {k: sum(float(x.get(k) or 0.0) for x in metrics) for k in keys}
    out["cost_usd"] = run_total(metrics)
    return out


def run_cost(cfg, metrics: list[dict]) -> dict[str, Any]:
    """The run's cost as ``tttd submit --run-cost`` takes it (kept with the leaderboard entry): the
    dollars, the usage they come from, and whether any rate was set ("set"/"unset": an unpriced run
    records cost_usd 0 and its usage). Tokens are integers, seconds and dollars 6 significant digits."""
    t = totals(metrics)
    out: dict[str, Any] = {"cost_usd": _short(t["cost_usd"])}
    for k in ("prompt_tokens", "completion_tokens", "train_tokens"):
        out[k] = int(round(t[k]))
    for k in ("sampler_device_s", "trainer_device_s", "eval_cpu_s"):
        out[k] = _short(t[k])
    out["rates"] = "set" if rates_set(cfg) else "unset"
    return out


def _short(x: float) -> float:
    return float(f"{x:.6g}")


def limit_reached(cfg, metrics: list[dict], run_dir=None) -> str | None:
    """A one-sentence reason to stop before the next step, or None (no limit, or still under it)."""
    if cfg.max_cost_usd <= 0 or not metrics:
        return None
    spent = run_total(metrics)
    if spent < cfg.max_cost_usd:
        return None
    step = metrics[-1]["step"]
    return (
        f"stopped after step {step}/{cfg.steps}: the run has cost {usd(spent)}, reaching --max-cost "
        f"{usd(cfg.max_cost_usd)}; step {step} is checkpointed, and `tttd discover --resume "
        f"{run_dir or 'RUN_DIR'} --max-cost USD` with a higher limit continues it"
    )


# -- before a run -------------------------------------------------------------------------------
def estimate(
    cfg, *, first_step: int = 1, device: str = "cpu", prompt_tokens: int | None = None, spent_usd: float = 0.0
) -> list[str]:
    """What the config lets the run use from ``first_step`` to ``cfg.steps``, as lines of text.

    Completion tokens have a true upper bound (every answer as long as max_new_tokens allows), and so
    do train tokens. Prompts have none from the config: ``prompt_tokens`` (the first prompt's length,
    measured) gives an approximate figure, since prompts that show a parent's answer are longer.
    Seconds are not predicted (they depend on the hardware); each step's are measured and priced."""
    steps = max(cfg.steps - first_step + 1, 0)
    rollouts = steps * cfg.groups * cfg.group_size
    comp = rollouts * cfg.max_new_tokens
    lines = [
        f"cost estimate for steps {first_step}..{cfg.steps}: {steps} steps × {cfg.groups} groups × "
        f"{cfg.group_size} answers = {rollouts} rollouts"
    ]
    lines.append(
        f"  completion tokens: at most {comp:,} (upper bound: every answer {cfg.max_new_tokens} tokens, max_new_tokens)"
    )
    lines.append(f"  train tokens: at most {comp if cfg.train else 0:,} (upper bound: the answers)")
    if prompt_tokens is not None:
        lines.append(
            f"  prompt tokens: about {rollouts * prompt_tokens:,} ({prompt_tokens} per rollout, the first "
            "prompt; not a bound: prompts that show a parent's answer are longer)"
        )
    else:
        lines.append("  prompt tokens: not estimated (no prompt measured)")
    if hosted_sampler(cfg):
        comp_usd = comp * cfg.sampler_usd_per_mtok_completion / 1e6
        text = f"  hosted sampler: completion at most {usd(comp_usd)} (upper bound)"
        if prompt_tokens is not None:
            text += f", prompts about {usd(rollouts * prompt_tokens * cfg.sampler_usd_per_mtok_prompt / 1e6)}"
        lines.append(text)
    hourly = []
    if device_hour_usd(cfg, device) > 0:
        hourly.append(
            f"{'GPU' if device == 'gpu' else 'CPU'} time of "
            f"{'training' if hosted_sampler(cfg) else 'sampling and training'} at "
            f"{usd(device_hour_usd(cfg, device))}/device-hour"
        )
    if cfg.cpu_hour_usd > 0:
        hourly.append(f"evaluation CPU time at {usd(cfg.cpu_hour_usd)}/CPU-hour")
    if hourly:
        lines.append(f"  not estimated before the run: {'; '.join(hourly)} (measured and priced each step)")
    if not rates_set(cfg):
        lines.append("  $: " + NO_RATES_HINT)
    if spent_usd > 0:
        lines.append(f"  spent so far: {usd(spent_usd)}")
    if cfg.max_cost_usd > 0:
        lines.append(
            f"  --max-cost {usd(cfg.max_cost_usd)}: the run stops after the first step whose cumulative cost reaches it"
        )
    return lines


def first_prompt_tokens(env, policy, seed: int) -> int | None:
    """The length in tokens of the problem's first prompt (for the estimate), or None if it cannot be made."""
    try:
        obs, _ = env.reset(seed=seed)
        return len(policy.prompt_ids(obs["prompt"]))
    except Exception:  # noqa: BLE001 - the estimate is information only; the run goes on without it
        return None


# -- text ---------------------------------------------------------------------------------------
def usd(x: float) -> str:
    """Dollars: cents from one dollar up, three significant digits below."""
    if x == 0:
        return "$0"
    return f"${x:,.2f}" if abs(x) >= 1 else f"${x:.3g}"


def summary_text(cfg, metrics: list[dict]) -> str:
    """One line for the end-of-run table: the $ and what it is made of."""
    t = totals(metrics)
    head = usd(t["cost_usd"]) if rates_set(cfg) else f"$0 ({NO_RATES_HINT})"
    parts = [f"sampler {usd(t['sampler_usd'])}", f"trainer {usd(t['trainer_usd'])}", f"evaluation {usd(t['eval_usd'])}"]
    use = (
        f"{t['prompt_tokens']:,.0f} prompt + {t['completion_tokens']:,.0f} completion tokens, "
        f"{t['train_tokens']:,.0f} trained; sampler {t['sampler_device_s']:.1f} device-s, trainer "
        f"{t['trainer_device_s']:.1f} device-s, evaluation {t['eval_cpu_s']:.3g} CPU-s"
    )
    return f"{head}" + (f" = {', '.join(parts)}" if rates_set(cfg) else "") + f"; {use}"


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)
