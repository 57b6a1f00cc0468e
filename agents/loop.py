"""The discovery loop: one step = pick start states, sample, evaluate, update the archive, compute
group advantages, update the policy, checkpoint (docs/agent.md#one-step).

Everything random is derived from (seed, step, group, index) — the archive's picks, the sampler's
generator, the evaluation seeds — so a run resumed from its step-k checkpoint (adapter, optimizer
state and archive restored exactly) repeats steps k+1… of the uninterrupted run bit for bit on CPU.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agents import cost, placement, rundir
from agents.config import AgentConfig
from agents.entropic import group_advantages
from agents.executors import EnvSpec, make_executor
from agents.puct import Archive, ArchiveConfig

log = logging.getLogger("tttd.agent")

#: metrics that measure time (they differ between two otherwise identical runs)
TIMING_FIELDS = (
    "sample_s",
    "eval_s",
    "eval_wait_s",
    "train_s",
    "other_s",
    "step_s",
    "tokens_per_s",
    "rollouts_per_s",
    "other_frac",
) + cost.TIMED_COST_FIELDS


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (stable across processes and Python versions)."""
    h = hashlib.sha256(":".join(str(int(p)) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


class NullDisplay:
    def start(self, run_dir: Path, cfg: AgentConfig, first_step: int) -> None: ...
    def phase(self, step: int, text: str) -> None: ...
    def rollouts(self, step: int, done: int, total: int) -> None: ...
    # progress inside a step, per group (``group`` counts from 1)
    def group_sampled(self, step: int, group: int, groups: int, answers: int, tokens: int, seconds: float) -> None: ...
    def group_evaluated(
        self, step: int, group: int, groups: int, valid: int, answers: int, best_reward: float
    ) -> None: ...
    def step_done(self, metrics: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    steps_done: int
    metrics: list[dict[str, Any]]
    best: dict[str, Any] | None  # {"state": ..., "verdict": ..., "reward": ..., "step": ...}
    archive: Archive
    stop_reason: str | None = None  # why it stopped before `steps` (--max-cost), else None


class Discovery:
    """A run: its directory, env (for prompts), executor, policy and archive."""

    def __init__(self, cfg: AgentConfig, run_dir: Path, *, policy=None, display=None, resume: bool = False) -> None:
        self.cfg = cfg.validate()
        self.run_dir = Path(run_dir)
        for sub in ("adapters", "plots", "best"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        self.display = display or NullDisplay()
        #: step hooks: ``after_step(discovery, metrics)`` once each step is checkpointed, ``close()`` at the
        #: end of ``run`` (agents.live.LiveOutputs: plots, TensorBoard, W&B); they must not raise
        self.hooks: list = []
        self.card = _card(cfg.env)
        kwargs = dict(cfg.env_kwargs)
        if self.card is not None and "budget_s" in self.card.limits and "budget_s" not in kwargs:
            kwargs["budget_s"] = cfg.budget_s
        times_kernels = self.card is not None and "device_index" in self.card.limits
        self.plan = placement.plan(cfg, placement.gpu_count(), times_kernels=times_kernels)
        self.env_spec = EnvSpec(cfg.env, kwargs, tuple(cfg.env_imports))
        self.env = self.env_spec.make()  # prompts (and the initial state) in this process
        self.env_spec = dataclasses.replace(self.env_spec, gpus=self.plan.eval_gpus)  # workers: their own GPUs
        self._log_handler = _file_log(self.run_dir / "run.log")
        log.info("placement: %s", self.plan.describe())
        self.policy = policy if policy is not None else build_policy(cfg, self.plan, str(self.run_dir))
        trainer = getattr(self.policy, "trainer", self.policy)
        if getattr(trainer, "sharded", False) is True:
            log.info("fsdp: rank 0 holds %.1f%% of the decoder layers' weights", 100 * trainer.held)
        self.archive = Archive(
            ArchiveConfig(
                cfg.sampler,
                cfg.puct_c,
                cfg.archive_cap,
                cfg.topk_children,
                cfg.puct_fill,
                cfg.greedy_eps,
                visit_unit=cfg.group_size if cfg.puct_group_visits else 1,
            )
        )
        self.metrics: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.step_no = 0
        if resume and (ck := rundir.latest_checkpoint(self.run_dir)) is not None:
            self._restore(*ck)
        else:
            for init in initial_states(self.env, cfg.seed, cfg.groups):
                self.archive.add_initial(init)
            rundir.write_jsonl(self.run_dir / "archive.jsonl", self.archive.to_records())
            rundir.write_jsonl(self.run_dir / "metrics.jsonl", [])
        self.executor = make_executor(cfg.executor, self.env_spec, workers=cfg.workers, ray_address=cfg.ray_address)

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> RunResult:
        cfg = self.cfg
        self.display.start(self.run_dir, cfg, self.step_no + 1)
        log.info(
            "run %s: %s with %s (%s backend), steps %d..%d",
            self.run_dir,
            cfg.env,
            cfg.model,
            cfg.backend,
            self.step_no + 1,
            cfg.steps,
        )
        done_now, stop_reason = 0, None
        try:
            while self.step_no < cfg.steps and not (cfg.stop_after and done_now >= cfg.stop_after):
                if (stop_reason := cost.limit_reached(cfg, self.metrics, self.run_dir)) is not None:
                    log.info("%s", stop_reason)  # --max-cost: at a step boundary, after its checkpoint
                    break
                self.step(self.step_no + 1)
                done_now += 1
        finally:
            for hook in self.hooks:
                hook.close()
            self.executor.close()
            if hasattr(self.policy, "close"):  # a vLLM server tttd started stops with the run
                self.policy.close()
            self.display.close()
            log.removeHandler(self._log_handler)
            self._log_handler.close()
        return RunResult(self.run_dir, self.step_no, self.metrics, self.best, self.archive, stop_reason)

    def _sample_groups(self, t: int, starts: list[dict]):
        """(group, start state, rollouts, sampling seconds) per group. A policy with ``sample_batch``
        (vLLM) gets every group of the step in one request, so the engine batches groups × group_size
        sequences; otherwise groups are sampled one at a time and the caller evaluates each group while
        the next one samples."""
        cfg, pol = self.cfg, self.policy
        prompts = []
        for g, start in enumerate(starts):
            obs, _ = self.env.reset(seed=derive_seed(cfg.seed, t, g, 0xB), options={"state": start})
            prompts.append(pol.prompt_ids(obs["prompt"]))
        seeds = [derive_seed(cfg.seed, t, g, 0xC) for g in range(len(starts))]
        if hasattr(pol, "sample_batch"):
            t0 = time.perf_counter()
            batch = pol.sample_batch([(ids, cfg.group_size, seed) for ids, seed in zip(prompts, seeds)])
            dt = (time.perf_counter() - t0) / max(1, len(starts))
            for g, (start, rolls) in enumerate(zip(starts, batch)):
                yield g, start, rolls, dt
            return
        for g, (start, ids, seed) in enumerate(zip(starts, prompts, seeds)):
            t0 = time.perf_counter()
            rolls = pol.sample(ids, cfg.group_size, seed=seed)
            yield g, start, rolls, time.perf_counter() - t0

    def step(self, t: int) -> dict[str, Any]:
        cfg, pol = self.cfg, self.policy
        t_step = time.perf_counter()
        starts = self.archive.select(cfg.groups, rng=random.Random(derive_seed(cfg.seed, t, 0xA)))
        self.display.phase(t, "sampling")
        sample_s, n_tokens, n_prompt = 0.0, 0, 0
        groups: list[tuple[dict, list, list]] = []  # (start state, rollouts, futures)
        reported = 0  # groups whose evaluation was reported to the display
        total = cfg.groups * cfg.group_size
        for g, start, rolls, dt in self._sample_groups(t, starts):
            sample_s += dt
            n_tokens += sum(len(r.answer_ids) for r in rolls)
            n_prompt += sum(len(r.prompt_ids) for r in rolls)
            # evaluation of this group overlaps with sampling of the next
            futs = [
                self.executor.submit(start, r.text, derive_seed(cfg.seed, t, g, i, 0xD)) for i, r in enumerate(rolls)
            ]
            groups.append((start, rolls, futs))
            self.display.group_sampled(t, g + 1, len(starts), len(rolls), sum(len(r.answer_ids) for r in rolls), dt)
            while reported < len(groups) and all(f.done() for f in groups[reported][2]):
                self._group_evaluated(t, reported, len(starts), [f.result() for f in groups[reported][2]])
                reported += 1
            self.display.rollouts(t, sum(f.done() for _, _, fs in groups for f in fs), total)
        self.display.phase(t, "evaluating")
        t0 = time.perf_counter()
        results: list[list[Any]] = []
        for _, _, futs in groups:
            res = []
            for f in futs:
                res.append(f.result())
                self.display.rollouts(t, sum(len(r) for r in results) + len(res), total)
            if len(results) >= reported:
                self._group_evaluated(t, len(results), len(starts), res)
            results.append(res)
        eval_wait_s = time.perf_counter() - t0

        # archive: every rollout is a visit; valid children are inserted (in a fixed order)
        for (start, rolls, _), res in zip(groups, results):
            for _r, out in zip(rolls, res):
                child = out["state"]
                if child is not None:
                    child = {**child, "timestep": t}
                self.archive.record(start["id"], child)
                if (
                    out["accepted"]
                    and child is not None
                    and child.get("value") is not None
                    and (self.best is None or child["value"] > self.best["state"]["value"])
                ):
                    self.best = {"state": child, "verdict": out["verdict"], "reward": out["reward"], "step": t}

        # advantages per group; constant groups carry no signal and are dropped
        all_rolls, all_adv, betas, dropped = [], [], [], 0
        rewards = [[o["reward"] for o in res] for res in results]
        for (_, rolls, _), rw in zip(groups, rewards):
            adv, beta = group_advantages(rw, method=cfg.advantage, beta=cfg.beta_value)
            if not adv.any():
                dropped += 1
            else:
                betas.append(beta)
            all_rolls += rolls
            all_adv += adv.tolist()
        self.display.phase(t, "training")
        stats = (
            pol.update(all_rolls, all_adv)
            if cfg.train
            else {"loss": 0.0, "train_tokens": 0, "rho_mean": 1.0, "train_s": 0.0}
        )
        train_s = stats["train_s"]

        flat = [x for rw in rewards for x in rw]
        valid = [o["accepted"] for res in results for o in res]
        best = self.best
        m = {
            "step": t,
            "rollouts": len(flat),
            "reward_mean": sum(flat) / len(flat),
            "reward_max": max(flat),
            "valid_frac": sum(valid) / len(valid),
            "best_score": best["state"]["score"] if best else None,
            "best_value": best["state"]["value"] if best else None,
            "best_reward": best["reward"] if best else None,
            "beta": betas,
            "beta_mean": (sum(betas) / len(betas)) if betas else None,
            "adv_min": min(all_adv),
            "adv_max": max(all_adv),
            "groups_dropped": dropped,
            "groups": len(groups),
            "loss": stats["loss"],
            "rho_mean": stats["rho_mean"],
            "train_tokens": stats["train_tokens"],
            "sampled_tokens": n_tokens,
            "prompt_tokens": n_prompt,
            "clip_frac": stats.get("clip_frac", 0.0),
            "archive_size": len(self.archive.states),
            "start_ids": [s["id"] for s in starts],
            "sample_s": sample_s,
            "eval_wait_s": eval_wait_s,
            "train_s": train_s,
            "tokens_per_s": n_tokens / sample_s if sample_s > 0 else None,
            "rollouts_per_s": len(flat) / sample_s if sample_s > 0 else None,
        }
        m.update(cost.step_costs(m, results, cfg, self.metrics, pol))  # tokens, device-seconds, $ (agents/cost.py)
        self.step_no = t
        self.metrics.append(m)
        self._checkpoint(t)
        m["step_s"] = time.perf_counter() - t_step
        m["other_s"] = m["step_s"] - sample_s - train_s
        m["other_frac"] = m["other_s"] / m["step_s"]
        rundir.write_jsonl(self.run_dir / "metrics.jsonl", self.metrics)  # with the timings of this step
        log.info(
            "step %d: reward mean %.4g max %.4g, valid %.0f%%, best %s, dropped %d/%d groups, "
            "sample %.1fs eval-wait %.1fs train %.1fs other %.1fs",
            t,
            m["reward_mean"],
            m["reward_max"],
            100 * m["valid_frac"],
            m["best_score"],
            dropped,
            len(groups),
            sample_s,
            eval_wait_s,
            train_s,
            m["other_s"],
        )
        verdicts = Counter(
            f"{o['verdict'].get('status')}: {str(o['verdict'].get('message', ''))[:160]}"
            for res in results
            for o in res
            if not o["accepted"]
        )
        for msg, k in verdicts.most_common(3):
            log.info("  %d× %s", k, msg)
        for hook in self.hooks:
            hook.after_step(self, m)
        self.display.step_done(m)
        return m

    def _group_evaluated(self, t: int, g: int, groups: int, outs: list[dict]) -> None:
        self.display.group_evaluated(
            t, g + 1, groups, sum(bool(o["accepted"]) for o in outs), len(outs), max(o["reward"] for o in outs)
        )

    # -- checkpoints ---------------------------------------------------------------------------
    def _checkpoint(self, t: int) -> None:
        state = {
            "step": t,
            "archive": self.archive.to_records(),
            "metrics": self.metrics,
            "best": self.best,
            "config": self.cfg.to_dict(),
        }
        rundir.write_checkpoint(self.run_dir, t, self.policy, state)
        rundir.write_jsonl(self.run_dir / "archive.jsonl", self.archive.to_records())
        rundir.write_jsonl(self.run_dir / "metrics.jsonl", self.metrics)
        if self.best is not None:
            rundir.write_best(self.run_dir, self.cfg.env, self.card.artifact if self.card else "text", self.best)
        else:
            rundir.write_no_best(self.run_dir)

    def _restore(self, step: int, directory: Path) -> None:
        state = json.loads((directory / "checkpoint.json").read_text(encoding="utf-8"))
        self.archive = Archive.from_records(state["archive"], self.archive.config)
        self.metrics = state["metrics"]
        self.best = state["best"]
        self.step_no = int(state["step"])
        self.policy.load(directory)
        # the top-level views may be ahead of the checkpoint if the run was killed mid-step
        rundir.write_jsonl(self.run_dir / "archive.jsonl", self.archive.to_records())
        rundir.write_jsonl(self.run_dir / "metrics.jsonl", self.metrics)
        log.info("resumed %s after step %d", self.run_dir, self.step_no)


def initial_states(env, seed: int, groups: int) -> list[dict]:
    """``groups`` initial states, one per group of the first step, as the reference starts its archive.

    Each comes from ``env.reset`` with its own seed, so a random initial state gives ``groups``
    different ones. Identical ones (a fixed or published start) are kept as distinct archive entries
    with the slot in their id, so step 1 still expands ``groups`` separate trees rather than one."""
    out: list[dict] = []
    for g in range(groups):
        _, info = env.reset(seed=seed if g == 0 else derive_seed(seed, g, 0xE))
        st = info["state"]
        st = dict(st.to_dict() if hasattr(st, "to_dict") else st)
        if any(o["id"] == st["id"] for o in out):
            st["id"] = f"{st['id']}-{g}"
        out.append(st)
    return out


def build_policy(cfg: AgentConfig, plan=None, log_dir: str = ""):
    from agents import models
    from agents.placement import gpu_index
    from agents.transformers_policy import PolicySettings, TransformersPolicy

    spec = models.resolve(cfg.model)
    settings = PolicySettings.from_config(cfg)
    if plan is not None:
        settings.device = plan.trainer[0]
    make_trainer = TransformersPolicy.from_spec
    if plan is not None and len(plan.trainer) > 1:  # data-parallel training (agents/data_parallel.py)
        from agents.data_parallel import DataParallelTrainer

        def make_trainer(spec, settings):
            return DataParallelTrainer(spec, settings, plan.trainer)

    if cfg.backend == "vllm":
        from agents.vllm_policy import VLLMPolicy, engine_kwargs

        kw: dict[str, Any] = {"adapter_dir": cfg.vllm_adapter_dir, "make_trainer": make_trainer}
        if plan is not None:
            kw.update(
                gpus=tuple(i for i in map(gpu_index, plan.sampler) if i is not None),
                sleep=plan.sleep_sampler,
                **engine_kwargs(cfg, plan),
            )
        if cfg.vllm_server:
            from agents.vllm_server import VLLMServerPolicy

            return VLLMServerPolicy.from_spec(
                spec,
                settings,
                server=cfg.vllm_server,
                python=cfg.vllm_server_python,
                timeout_s=cfg.vllm_server_timeout_s,
                log_dir=log_dir,
                **kw,
            )
        return VLLMPolicy.from_spec(spec, settings, **kw)
    return make_trainer(spec, settings)


def _card(env_id: str):
    from tttd_envs.registration import PROBLEMS, card

    return card(env_id) if env_id in PROBLEMS else None


def _file_log(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler
