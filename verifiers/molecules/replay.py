"""A logged molecule run, judged by replaying it (docs/molecules.md#the-run-log-and-the-replay).

A molecule submission is a whole run, not one artifact: the run directory's ``config.json`` and
``items.jsonl`` (what :meth:`~verifiers.molecules.run.MoleculeRun.write_log` writes), kept byte for
byte in one canonical JSON *bundle* (so one text, one sha256). The run is judged by **replaying**
it: every submitted item (items.jsonl holds each exactly), in order and action by action, goes
through a fresh :class:`~verifiers.molecules.run.MoleculeRun` of the same id, task, budget, episode,
step cap, code limit, seed and target pool. Scores, keys, statuses and metrics in the files are never
read; the replay rebuilds the ledger and every metric of
docs/molecules.md#run-metrics/docs/molecules.md#the-run-log-and-the-replay. A oneshot run
(docs/molecules.md#episodes-and-rewards) is replayed rollout by rollout in its logged commit order on one ledger.

:class:`RunLogVerifier` (registry name ``molecule_run``) is the verifier of such bundles; the
readers raise :class:`RunLogError` (one sentence) for what cannot be replayed.
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, Any

from verifiers.base import Verifier
from verifiers.verdict import Verdict

if TYPE_CHECKING:
    from verifiers.molecules.run import MoleculeRun

BUNDLE_FORMAT = "tttd.molecule-run/1"
RUN_FILES = ("config.json", "items.jsonl")


class RunLogError(ValueError):
    """A run log that cannot be replayed; the message is one sentence naming what is wrong."""


# -- the bundle: the run's two files, exactly ---------------------------------------------------------
def make_bundle(files: dict[str, str]) -> str:
    return json.dumps(
        {"format": BUNDLE_FORMAT, "files": {n: files[n] for n in RUN_FILES}},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def files_of(bundle: str) -> dict[str, str]:
    """config.json and items.jsonl, exactly as submitted."""
    try:
        doc = json.loads(bundle)
    except (json.JSONDecodeError, RecursionError):
        doc = None
    files = doc.get("files") if isinstance(doc, dict) and doc.get("format") == BUNDLE_FORMAT else None
    if not isinstance(files, dict) or not all(isinstance(files.get(n), str) for n in RUN_FILES):
        raise RunLogError(
            "a molecule submission is a run directory (config.json + items.jsonl) or a "
            "bundle from `tttd board --artifact N`; this is neither"
        )
    return {n: files[n] for n in RUN_FILES}


# -- config and items -----------------------------------------------------------------------------
def read_config(env_id: str, text: str) -> dict[str, Any]:
    """The run configuration the replay uses, checked; RunLogError for what cannot be replayed."""
    from verifiers.molecules import objectives
    from verifiers.molecules.verifier import ACTION_MODES

    try:
        cfg = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise RunLogError(f"config.json is not valid JSON ({str(e)[:80]})") from None
    if not isinstance(cfg, dict):
        raise RunLogError(
            "config.json must be a JSON object (the run config of docs/molecules.md#the-run-log-and-the-replay)"
        )
    if cfg.get("id") != env_id:
        raise RunLogError(f"config.json is a run of {cfg.get('id')!r}, not {env_id}")
    if not isinstance(cfg.get("task"), str):
        raise RunLogError("config.json does not name the run's task")
    try:
        task = objectives.resolve_task(env_id, cfg.get("task"))
    except (ValueError, KeyError, TypeError):
        raise RunLogError(
            f"config.json names task {cfg.get('task')!r}, which {env_id} does not have "
            f"(tasks: {', '.join(objectives.tasks(env_id))})"
        ) from None
    episode = cfg.get("episode")
    if episode not in ("budget", "oneshot"):
        raise RunLogError(f"config.json: episode must be 'budget' or 'oneshot', not {episode!r}")
    budget = cfg.get("budget")
    if budget is None and episode == "oneshot":
        raise RunLogError(
            "this is an unbounded oneshot run (budget null), reported as a GuacaMol task score with no call "
            "limit, while leaderboard rows are per budget B (docs/molecules.md#the-run-log-and-the-replay)"
        )
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise RunLogError(f"config.json: budget must be a positive integer, not {budget!r}")
    mode = cfg.get("action_mode", "auto")
    if mode not in ACTION_MODES:
        raise RunLogError(f"config.json: action_mode must be one of {', '.join(ACTION_MODES)}, not {mode!r}")
    t = cfg.get("code_timeout_s", 60.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 1 <= t <= 600:
        raise RunLogError(f"config.json: code_timeout_s must be between 1 and 600 seconds, not {t!r}")
    seed = cfg.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise RunLogError(f"config.json: seed must be an integer, not {seed!r}")
    max_steps = cfg.get("max_steps")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise RunLogError(
            f"config.json: max_steps must be a positive integer, not {max_steps!r} (the run "
            "log of a current tttd records it)"
        )
    pool = None
    if task == "hidden":
        pool = cfg.get("pool") or "dev"
        if not isinstance(pool, str) or not (pool == "dev" or (pool.startswith("private:") and len(pool) == 20)):
            raise RunLogError(f"config.json: pool must be 'dev' or 'private:<12 hex>', not {pool!r}")
    return {
        "id": env_id,
        "task": task,
        "budget": budget,
        "episode": episode,
        "action_mode": mode,
        "code_timeout_s": float(t),
        "seed": seed,
        "max_steps": max_steps,
        "pool": pool,
    }


def read_items(text: str, episode: str = "budget") -> list[tuple[int, int, list[Any]]]:
    """The actions to replay from items.jsonl: (group, step, items) per action in submission order,
    where the group is the step (budget runs) or the rollout index in commit order (oneshot runs,
    docs/molecules.md#episodes-and-rewards). Each line's ``input`` is the exact item
    (:func:`~verifiers.molecules.run.log_item`); keys, statuses and scores on a line are the client's and are
    ignored."""
    from verifiers.molecules.run import replay_item

    groups: list[tuple[int, int, list[Any]]] = []
    field = "rollout" if episode == "oneshot" else "step"
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise RunLogError(f"items.jsonl line {n} is not JSON") from None
        if not isinstance(rec, dict) or "input" not in rec:
            raise RunLogError(f'items.jsonl line {n} has no "input"')
        try:
            item = replay_item(rec["input"])
        except ValueError as e:
            raise RunLogError(f"items.jsonl line {n}: {e}") from None
        step = _positive(rec, "step", n)
        group = _positive(rec, "rollout", n) if episode == "oneshot" else step
        last = groups[-1] if groups else None
        if last is not None and group < last[0]:
            raise RunLogError(
                f"items.jsonl line {n}: {field} {group} comes after {field} {last[0]}; items "
                "must be in submission order"
            )
        if last is not None and group == last[0]:
            if step != last[1]:
                raise RunLogError(
                    f"items.jsonl line {n}: rollout {group} has items of steps {last[1]} and "
                    f"{step}; one rollout is one action"
                )
            last[2].append(item)
        else:
            groups.append((group, step, [item]))
    return groups


def _positive(rec: dict[str, Any], name: str, line: int) -> int:
    v = rec.get(name)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise RunLogError(f"items.jsonl line {line}: {name} must be a positive integer, not {v!r}")
    return v


# -- the replay -----------------------------------------------------------------------------------
def replay(
    cfg: dict[str, Any],
    groups: list[tuple[int, int, list[Any]]],
    items_text: str,
    *,
    target_pool: str | None = None,
    n_workers: int | None = None,
) -> tuple[Verdict, Any]:
    """Every logged action again, as the run saw it: the same items (in one action, whatever their
    size), in the same steps; for a oneshot run one rollout per group, in commit order, on one
    ledger (rollouts do not end the run; past the budget their molecules are free). Returns the
    Verdict and the replayed run. ``target_pool`` is the private pool file of a hidden-target run."""
    from verifiers.molecules.run import MoleculeRun

    # every setting that changes the ledger; not reward_mode (rewards only) nor start_pool (the prompt)
    kwargs: dict[str, Any] = {
        "task": cfg["task"],
        "budget": cfg["budget"],
        "episode": cfg["episode"],
        "action_mode": cfg["action_mode"],
        "code_timeout_s": cfg["code_timeout_s"],
        "max_steps": cfg["max_steps"],
        "start_pool": 0,
    }
    if cfg["pool"] is not None and cfg["pool"] != "dev":
        kwargs["target_pool"] = str(target_pool)
    if n_workers is not None:
        kwargs["n_workers"] = n_workers
    run = MoleculeRun(cfg["id"], **kwargs)
    run.begin(None, cfg["seed"])
    logged = [json.loads(line) for line in items_text.splitlines() if line.strip()]
    replayed: list[dict[str, Any]] = []
    steps, done, end = 0, False, ""
    for i, (_, step, items) in enumerate(groups):
        if cfg["episode"] == "oneshot":
            if i:
                run.begin(None, cfg["seed"])  # a new rollout: only snapshots the run ledger
            replayed += run.step(None, items=list(items), step=step).verdict.details.get("items", [])
            steps += 1
            continue
        # Steps without items (rejected actions) used a step each: an empty action does the same.
        while steps < step - 1 and not done:
            steps += 1
            out = run.step(None, items=[])
            done, end = out.terminated or out.truncated, run.end_reason()
        if done:
            left = sum(len(g) for _, _, g in groups[i:])
            return Verdict.reject(
                f"items.jsonl goes on after the run ended ({end} at step {steps}): {left} more item(s) from "
                f"step {step} on; an honest run log stops there",
                details={"board": board_key(cfg)},
            ), run
        steps += 1
        out = run.step(None, items=list(items))
        replayed += out.verdict.details.get("items", [])
        done, end = out.terminated or out.truncated, run.end_reason()
    return _verdict(run, cfg, replayed, logged, steps), run


def board_key(cfg: dict[str, Any]) -> str:
    """The board a run is ranked on: id's task, budget, action mode and code limit, target pool, e.g.
    ``albuterol|B100|auto|60s|-`` or ``hidden|B1000|smiles|60s|private:0123456789ab``."""
    return f"{cfg['task']}|B{cfg['budget']}|{cfg['action_mode']}|{cfg['code_timeout_s']:g}s|{cfg['pool'] or '-'}"


def parse_board_key(key: str | None) -> dict[str, Any] | None:
    """The parts of a board key, or None when ``key`` is not one."""
    parts = (key or "").split("|")
    if len(parts) != 5 or not parts[1].startswith("B") or not parts[3].endswith("s"):
        return None
    try:
        budget = int(parts[1][1:])
        t = float(parts[3][:-1])
    except ValueError:
        return None
    return {
        "task": parts[0],
        "budget": budget,
        "action_mode": parts[2],
        "code_timeout_s": t,
        "pool": None if parts[4] == "-" else parts[4],
    }


def board_kind(key: str | None) -> str | None:
    """docs/molecules.md#tasks labels: white-box, hidden-dev (dev pool) or hidden-private (operator pool); None when
    ``key`` is not a board key."""
    k = parse_board_key(key)
    if k is None:
        return None
    if k["task"] != "hidden":
        return "white-box"
    return "hidden-private" if (k["pool"] or "").startswith("private:") else "hidden-dev"


def _verdict(
    run: MoleculeRun, cfg: dict[str, Any], replayed: list[dict[str, Any]], logged: list[dict[str, Any]], steps: int
) -> Verdict:
    m = run.final_metrics()
    v = run.verifier
    differ = sum(
        1 for a, b in zip(replayed, logged) if (a["status"], a["reason"]) != (b.get("status"), b.get("reason"))
    )
    top = [[e.key, e.score, e.call] for e in run.ledger.top(10)]
    key = board_key(cfg)
    details = {
        "board": key,
        "board_kind": board_kind(key),
        "task": cfg["task"],
        "budget": cfg["budget"],
        "episode": cfg["episode"],
        "max_steps": cfg["max_steps"],
        "action_mode": cfg["action_mode"],
        "code_timeout_s": cfg["code_timeout_s"],
        "pool": cfg["pool"],
        "seed": cfg["seed"],
        "metric": m["metric"],
        "metric_value": m["metric_value"],
        "calls": m["calls"],
        "steps": steps,
        "items": len(replayed),
        "top1": m["top1"],
        "top10": m["top10"],
        "top100": m["top100"],
        "free_items": m["free_items"],
        "free_by_reason": m["free_by_reason"],
        "status_mismatches": differ,
        "replay_verifier": v.ident,
        "pinned": v.pinned,
        "construction": top,
    }
    for k in ("auc_top1", "auc_top10", "auc_top100", "auc_coverage", "coverage", "hits"):
        if k in m:
            details[k] = m[k]
    if v.target_id:
        details["target_id"] = v.target_id
    unit = "rollouts" if cfg["episode"] == "oneshot" else "steps"
    summary = (
        f"replayed {len(replayed)} items in {steps} {unit}: {m['calls']}/{cfg['budget']} calls charged, "
        f"{m['metric']} {m['metric_value']:.4f}, top-10 {m['top10']:.4f}"
    )
    if differ:
        summary += f"; {differ} item statuses in items.jsonl differ from the replay (the file's are ignored)"
    if m["calls"] == 0:
        return Verdict.reject(f"no molecule was scored: {summary}", details=details)
    return Verdict.accept(float(m["metric_value"]), summary, details=details)


class RunLogVerifier(Verifier):
    """Judges a molecule run bundle by replaying it (docs/molecules.md#the-run-log-and-the-replay). ``verify`` never
    raises (the Verifier contract); :meth:`config_of` and :meth:`check` raise RunLogError for bundles that cannot be
    replayed, so a caller can refuse them before anything is stored."""

    name = "mol-replay"
    version = "1"

    def __init__(
        self, env_id: str, *, target_pool: str | None = None, n_workers: int | None = None, **_ignored: Any
    ) -> None:
        if target_pool is not None and not os.path.isfile(str(target_pool)):
            raise RunLogError(f"target_pool: no such file {target_pool}")
        self.env_id = env_id
        self.target_pool = target_pool
        self.n_workers = n_workers

    def config_of(self, bundle: str) -> dict[str, Any]:
        cfg = read_config(self.env_id, files_of(bundle)["config.json"])
        if cfg["pool"] is not None and cfg["pool"] != "dev":
            from verifiers.molecules import data

            have = data.pool_id(self.target_pool) if self.target_pool else None
            if have != cfg["pool"]:
                raise RunLogError(
                    f"this run used the private target pool {cfg['pool']}; the leaderboard "
                    "needs that pool file to replay it (-o target_pool=PATH)"
                )
        return cfg

    def check(self, bundle: str) -> dict[str, Any]:
        """The run's config, after checking that its config and items can be replayed."""
        cfg = self.config_of(bundle)
        read_items(files_of(bundle)["items.jsonl"], cfg["episode"])
        return cfg

    def _verify(self, artifact: str, **_: Any) -> Verdict:
        try:
            files = files_of(artifact)
            cfg = self.config_of(artifact)
            groups = read_items(files["items.jsonl"], cfg["episode"])
        except RunLogError as e:
            return Verdict.reject(str(e))
        return replay(cfg, groups, files["items.jsonl"], target_pool=self.target_pool, n_workers=self.n_workers)[0]
