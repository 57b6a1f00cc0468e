"""One molecule run (docs/molecules.md#episodes-and-rewards): the episode rules and the run log it writes.

A :class:`MoleculeRun` is the whole run without any Gymnasium around it: it charges each action's
molecules to the verifier's ledger, decides when the run ends and what each step earns, and keeps
the run log of docs/molecules.md#the-run-log-and-the-replay (``config.json``, ``items.jsonl``, ``ledger.jsonl``).
The env (``tttd_envs.problems.molecules``) is a Gymnasium face on one; the leaderboard replays a logged run
on one too (:mod:`verifiers.molecules.replay`), so both follow the same rules by construction.

- ``episode="budget"``: one run per episode; terminated when the budget is fully charged or on
  ``{"stop": true}``, truncated after ``max_steps`` actions or 2·B free items. Rewards: the increase
  of the headline progress (top-10 mean, coverage for isomers) per step, or the run metric at the
  end (``reward_mode="terminal"``).
- ``episode="oneshot"`` (docs/molecules.md#episodes-and-rewards): one action per episode over a ledger that lasts the
  whole run (and may be shared by several runs' instances through one SQLite file); a rollout's reward is the best
  score among its molecules that were new at its snapshot (coverage gain for isomers).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifiers.molecules.ledger import Entry, Ledger
    from verifiers.verdict import Verdict

EPISODES = ("budget", "oneshot")
REWARD_MODES = ("delta", "terminal")
#: Hard cap on the JSON size of one logged item (docs/molecules.md#the-run-log-and-the-replay). Items come from a text
#: action (≤ 64 KiB) or a program's last stdout line (the sandbox keeps the last 64 KiB of stdout), so each fits even
#: fully escaped (≤ 6 × 64 KiB). A bigger item would be logged in a short form with the same outcome (log_item).
LOG_ITEM_BYTES = 1 << 19
#: a oneshot run's rollouts (their items.jsonl lines), kept in the run's shared SQLite ledger file
ROLLOUTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS tttd_rollouts (seq INTEGER PRIMARY KEY, first_call INTEGER, "
    "calls_at_log INTEGER NOT NULL, lines TEXT NOT NULL)"
)


# -- the run log's item codec -----------------------------------------------------------------------
def log_item(item: Any) -> str | dict[str, Any]:
    """The run log's form of one submitted item (docs/molecules.md#the-run-log-and-the-replay), which
    :func:`replay_item` turns back into an item with exactly the same outcome in the pipeline (status, reason, key,
    logged input):

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
            raise ValueError('"not_string" must hold the JSON text of a number, true, false or null')
        return value
    if (
        isinstance(logged, dict)
        and set(logged) == {"over_cap", "chars", "stripped_chars"}
        and isinstance(logged["over_cap"], str)
        and isinstance(logged["stripped_chars"], int)
    ):
        head = logged["over_cap"]
        if logged["stripped_chars"] > MAX_CHARS:
            return head + "#"  # too long again, with the same 200-character prefix
        if len(head) != logged["stripped_chars"]:
            raise ValueError('an "over_cap" item of at most 200 characters must be logged whole')
        return head
    raise ValueError('"input" must be the submitted string, {"not_string": JSON text} or an "over_cap" record')


def log_lines(verdict: Verdict, submitted: list[Any], step: int) -> list[dict[str, Any]]:
    """items.jsonl lines of one action: the exact item (:func:`log_item`), its step, status and reason."""
    records = verdict.details.get("items", [])
    if len(records) != len(submitted):  # a verifier error mid-action: logged as a rejected action
        return []
    return [
        {"step": step, "input": log_item(item), "status": r["status"], "reason": r["reason"]}
        for item, r in zip(submitted, records)
    ]


# -- the run ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Step:
    """What one action did to the run: its Verdict, reward and end flags, and the new state's step,
    value and raw score (the env builds its State from them)."""

    verdict: Any
    reward: float
    terminated: bool
    truncated: bool
    step: int
    value: float
    score: float | None


class MoleculeRun:
    """A molecule run of one env id: settings, the stateful verifier (whose ledger charges the
    budget), the episode counters and the run log. ``begin`` starts an episode; ``step`` plays one
    action (or, for a replay, one logged list of items)."""

    def __init__(
        self,
        env_id: str,
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
        from verifiers.molecules.verifier import MoleculeVerifier

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
        self.env_id = env_id
        self.budget = budget
        self.episode = episode
        self.reward_mode = reward_mode
        self.start_pool = int(start_pool)
        self.start_pool_source = start_pool_source
        self.max_steps = int(max_steps) if max_steps is not None else (budget or 1000)
        self.ledger_path = ledger  # opened at the first begin(), when the run's seed is known
        self.verifier = MoleculeVerifier(
            env_id,
            task=task,
            budget=budget,
            action_mode=action_mode,
            code_timeout_s=code_timeout_s,
            target_pool=target_pool,
            n_workers=n_workers,
        )
        self.started = False  # a oneshot run's ledger is open (later begins only snapshot it)
        self.snapshot = 0  # oneshot: the calls committed when this rollout began
        self.steps = 0
        self.done = False
        self.pool_keys: list[str] = []
        self.items_log: list[dict[str, Any]] = []  # budget episodes: this episode's items.jsonl lines
        # oneshot, in-memory ledger: the run's rollouts (see log_rollout)
        self._rollouts: list[tuple[int | None, int, str]] = []

    @property
    def task(self) -> str:
        return self.verifier.task

    @property
    def ledger(self) -> Ledger:
        return self.verifier.ledger

    @property
    def max_turns(self) -> int:
        """Actions per episode: one rollout (oneshot), else up to the step cap."""
        return 1 if self.episode == "oneshot" else self.max_steps

    # -- episodes ----------------------------------------------------------------------------------
    def begin(self, task: str | None, seed: int, start_pool: int | None = None) -> None:
        """Start an episode: a budget episode (or a oneshot run's first) opens a fresh run for
        ``task`` and ``seed`` (the seed picks a hidden target); a later oneshot episode keeps the
        run's ledger and only snapshots it. Draws the unscored starting pool."""
        from verifiers.molecules.objectives import resolve_task

        if self.episode == "budget" or not self.started:
            self.verifier.ledger_path = self.ledger_path
            self.verifier.start_run(task, seed)  # budget mode: a fresh ledger
            self.started = True
            self._rollouts = []
        elif task is not None and self.verifier.task != resolve_task(self.env_id, task):
            raise ValueError(
                "a oneshot run keeps its task and its ledger; make a new env (and ledger) for another task"
            )
        ledger = self.ledger
        ledger.sync()
        self.snapshot = ledger.used  # oneshot rewards count from here
        n_pool = self.start_pool if start_pool is None else int(start_pool)
        if not 0 <= n_pool <= 1000:
            raise ValueError("start_pool must be between 0 and 1000")
        self.pool_keys = self.draw_pool(n_pool, seed) if n_pool else []
        self.steps = 0
        self.done = False
        self.items_log = []

    def step(
        self,
        action: str | None,
        *,
        items: list[Any] | None = None,
        step: int | None = None,
        log: Callable[[list[dict[str, Any]], Verdict], None] | None = None,
    ) -> Step:
        """Play one action. With ``items`` (a replay) the action is not decoded: exactly those items
        go through the pipeline, and the 64 KiB action cap is not applied again (the logged action
        passed it; a program's items need not fit one 64 KiB JSON text). ``step`` is a oneshot
        rollout's step (its depth in the tree); ``log`` records a oneshot rollout (default
        :meth:`log_rollout`)."""
        if self.episode == "oneshot":
            return self._rollout(action, items, 1 if step is None else int(step), log or self.log_rollout)
        assert self.budget is not None  # __init__ allows budget=None only for oneshot runs
        ledger = self.ledger
        before = ledger.progress()
        self.steps += 1
        verdict, submitted = self._verify(action, self.steps, items)
        self.items_log += log_lines(verdict, submitted, self.steps)
        after = ledger.progress()
        stop = bool(verdict.details.get("stop"))
        terminated = stop or (ledger.left is not None and ledger.left <= 0)
        truncated = not terminated and (self.steps >= self.max_steps or ledger.free_items >= 2 * self.budget)
        self.done = terminated or truncated
        if self.reward_mode == "delta":
            reward = after - before
        else:
            reward = ledger.headline()[1] if self.done else 0.0
        return Step(verdict, float(reward), terminated, truncated, self.steps, after, verdict.score)

    def _rollout(
        self,
        action: str | None,
        items: list[Any] | None,
        step: int,
        log: Callable[[list[dict[str, Any]], Verdict], None],
    ) -> Step:
        """One rollout (docs/molecules.md#episodes-and-rewards): the reward is the best score among this action's
        molecules that were not in the ledger at the snapshot and are in it now (coverage gain for isomers)."""
        ledger = self.ledger
        self.steps += 1
        verdict, submitted = self._verify(action, step, items)
        log(log_lines(verdict, submitted, step), verdict)
        fresh: dict[str, Entry] = {}
        for r in verdict.details.get("items", []):
            entry = ledger.by_key.get(r["key"]) if r["key"] else None
            if entry is not None and entry.call > self.snapshot:
                fresh[entry.key] = entry
        if ledger.n_target:
            reward = sum(e.hit for e in fresh.values()) / ledger.n_target
        else:
            reward = max((e.score for e in fresh.values()), default=0.0)
        self.done = True
        return Step(verdict, float(reward), True, False, step, reward, reward)

    def _verify(self, action: str | None, step: int, items: list[Any] | None = None) -> tuple[Verdict, list[Any]]:
        """(Verdict, the exact items the pipeline received) for one action; with ``items`` given (a
        replay) the action is not decoded and those items go through the pipeline as they are."""
        if items is not None:
            return self.verifier.verify_items(items, step), items
        verdict = self.verifier.verify(action, step=step)
        return verdict, self.verifier.last_items

    def end_reason(self) -> str:
        """Why a finished budget episode ended, in the words of a refusal."""
        if self.ledger.left is not None and self.ledger.left <= 0:
            return "budget fully charged"
        return "truncated (step cap or 2·B free items)"

    def draw_pool(self, n: int, seed: int) -> list[str]:
        """n unscored starting molecules from the library, drawn with the seed (never a pool target)."""
        from verifiers.molecules import data, pipeline

        v = self.verifier
        library = data.library(self.start_pool_source)
        excluded = set(data.dev_pool(v.target_pool))
        rng = random.Random(seed)
        order = rng.sample(range(len(library)), min(len(library), 3 * n + 50))
        keys: list[str] = []
        for start in range(0, len(order), 2 * n):
            jobs = []
            for i in order[start : start + 2 * n]:
                s, reason = pipeline.hygiene(library[i])
                if reason is None:
                    jobs.append(("canon", s, v.max_heavy, None, v.elements))
            for status, value in v.pool.run(jobs):
                if status == "ok" and value[0] and value[0] not in excluded and value[0] not in keys:
                    keys.append(value[0])
                    if len(keys) == n:
                        return keys
        return keys

    # -- the run log -------------------------------------------------------------------------------
    def log_rollout(self, lines: list[dict[str, Any]], verdict: Verdict) -> None:
        """Keep one oneshot rollout's lines for the run log, with what fixes its place in the commit
        order: its first charged call, or (nothing charged) the calls committed when it was logged.

        Rollouts that charge nothing change neither the ledger nor the budget, so they commute with
        every other rollout; the charging ones are totally ordered by their calls (each commits a
        contiguous range under the ledger's writer lock). A shared ledger (``ledger=path``) keeps the
        rollouts of every env instance of the run in its SQLite file, so any instance writes the
        whole run's log.
        """
        if not lines:
            return  # a rejected action: nothing to replay
        calls = [r["call"] for r in verdict.details.get("items", []) if r.get("charged")]
        first = min(calls) if calls else None
        ledger = self.ledger
        if not hasattr(ledger, "db"):  # one instance's in-memory ledger: commit order is ours
            self._rollouts.append((first, ledger.used, json.dumps(lines)))
            return
        with ledger.transaction():
            ledger.db.execute(ROLLOUTS_TABLE)
            ledger.db.execute(
                "INSERT INTO tttd_rollouts (first_call, calls_at_log, lines) VALUES (?, ?, ?)",
                (first, ledger.used, json.dumps(lines)),
            )

    def rollout_lines(self) -> list[dict[str, Any]]:
        """Every logged rollout of the run in commit order, each line with its 1-based rollout index."""
        ledger = self.ledger
        if hasattr(ledger, "db"):
            ledger.db.execute(ROLLOUTS_TABLE)
            rows = ledger.db.execute(
                "SELECT first_call, calls_at_log, lines FROM tttd_rollouts ORDER BY seq"
            ).fetchall()
        else:
            rows = self._rollouts
        # a charging rollout sits at its first call; one that charged nothing sits before the first
        # rollout that charged after it was logged (ties: logging order)
        order = sorted(
            range(len(rows)),
            key=lambda i: (rows[i][0] if rows[i][0] is not None else rows[i][1] + 1, rows[i][0] is not None, i),
        )
        return [{"rollout": n, **line} for n, i in enumerate(order, 1) for line in json.loads(rows[i][2])]

    def config(self) -> dict[str, Any]:
        """config.json: every setting that changes the outcome (id, task, B, episode, max_steps,
        action mode, code limit, seed, target pool) and the rest of the run's settings."""
        info = self.verifier.info()
        return {
            "id": self.env_id,
            "task": self.task,
            "budget": self.budget,
            "episode": self.episode,
            "max_steps": self.max_steps,
            "action_mode": self.verifier.action_mode,
            "code_timeout_s": self.verifier.code_timeout_s,
            "reward_mode": self.reward_mode,
            "seed": self.verifier.seed,
            "start_pool": self.start_pool,
            "start_pool_source": self.start_pool_source,
            "pool": info["pool"],
            "rdkit": info["rdkit"],
            "pinned": info["pinned"],
            "verifier": info["name"],
            "version": info["version"],
        }

    def write_log(self, directory: str) -> None:
        """The run log of docs/molecules.md#the-run-log-and-the-replay, what a leaderboard replays
        (docs/molecules.md#the-run-log-and-the-replay): ``ledger.jsonl`` (charged calls), ``items.jsonl`` (every
        submitted item exactly, in order, with its step and, for oneshot runs, its rollout index in commit order) and
        ``config.json`` (:meth:`config`)."""
        os.makedirs(directory, exist_ok=True)
        ledger = self.ledger
        lines = self.rollout_lines() if self.episode == "oneshot" else self.items_log
        ledger.sync()
        with open(os.path.join(directory, "ledger.jsonl"), "w") as fh:
            for e in ledger.entries:
                fh.write(
                    json.dumps({"call": e.call, "key": e.key, "score": e.score, "step": e.step, "input": e.input})
                    + "\n"
                )
        with open(os.path.join(directory, "items.jsonl"), "w") as fh:
            for line in lines:
                fh.write(json.dumps(line) + "\n")
        with open(os.path.join(directory, "config.json"), "w") as fh:
            json.dump(self.config(), fh, indent=1)

    # -- summaries ---------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """The run so far (an env's ``info["run"]``)."""
        ledger = self.ledger
        m = ledger.metrics()
        name, value = ledger.headline()
        out = {
            "task": self.task,
            "budget": self.budget,
            "budget_used": ledger.used,
            "budget_left": ledger.left,
            "steps": self.steps,
            "steps_left": self.max_steps - self.steps,
            "free_items": ledger.free_items,
            "free_by_reason": m["free_by_reason"],
            "top1": m["top1"],
            "top10": m["top10"],
            "top100": m["top100"],
            "metric": name,
            "metric_value": value,
            "pinned": self.verifier.pinned,
        }
        if self.verifier.target_id:
            out["target_id"] = self.verifier.target_id
            out["target_pool"] = self.verifier.info()["pool"]
        return out

    def final_metrics(self) -> dict[str, Any]:
        """All run metrics (docs/molecules.md#run-metrics, docs/molecules.md#the-run-log-and-the-replay): AUC
        top-1/10/100, top-k, calls, free items by reason."""
        ledger = self.ledger
        name, value = ledger.headline()
        return {
            **ledger.metrics(),
            "metric": name,
            "metric_value": value,
            "task": self.task,
            "action_mode": self.verifier.action_mode,
            "steps": self.steps,
        }

    def quality_report(self, top: int = 100) -> dict[str, Any]:
        """Diversity, scaffolds, mean SA, structural-alert pass rate and a diverse top-10 of the
        run's best molecules (docs/molecules.md#the-run-log-and-the-replay: reported, not rewarded; about 20 ms per
        molecule)."""
        from verifiers.molecules import quality

        return quality.report([(e.key, e.score) for e in self.ledger.entries], top)
