"""Molecule discovery (docs/molecules.md): one env class per id, the task chosen with ``task=``.

A run is a PMO-style budget episode: each step submits up to 100 molecules (a SMILES list, or a
program run in the sandbox that prints one), each new valid molecule is charged one oracle call,
and the run metric is the AUC of the zero-padded top-10 (coverage for isomers) with the
fill-to-budget rule. The run itself (charging, end of run, rewards, run log) is
``verifiers.molecules.run.MoleculeRun``; this env is its Gymnasium face (prompt, state, render).
RDKit is imported lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tttd_envs.env import DiscoveryEnv
from tttd_envs.problems.molecules_cards import FAMILY, card_for, task_statement
from tttd_envs.spaces import UnicodeText
from tttd_envs.state import State

# the run log's item codec, importable from here too (its home is the run)
from verifiers.molecules.run import LOG_ITEM_BYTES, log_item, replay_item  # noqa: F401

MAX_ACTION_CHARS = 1 << 20
MAX_PROMPT_CHARS = 1 << 20


class MoleculeEnv(DiscoveryEnv):
    """Base of the molecule envs; see a concrete id's docstring (``help(env.unwrapped)``)."""

    reset_options = ("task", "start_pool", "state")

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        task: str | None = None,
        budget: int | None = 1000,
        episode: str = "budget",
        action_mode: str = "auto",
        reward_mode: str = "delta",
        start_pool: int = 0,
        start_pool_source: str = "zinc250k",
        target_pool: str = "dev",
        ledger: str | None = None,
        max_steps: int | None = None,
        code_timeout_s: float = 60.0,
        n_workers: int | None = None,
    ) -> None:
        from verifiers.molecules.run import MoleculeRun

        self.run = MoleculeRun(
            self.card.id,
            task=task,
            budget=budget,
            episode=episode,
            action_mode=action_mode,
            reward_mode=reward_mode,
            start_pool=start_pool,
            start_pool_source=start_pool_source,
            target_pool=target_pool,
            ledger=ledger,
            max_steps=max_steps,
            code_timeout_s=code_timeout_s,
            n_workers=n_workers,
        )
        super().__init__(
            render_mode,
            max_turns=self.run.max_turns,
            task=task,
            budget=budget,
            action_mode=action_mode,
            code_timeout_s=code_timeout_s,
        )
        self.action_space = UnicodeText(MAX_ACTION_CHARS)  # a 64 KiB action cap; 1 MiB leaves room

    def _make_verifier(self):
        return self.run.verifier

    # the run's verifier and settings, as attributes of the env (tests swap in a verifier)
    @property
    def verifier(self):
        return self.run.verifier

    @verifier.setter
    def verifier(self, value) -> None:
        self.run.verifier = value

    @property
    def _started(self) -> bool:
        return self.run.started

    @_started.setter
    def _started(self, value: bool) -> None:
        self.run.started = value

    @property
    def task(self) -> str:
        return self.run.task

    @property
    def budget(self) -> int | None:
        return self.run.budget

    @property
    def episode(self) -> str:
        return self.run.episode

    @property
    def max_steps(self) -> int:
        return self.run.max_steps

    # -- Gymnasium API -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, "run": self.run.info()}

    def _start_episode(self, options: dict[str, Any]) -> None:
        if options.get("state") is not None and self.episode != "oneshot":
            raise ValueError(
                "reset(options={'state': ...}) needs episode='oneshot'; budget episodes always start "
                "from an empty ledger"
            )
        self.run.begin(options.get("task"), self._seed, options.get("start_pool"))
        self.statement = task_statement(
            self.card.id, self.task, self.verifier.objective, self.budget, oneshot=self.episode == "oneshot"
        )

    def _initial_state(self, name: str, seed: int) -> State:
        construction = [[k, None] for k in self.run.pool_keys] or None
        return State(
            id=State.make_id(self.card.id, "", construction),
            problem=self.card.id,
            construction=construction,
            value=0.0,
            name="empty",
        )

    def step(self, action: str):
        if self.state is None:
            import gymnasium as gym

            raise gym.error.ResetNeeded("call reset() before step()")
        rollout = self.state.timestep + 1 if self.episode == "oneshot" else None
        out = self.run.step(action, step=rollout, log=self._log_rollout)
        verdict = self.last_verdict = out.verdict
        self.state = self.state.child(
            artifact=action if isinstance(action, str) else "",
            construction=verdict.details.get("construction") or None,
            value=out.value,
            score=out.score,
            timestep=out.step,
            stdout=str(verdict.details.get("stdout", "")),
        )
        info = {
            "verdict": verdict,
            "score": verdict.score,
            "accepted": verdict.accepted,
            "state": self.state,
            "items": verdict.details.get("items", []),
            "run": self.run.info(),
        }
        if self.run.done:
            info["final"] = self.final_metrics()
        return self._obs(), out.reward, out.terminated, out.truncated, info

    def _log_rollout(self, lines: list[dict], verdict) -> None:
        self.run.log_rollout(lines, verdict)

    def render(self):
        if self.render_mode == "ansi":
            return self.render_text()
        if self.render_mode == "rgb_array":
            from tttd_envs.problems import molecules_render

            return molecules_render.rgb_array(self)
        return None

    # -- the run's log and metrics -----------------------------------------------------------------
    def write_run_log(self, directory: str) -> None:
        """The run log of docs/molecules.md#the-run-log-and-the-replay (config.json, items.jsonl, ledger.jsonl): what a
        leaderboard replays."""
        self.run.write_log(directory)

    def final_metrics(self) -> dict[str, Any]:
        """All run metrics (docs/molecules.md#run-metrics, docs/molecules.md#the-run-log-and-the-replay): AUC
        top-1/10/100, top-k, calls, free items by reason."""
        return self.run.final_metrics()

    def quality_report(self, top: int = 100) -> dict[str, Any]:
        """Diversity, scaffolds, mean SA, alert pass rate and a diverse top-10
        (docs/molecules.md#the-run-log-and-the-replay: reported, not rewarded)."""
        return self.run.quality_report(top)

    # -- observation -------------------------------------------------------------------------------
    def _obs(self) -> dict[str, Any]:
        prompt = self.prompt()[:MAX_PROMPT_CHARS]
        assert self.state is not None  # reset() and step() set the state before observing it
        return {
            "prompt": prompt,
            "artifact": self.state.artifact[:MAX_ACTION_CHARS],
            "value": np.array(self.verifier.ledger.progress(), dtype=np.float64),
        }

    def prompt(self) -> str:
        ledger = self.verifier.ledger
        pool_keys, steps = self.run.pool_keys, self.run.steps
        parts = [self.statement.rstrip()]
        st = self.state
        if self.episode == "oneshot" and st is not None and st.construction and not pool_keys:
            parts += ["", "## Parent molecules (already paid for; resubmitting them earns nothing)"]
            parts += [f"{k} {'' if v is None else f'{v:.4f}'}".rstrip() for k, v in st.construction]
        if pool_keys:
            parts += ["", f"## Starting pool ({len(pool_keys)} unscored molecules)", *pool_keys]
        v = self.last_verdict
        if v is not None:
            parts += ["", "## Last action", v.message]
            items = v.details.get("items") or []
            if items:
                parts.append("input | key | status | score | charged")
                for r in items:
                    score = "" if r["score"] is None else f"{r['score']:.4f}"
                    status = r["status"] if r["status"] in ("scored", "cached") else f"{r['status']}:{r['reason']}"
                    parts.append(
                        f"{r['input'][:60]} | {r['key'] or ''} | {status} | {score} | {'yes' if r['charged'] else 'no'}"
                    )
        name, value = ledger.headline()
        budget = "unbounded" if self.budget is None else f"{ledger.used}/{self.budget}"
        if self.episode == "oneshot":
            parts += ["", "## Run so far", f"budget used {budget}; {name} so far {value:.4f}"]
        else:
            cap = self.budget
            assert cap is not None  # budget=None (unbounded) is allowed only with episode='oneshot'
            parts += [
                "",
                "## Run so far",
                f"budget used {budget}; steps {steps}/{self.max_steps}; "
                f"free items {ledger.free_items}/{2 * cap}; {name} so far {value:.4f}",
            ]
        top = ledger.top(5 if self.episode == "oneshot" else 10)
        if top:
            parts.append(
                f"top-{len(top) if self.episode == 'oneshot' else 10}: "
                + "; ".join(f"{e.key} {e.score:.4f}" for e in top)
            )
        parts.append("Propose up to 100 new molecules.")
        return "\n".join(parts)

    def render_text(self) -> str:
        ledger = self.verifier.ledger
        name, value = ledger.headline()
        width = 40
        filled = int(round(width * ledger.used / self.budget)) if self.budget else 0
        lines = [
            f"{self.card.id} [{self.task}]  {name} {value:.4f}",
            f"budget [{'#' * filled}{'.' * (width - filled)}] {ledger.used}/{self.budget}  steps {self.run.steps}",
        ]
        for rank, e in enumerate(ledger.top(10), 1):
            lines.append(f"{rank:2d}. {e.score:.4f}  call {e.call:5d}  {e.key}")
        return "\n".join(lines)


_DOC = """
    ## Description
    {blurb} Tasks (``task=``): {tasks} (default ``{default}``). {hidden}

    ## Action Space
    ``UnicodeText``: a JSON list of up to 100 SMILES; a ```smiles block; a ```python program that prints
    a JSON list of SMILES as its last stdout line (sandboxed, rdkit + numpy, no oracle); or
    ``{{"stop": true}}``. A raw LLM answer is accepted (the last fenced block is used). Actions over
    64 KiB, non-JSON text and lists holding anything but strings are rejected actions (reward 0).

    ## Observation Space
    ``Dict(prompt, artifact, value)``: the task statement, rules, feedback on the last action (one row
    per item), the run summary; the last action text; the current top-10 mean{cov}.

    ## Rewards
    ``reward_mode="delta"`` (default): the increase of the zero-padded top-10 mean{cov} per step
    (never negative; the rewards sum to the final top-10). ``"terminal"``: 0, then the run metric
    (AUC with the fill-to-budget rule) on the last step.

    ## Starting State
    An empty ledger; ``start_pool=n`` shows n unscored library molecules. ``reset(seed=s)`` picks the
    hidden target and the pool sample; ``options={{"task": ...}}`` switches task.

    ## Episode End
    Terminated when the budget is fully charged or on ``{{"stop": true}}``; truncated after ``max_steps``
    steps (default B) or 2·B free items. ``episode="oneshot"``: one action per episode over a run ledger
    shared by env instances (``ledger=path``, SQLite); ``reset(options={{"state": parent}})`` snapshots it and
    the reward is the best score among the action's molecules new since the snapshot
    (docs/molecules.md#episodes-and-rewards). The first reset fixes the run's seed (hidden target); ``budget=None`` is
    the unbounded GuacaMol regime.

    ## Info
    `reset` returns `{{"state": State, "run": ...}}` (the run so far: budget used, best, seed). `step` returns
    `verdict` (a `verifiers.Verdict`: `status` accepted or rejected, `message` one sentence a model can act
    on, `score`, `details` with `items`, `counts` and the canonical `construction`), `items` (one entry per
    molecule: its canonical SMILES, score, whether it was new and charged to the budget), `score`,
    `accepted`, `run` and `state`. Later prompts repeat the last action's verdict under "Last action".

    ## Arguments
    ``gym.make("{id}", task=..., budget=1000 (100/1000/10000), episode="budget"|"oneshot", ledger=None,
    action_mode="auto"|"smiles"|"code",
    reward_mode="delta"|"terminal", start_pool=0, start_pool_source="zinc250k"|"nci5k",
    target_pool="dev"|path, max_steps=None, code_timeout_s=60, n_workers=None, render_mode=None|"ansi"|"rgb_array")``.

    ## References
    GuacaMol (Brown et al. 2019), PMO (Gao et al. 2022); per-task numbers in docs/molecules.md#references

    ## Version History
    * v0: GuacaMol v2 objectives on RDKit 2026.09.1's generator API; stereo-free neutral keys; PMO budget
      accounting; zero-padded AUC top-10.
"""


def _doc(env_id: str) -> str:
    from verifiers.molecules.objectives import HIDDEN_FAMILIES, tasks

    names = tasks(env_id)
    hidden = (
        '``task="hidden"`` draws an unknown target from the target pool with the seed (black-box).'
        if env_id in HIDDEN_FAMILIES
        else ""
    )
    cov = " (coverage for isomers)" if env_id == "MolIsomers-v0" else ""
    return _DOC.format(
        blurb=FAMILY[env_id][1], tasks=", ".join(names), default=names[0], hidden=hidden, cov=cov, id=env_id
    )


class MolQEDEnv(MoleculeEnv):
    __doc__ = _doc("MolQED-v0")
    card = card_for("MolQED-v0")


class MolRediscoveryEnv(MoleculeEnv):
    __doc__ = _doc("MolRediscovery-v0")
    card = card_for("MolRediscovery-v0")


class MolSimilarityEnv(MoleculeEnv):
    __doc__ = _doc("MolSimilarity-v0")
    card = card_for("MolSimilarity-v0")


class MolMedianEnv(MoleculeEnv):
    __doc__ = _doc("MolMedian-v0")
    card = card_for("MolMedian-v0")


class MolIsomersEnv(MoleculeEnv):
    __doc__ = _doc("MolIsomers-v0")
    card = card_for("MolIsomers-v0")


class MolPhyschemMPOEnv(MoleculeEnv):
    __doc__ = _doc("MolPhyschemMPO-v0")
    card = card_for("MolPhyschemMPO-v0")


class MolScaffoldMPOEnv(MoleculeEnv):
    __doc__ = _doc("MolScaffoldMPO-v0")
    card = card_for("MolScaffoldMPO-v0")


class MolValsartanSMARTSEnv(MoleculeEnv):
    __doc__ = _doc("MolValsartanSMARTS-v0")
    card = card_for("MolValsartanSMARTS-v0")


class MolHopEnv(MoleculeEnv):
    __doc__ = _doc("MolHop-v0")
    card = card_for("MolHop-v0")


class MolPLogPCappedEnv(MoleculeEnv):
    __doc__ = _doc("MolPLogPCapped-v0")
    card = card_for("MolPLogPCapped-v0")
