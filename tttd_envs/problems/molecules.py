"""Molecule discovery (specs/molecules.md): one env class per id, the task chosen with ``task=``.

A run is a PMO-style budget episode: each step submits up to 100 molecules (a SMILES list, or a
program run in the sandbox that prints one), each new valid molecule is charged one oracle call,
and the run metric is the AUC of the zero-padded top-10 (coverage for isomers) with the
fill-to-budget rule. Scoring lives in ``verifiers.molecules``; RDKit is imported lazily.
"""

from __future__ import annotations

import json
import random
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from tttd_envs.card import ProblemCard
from tttd_envs.env import DiscoveryEnv
from tttd_envs.problems.molecules_cards import FAMILY, card_for, objectives_resolve, task_statement
from tttd_envs.spaces import UnicodeText
from tttd_envs.state import State

MAX_ACTION_CHARS = 1 << 20
MAX_PROMPT_CHARS = 1 << 20
#: Hard cap on the JSON size of one logged item (§6.9). Items come from a text action (≤ 64 KiB) or a
#: program's last stdout line (the sandbox keeps the last 64 KiB of stdout), so each fits even fully
#: escaped (≤ 6 × 64 KiB). A bigger item would be logged in a short form with the same outcome (log_item).
LOG_ITEM_BYTES = 1 << 19
_FMAX = float(np.finfo(np.float64).max)
EPISODES = ("budget", "oneshot")
REWARD_MODES = ("delta", "terminal")
#: a oneshot run's rollouts (their items.jsonl lines), kept in the run's shared SQLite ledger file
_ROLLOUTS_TABLE = ("CREATE TABLE IF NOT EXISTS tttd_rollouts (seq INTEGER PRIMARY KEY, first_call INTEGER, "
                   "calls_at_log INTEGER NOT NULL, lines TEXT NOT NULL)")


def log_item(item: Any) -> str | dict:
    """The run log's form of one submitted item (§6.9), which :func:`replay_item` turns back into an
    item with exactly the same outcome in the pipeline (status, reason, key, logged input):

    - a string: itself, whatever its length (over-long items included);
    - anything else (a number, true, false, null from a JSON list): ``{"not_string": <its JSON text>}``
      (Python's JSON, so NaN/Infinity round-trip too);
    - a string whose JSON form is over :data:`LOG_ITEM_BYTES` (none today; a bound, not a format):
      ``{"over_cap": <the first 200 characters of the stripped item>, "chars": <its length>,
      "stripped_chars": <its stripped length>}``. The pipeline strips an item, then rejects it as
      ``too_long`` past 200 characters, so that prefix and the stripped length decide its outcome.
    """
    from verifiers.molecules.pipeline import MAX_CHARS
    value = item if isinstance(item, str) else {"not_string": json.dumps(item)}
    if len(json.dumps(value)) <= LOG_ITEM_BYTES:
        return value
    s = str(item).strip()
    return {"over_cap": s[:MAX_CHARS], "chars": len(str(item)), "stripped_chars": len(s)}


def replay_item(logged: Any) -> Any:
    """The item to re-submit for a logged item (:func:`log_item`'s inverse up to the outcome).
    Raises ValueError (one sentence) for what log_item never writes."""
    from verifiers.molecules.pipeline import MAX_CHARS
    if isinstance(logged, str):
        return logged
    if isinstance(logged, dict) and set(logged) == {"not_string"} and isinstance(logged["not_string"], str):
        try:
            value = json.loads(logged["not_string"])
        except (json.JSONDecodeError, RecursionError, ValueError):
            value = ""
        if isinstance(value, (str, list, dict)):
            raise ValueError("\"not_string\" must hold the JSON text of a number, true, false or null")
        return value
    if isinstance(logged, dict) and set(logged) == {"over_cap", "chars", "stripped_chars"} and \
            isinstance(logged["over_cap"], str) and isinstance(logged["stripped_chars"], int):
        head = logged["over_cap"]
        if logged["stripped_chars"] > MAX_CHARS:
            return head + "#"                          # too long again, with the same 200-character prefix
        if len(head) != logged["stripped_chars"]:
            raise ValueError("an \"over_cap\" item of at most 200 characters must be logged whole")
        return head
    raise ValueError("\"input\" must be the submitted string, {\"not_string\": JSON text} or an \"over_cap\" record")


class MoleculeEnv(DiscoveryEnv):
    """Base of the molecule envs; see a concrete id's docstring (``help(env.unwrapped)``)."""

    card: ClassVar[ProblemCard]
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 1}

    def __init__(self, render_mode: str | None = None, *, task: str | None = None, budget: int | None = 1000,
                 episode: str = "budget", action_mode: str = "auto", reward_mode: str = "delta",
                 start_pool: int = 0, start_pool_source: str = "zinc250k", target_pool: str = "dev",
                 ledger: str | None = None, max_steps: int | None = None, code_timeout_s: float = 60.0,
                 n_workers: int | None = None) -> None:
        from verifiers.molecules.verifier import MoleculeVerifier
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, not {render_mode!r}")
        if episode not in EPISODES:
            raise ValueError(f"episode must be 'budget' or 'oneshot', not {episode!r}")
        if budget is None and episode != "oneshot":
            raise ValueError("budget=None (unbounded) is allowed only with episode='oneshot'")
        if ledger is not None and episode != "oneshot":
            raise ValueError("ledger= (a run ledger shared by env instances) needs episode='oneshot'")
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {', '.join(REWARD_MODES)}, not {reward_mode!r}")
        if not 0 <= int(start_pool) <= 1000:
            raise ValueError("start_pool must be between 0 and 1000")
        if start_pool_source not in ("zinc250k", "nci5k"):
            raise ValueError("start_pool_source must be 'zinc250k' or 'nci5k'")
        if max_steps is not None and int(max_steps) < 1:
            raise ValueError("max_steps must be ≥ 1")
        self.render_mode = render_mode
        self.reward_mode = reward_mode
        self.start_pool = int(start_pool)
        self.start_pool_source = start_pool_source
        self.episode = episode
        self.max_steps = int(max_steps) if max_steps is not None else (budget or 1000)
        self.max_turns = 1 if episode == "oneshot" else self.max_steps
        self.limits = {"task": task, "budget": budget, "action_mode": action_mode, "code_timeout_s": code_timeout_s}
        self.verifier = MoleculeVerifier(self.card.id, task=task, budget=budget, action_mode=action_mode,
                                         code_timeout_s=code_timeout_s, target_pool=target_pool, n_workers=n_workers)
        self._ledger_path = ledger          # opened at the first reset, when the run's seed is known
        self._started = False
        self._snapshot = 0
        self.budget = budget
        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self.observation_space = spaces.Dict({
            "prompt": UnicodeText(MAX_PROMPT_CHARS),
            "artifact": UnicodeText(MAX_ACTION_CHARS),
            "value": spaces.Box(-_FMAX, _FMAX, shape=(), dtype=np.float64),
        })
        self.state: State | None = None
        self.last_verdict = None
        self._steps = 0
        self._pool_keys: list[str] = []
        self._items_log: list[dict] = []     # budget episodes: this episode's items.jsonl lines
        self._rollouts: list[tuple] = []      # oneshot, in-memory ledger: the run's rollouts (see _log_rollout)
        self._done = False

    @property
    def task(self) -> str:
        return self.verifier.task

    # -- Gymnasium API -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super(DiscoveryEnv, self).reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"task", "start_pool", "state"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; use 'task', 'start_pool' or 'state'")
        if options.get("state") is not None and self.episode != "oneshot":
            raise ValueError("reset(options={'state': ...}) needs episode='oneshot'; budget episodes always start "
                             "from an empty ledger")
        seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        if self.episode == "budget" or not self._started:
            self.verifier.ledger_path = self._ledger_path
            self.verifier.start_run(options.get("task"), seed)        # budget mode: a fresh ledger
            self._started = True
            self._rollouts = []
        elif options.get("task") is not None and \
                self.verifier.task != objectives_resolve(self.card.id, options["task"]):
            raise ValueError("a oneshot run keeps its task and its ledger; make a new env (and ledger) for another task")
        ledger = self.verifier.ledger
        ledger.sync()
        self._snapshot = ledger.used                                  # oneshot rewards count from here
        n_pool = int(options.get("start_pool", self.start_pool))
        if not 0 <= n_pool <= 1000:
            raise ValueError("start_pool must be between 0 and 1000")
        self._pool_keys = self._draw_pool(n_pool, seed) if n_pool else []
        self._steps = 0
        self._done = False
        self._items_log = []
        self.last_verdict = None
        self.statement = task_statement(self.card.id, self.task, self.verifier.objective, self.budget,
                                        oneshot=self.episode == "oneshot")
        if options.get("state") is not None:
            self.state = State.from_dict(options["state"])
            if self.state.problem != self.card.id:
                raise ValueError(f"the state is for {self.state.problem!r}, not {self.card.id!r}")
        else:
            construction = [[k, None] for k in self._pool_keys] or None
            self.state = State(id=State.make_id(self.card.id, "", construction), problem=self.card.id,
                               construction=construction, value=0.0, name="empty")
        return self._obs(), {"state": self.state, "run": self._run_info()}

    def step(self, action: str):
        return self._step(action)

    def replay_step(self, items: list, step: int | None = None):
        """One step whose action decoded to exactly ``items``: the leaderboard's replay of a run log
        (§6.11). Charging, rewards and episode ends are those of :meth:`step`; the 64 KiB action cap
        is not applied again (the logged action passed it, and a program's items need not fit in one
        64 KiB JSON text). ``step`` sets a oneshot rollout's logged step (its depth in the tree)."""
        return self._step(None, items=list(items), rollout_step=step)

    def _step(self, action: str | None, items: list | None = None, rollout_step: int | None = None):
        if self.state is None:
            import gymnasium as gym
            raise gym.error.ResetNeeded("call reset() before step()")
        if self.episode == "oneshot":
            return self._step_oneshot(action, items, rollout_step)
        ledger = self.verifier.ledger
        before = ledger.progress()
        self._steps += 1
        verdict, submitted = self._verify(action, self._steps, items)
        self.last_verdict = verdict
        self._items_log += self._log_lines(verdict, submitted, self._steps)
        after = ledger.progress()
        stop = bool(verdict.details.get("stop"))
        terminated = stop or (ledger.left is not None and ledger.left <= 0)
        truncated = not terminated and (self._steps >= self.max_steps or ledger.free_items >= 2 * self.budget)
        self._done = terminated or truncated
        if self.reward_mode == "delta":
            reward = after - before
        else:
            reward = ledger.headline()[1] if self._done else 0.0
        construction = verdict.details.get("construction") or None
        self.state = self.state.child(artifact=action if isinstance(action, str) else "", construction=construction,
                                      value=after, score=verdict.score, timestep=self._steps,
                                      stdout=str(verdict.details.get("stdout", "")))
        info = {"verdict": verdict, "score": verdict.score, "accepted": verdict.accepted, "state": self.state,
                "items": verdict.details.get("items", []), "run": self._run_info()}
        if self._done:
            info["final"] = self.final_metrics()
        return self._obs(), float(reward), terminated, truncated, info

    def _step_oneshot(self, action: str | None, items: list | None, rollout_step: int | None):
        """One rollout (§6.8): the reward is the best score among this action's molecules that were
        not in the ledger at the snapshot and are in it now (coverage gain for isomers)."""
        ledger = self.verifier.ledger
        self._steps += 1
        step = self.state.timestep + 1 if rollout_step is None else int(rollout_step)
        verdict, submitted = self._verify(action, step, items)
        self.last_verdict = verdict
        self._log_rollout(self._log_lines(verdict, submitted, step), verdict)
        fresh = {}
        for r in verdict.details.get("items", []):
            entry = ledger.by_key.get(r["key"]) if r["key"] else None
            if entry is not None and entry.call > self._snapshot:
                fresh[entry.key] = entry
        if ledger.n_target:
            reward = sum(e.hit for e in fresh.values()) / ledger.n_target
        else:
            reward = max((e.score for e in fresh.values()), default=0.0)
        self._done = True
        self.state = self.state.child(artifact=action if isinstance(action, str) else "",
                                      construction=verdict.details.get("construction") or None, value=reward,
                                      score=reward, timestep=step, stdout=str(verdict.details.get("stdout", "")))
        info = {"verdict": verdict, "score": verdict.score, "accepted": verdict.accepted, "state": self.state,
                "items": verdict.details.get("items", []), "run": self._run_info(), "final": self.final_metrics()}
        return self._obs(), float(reward), True, False, info

    def _verify(self, action: str | None, step: int, items: list | None = None):
        """(Verdict, the exact items the pipeline received) for one action; with ``items`` given (a
        replay) the action is not decoded and those items go through the pipeline as they are."""
        if items is not None:
            return self.verifier.verify_items(items, step), items
        verdict = self.verifier.verify(action, step=step)
        return verdict, self.verifier.last_items

    def render(self):
        if self.render_mode == "ansi":
            return self.render_text()
        if self.render_mode == "rgb_array":
            from tttd_envs.problems import molecules_render
            return molecules_render.rgb_array(self)
        return None

    # -- run summaries -----------------------------------------------------------------------------
    @staticmethod
    def _log_lines(verdict, submitted: list, step: int) -> list[dict]:
        """items.jsonl lines of one action: the exact item (:func:`log_item`), its step, status and reason."""
        records = verdict.details.get("items", [])
        if len(records) != len(submitted):         # a verifier error mid-action: logged as a rejected action
            return []
        return [{"step": step, "input": log_item(item), "status": r["status"], "reason": r["reason"]}
                for item, r in zip(submitted, records)]

    def _log_rollout(self, lines: list[dict], verdict) -> None:
        """Keep one oneshot rollout's lines for the run log, with what fixes its place in the commit
        order: its first charged call, or (nothing charged) the calls committed when it was logged.

        Rollouts that charge nothing change neither the ledger nor the budget, so they commute with
        every other rollout; the charging ones are totally ordered by their calls (each commits a
        contiguous range under the ledger's writer lock). A shared ledger (``ledger=path``) keeps the
        rollouts of every env instance of the run in its SQLite file, so any instance writes the
        whole run's log.
        """
        if not lines:
            return                                     # a rejected action: nothing to replay
        calls = [r["call"] for r in verdict.details.get("items", []) if r.get("charged")]
        first = min(calls) if calls else None
        ledger = self.verifier.ledger
        if not hasattr(ledger, "db"):                  # one instance's in-memory ledger: commit order is ours
            self._rollouts.append((first, ledger.used, json.dumps(lines)))
            return
        with ledger.transaction():
            ledger.db.execute(_ROLLOUTS_TABLE)
            ledger.db.execute("INSERT INTO tttd_rollouts (first_call, calls_at_log, lines) VALUES (?, ?, ?)",
                              (first, ledger.used, json.dumps(lines)))

    def _rollout_lines(self) -> list[dict]:
        """Every logged rollout of the run in commit order, each line with its 1-based rollout index."""
        ledger = self.verifier.ledger
        if hasattr(ledger, "db"):
            ledger.db.execute(_ROLLOUTS_TABLE)
            rows = ledger.db.execute("SELECT first_call, calls_at_log, lines FROM tttd_rollouts "
                                     "ORDER BY seq").fetchall()
        else:
            rows = self._rollouts
        # a charging rollout sits at its first call; one that charged nothing sits before the first
        # rollout that charged after it was logged (ties: logging order)
        order = sorted(range(len(rows)), key=lambda i: (rows[i][0] if rows[i][0] is not None else rows[i][1] + 1,
                                                        rows[i][0] is not None, i))
        return [{"rollout": n, **line} for n, i in enumerate(order, 1) for line in json.loads(rows[i][2])]

    def write_run_log(self, directory: str) -> None:
        """The run log of §6.9, what a leaderboard replays (§6.11): ``ledger.jsonl`` (charged calls),
        ``items.jsonl`` (every submitted item exactly, in order, with its step and, for oneshot runs,
        its rollout index in commit order) and ``config.json`` (every setting that changes the
        outcome: id, task, B, episode, max_steps, action mode, code limit, seed, target pool)."""
        import os
        os.makedirs(directory, exist_ok=True)
        ledger = self.verifier.ledger
        lines = self._rollout_lines() if self.episode == "oneshot" else self._items_log
        ledger.sync()
        with open(os.path.join(directory, "ledger.jsonl"), "w") as fh:
            for e in ledger.entries:
                fh.write(json.dumps({"call": e.call, "key": e.key, "score": e.score, "step": e.step,
                                     "input": e.input}) + "\n")
        with open(os.path.join(directory, "items.jsonl"), "w") as fh:
            for line in lines:
                fh.write(json.dumps(line) + "\n")
        info = self.verifier.info()
        config = {"id": self.card.id, "task": self.task, "budget": self.budget, "episode": self.episode,
                  "max_steps": self.max_steps, "action_mode": self.verifier.action_mode,
                  "code_timeout_s": self.verifier.code_timeout_s, "reward_mode": self.reward_mode,
                  "seed": self.verifier.seed, "start_pool": self.start_pool,
                  "start_pool_source": self.start_pool_source,
                  "pool": info["pool"], "rdkit": info["rdkit"], "pinned": info["pinned"],
                  "verifier": info["name"], "version": info["version"]}
        with open(os.path.join(directory, "config.json"), "w") as fh:
            json.dump(config, fh, indent=1)

    def _run_info(self) -> dict[str, Any]:
        ledger = self.verifier.ledger
        m = ledger.metrics()
        name, value = ledger.headline()
        out = {"task": self.task, "budget": self.budget, "budget_used": ledger.used, "budget_left": ledger.left,
               "steps": self._steps, "steps_left": self.max_steps - self._steps, "free_items": ledger.free_items,
               "free_by_reason": m["free_by_reason"], "top1": m["top1"], "top10": m["top10"], "top100": m["top100"],
               "metric": name, "metric_value": value, "pinned": self.verifier.pinned}
        if self.verifier.target_id:
            out["target_id"] = self.verifier.target_id
            out["target_pool"] = self.verifier.info()["pool"]
        return out

    def final_metrics(self) -> dict[str, Any]:
        """All run metrics (§6.4, §6.9): AUC top-1/10/100, top-k, calls, free items by reason."""
        ledger = self.verifier.ledger
        name, value = ledger.headline()
        return {**ledger.metrics(), "metric": name, "metric_value": value, "task": self.task,
                "action_mode": self.verifier.action_mode, "steps": self._steps}

    def quality_report(self, top: int = 100) -> dict[str, Any]:
        """Diversity, scaffolds, mean SA, structural-alert pass rate and a diverse top-10 of the
        run's best molecules (§6.9: reported, not rewarded; about 20 ms per molecule)."""
        from verifiers.molecules import quality
        return quality.report([(e.key, e.score) for e in self.verifier.ledger.entries], top)

    def _draw_pool(self, n: int, seed: int) -> list[str]:
        """n unscored starting molecules from the library, drawn with the seed (never a pool target)."""
        from verifiers.molecules import data, pipeline
        library = data.library(self.start_pool_source)
        excluded = set(data.dev_pool(self.verifier.target_pool))
        rng = random.Random(seed)
        order = rng.sample(range(len(library)), min(len(library), 3 * n + 50))
        keys: list[str] = []
        for start in range(0, len(order), 2 * n):
            jobs = []
            for i in order[start:start + 2 * n]:
                s, reason = pipeline.hygiene(library[i])
                if reason is None:
                    jobs.append(("canon", s, self.verifier.max_heavy, None, self.verifier.elements))
            for status, value in self.verifier.pool.run(jobs):
                if status == "ok" and value[0] and value[0] not in excluded and value[0] not in keys:
                    keys.append(value[0])
                    if len(keys) == n:
                        return keys
        return keys

    # -- observation -------------------------------------------------------------------------------
    def _obs(self) -> dict[str, Any]:
        return {"prompt": self.prompt()[:MAX_PROMPT_CHARS], "artifact": self.state.artifact[:MAX_ACTION_CHARS],
                "value": np.array(self.verifier.ledger.progress(), dtype=np.float64)}

    def prompt(self) -> str:
        ledger = self.verifier.ledger
        parts = [self.statement.rstrip()]
        if self.episode == "oneshot" and self.state.construction and not self._pool_keys:
            parts += ["", "## Parent molecules (already paid for; resubmitting them earns nothing)"]
            parts += [f"{k} {'' if v is None else f'{v:.4f}'}".rstrip() for k, v in self.state.construction]
        if self._pool_keys:
            parts += ["", f"## Starting pool ({len(self._pool_keys)} unscored molecules)", *self._pool_keys]
        v = self.last_verdict
        if v is not None:
            parts += ["", "## Last action", v.message]
            items = v.details.get("items") or []
            if items:
                parts.append("input | key | status | score | charged")
                for r in items:
                    score = "" if r["score"] is None else f"{r['score']:.4f}"
                    status = r["status"] if r["status"] in ("scored", "cached") else f"{r['status']}:{r['reason']}"
                    parts.append(f"{r['input'][:60]} | {r['key'] or ''} | {status} | {score} | "
                                 f"{'yes' if r['charged'] else 'no'}")
        name, value = ledger.headline()
        budget = "unbounded" if self.budget is None else f"{ledger.used}/{self.budget}"
        if self.episode == "oneshot":
            parts += ["", "## Run so far", f"budget used {budget}; {name} so far {value:.4f}"]
        else:
            parts += ["", "## Run so far", f"budget used {budget}; steps {self._steps}/{self.max_steps}; "
                      f"free items {ledger.free_items}/{2 * self.budget}; {name} so far {value:.4f}"]
        top = ledger.top(5 if self.episode == "oneshot" else 10)
        if top:
            parts.append(f"top-{len(top) if self.episode == 'oneshot' else 10}: "
                         + "; ".join(f"{e.key} {e.score:.4f}" for e in top))
        parts.append("Propose up to 100 new molecules.")
        return "\n".join(parts)

    def render_text(self) -> str:
        ledger = self.verifier.ledger
        name, value = ledger.headline()
        width = 40
        filled = int(round(width * ledger.used / self.budget)) if self.budget else 0
        lines = [f"{self.card.id} [{self.task}]  {name} {value:.4f}",
                 f"budget [{'#' * filled}{'.' * (width - filled)}] {ledger.used}/{self.budget}  steps {self._steps}"]
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
    the reward is the best score among the action's molecules new since the snapshot (§6.8). The first
    reset fixes the run's seed (hidden target); ``budget=None`` is the unbounded GuacaMol regime.

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
    GuacaMol (Brown et al. 2019), PMO (Gao et al. 2022); per-task numbers in specs/molecules.md §8.

    ## Version History
    * v0: GuacaMol v2 objectives on RDKit 2026.09.1's generator API; stereo-free neutral keys; PMO budget
      accounting; zero-padded AUC top-10.
"""


def _doc(env_id: str) -> str:
    from verifiers.molecules.objectives import HIDDEN_FAMILIES, tasks
    names = tasks(env_id)
    hidden = ("``task=\"hidden\"`` draws an unknown target from the target pool with the seed (black-box)."
              if env_id in HIDDEN_FAMILIES else "")
    cov = " (coverage for isomers)" if env_id == "MolIsomers-v0" else ""
    return _DOC.format(blurb=FAMILY[env_id][1], tasks=", ".join(names), default=names[0], hidden=hidden, cov=cov,
                       id=env_id)


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
