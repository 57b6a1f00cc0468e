"""Molecule runs on the leaderboard (specs/molecules.md §6.7, §6.11).

A molecule submission is a whole run, not one artifact: the run directory's ``config.json`` and
``items.jsonl`` (what ``MoleculeEnv.write_run_log`` writes). The leaderboard keeps the two files
byte for byte in one canonical JSON *bundle* (its sha256 is the entry's artifact hash, so identical
runs deduplicate and ``tttd board --artifact N --unpack DIR`` gives the files back), and judges the
run by **replaying** it: every submitted item (items.jsonl holds each exactly), in order and action by
action, goes through a fresh env of the same id, task, budget, episode, step cap, code limit, seed and
target pool. Scores, keys, statuses and metrics in the files are never read; the replay rebuilds the
ledger and every metric of §6.4/§6.9. A oneshot run (§6.8) is replayed rollout by rollout in its
logged commit order on one ledger; with B set it is ranked on the same board as budget runs of that B
(§6.8: "comparable with budget-mode rows at the same B"); an unbounded one (B = None) has no board.

Runs are ranked per *board*: (id, task, budget B, action mode and ``code_timeout_s``, target pool).
The board key is stored in the entry's ``case_set`` column, e.g. ``albuterol|B100|auto|60s|-`` or
``hidden|B1000|smiles|60s|private:0123456789ab``.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from leaderboards.errors import SubmissionRefused
from verifiers.base import Verifier
from verifiers.verdict import Verdict

BUNDLE_FORMAT = "tttd.molecule-run/1"
RUN_FILES = ("config.json", "items.jsonl")
#: options a submitter may give for a molecule run (the operator's private target-pool file)
OPTIONS = ("target_pool",)
_KEY_CHARS = 50                       # the case_set column's width


def is_molecule(card) -> bool:
    return card.domain == "molecules"


# -- the bundle: the run's two files, exactly ---------------------------------------------------------
def bundle_from(artifact: Any) -> str:
    """The canonical bundle text of a submission: a run directory (path) is read; a bundle text (what
    the leaderboard stores and hands back) passes through after a check."""
    if isinstance(artifact, os.PathLike) or (isinstance(artifact, str) and "\n" not in artifact
                                             and len(artifact) < 4096 and os.path.isdir(artifact)):
        return read_run_dir(os.fspath(artifact))
    if isinstance(artifact, (bytes, bytearray)):
        try:
            artifact = bytes(artifact).decode("utf-8")
        except UnicodeDecodeError:
            raise SubmissionRefused("a molecule run bundle must be UTF-8 JSON") from None
    if isinstance(artifact, str):
        files_of(artifact)                        # refuses what is not a bundle
        return artifact
    raise SubmissionRefused("a molecule submission is a run directory (config.json + items.jsonl), "
                            f"not {type(artifact).__name__}")


def read_run_dir(path: str) -> str:
    if not os.path.isdir(path):
        raise SubmissionRefused(f"{path} is not a run directory (config.json + items.jsonl)")
    files = {}
    for name in RUN_FILES:
        full = os.path.join(path, name)
        if not os.path.isfile(full):
            raise SubmissionRefused(f"the run directory {path} has no {name}; a molecule submission is the "
                                    "config.json and items.jsonl that the env's write_run_log() writes")
        with open(full, "rb") as fh:
            data = fh.read()
        try:
            files[name] = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SubmissionRefused(f"{name} is not UTF-8 text (bad byte at offset {e.start})") from None
    return make_bundle(files)


def make_bundle(files: dict[str, str]) -> str:
    return json.dumps({"format": BUNDLE_FORMAT, "files": {n: files[n] for n in RUN_FILES}}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))


def files_of(bundle: str) -> dict[str, str]:
    """config.json and items.jsonl, exactly as submitted."""
    try:
        doc = json.loads(bundle)
    except (json.JSONDecodeError, RecursionError):
        doc = None
    files = doc.get("files") if isinstance(doc, dict) and doc.get("format") == BUNDLE_FORMAT else None
    if not isinstance(files, dict) or not all(isinstance(files.get(n), str) for n in RUN_FILES):
        raise SubmissionRefused("a molecule submission is a run directory (config.json + items.jsonl) or a "
                                "bundle from `tttd board --artifact N`; this is neither")
    return {n: files[n] for n in RUN_FILES}


def unpack(bundle: str, directory: str) -> list[str]:
    """Write the bundle's files into ``directory``, byte for byte as they were submitted."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name, text in files_of(bundle).items():
        path = os.path.join(directory, name)
        with open(path, "wb") as fh:
            fh.write(text.encode("utf-8"))
        paths.append(path)
    return paths


# -- config and items -----------------------------------------------------------------------------
def parse_config(card, text: str) -> dict[str, Any]:
    """The run configuration the replay uses, checked; refuses (one sentence) what cannot be replayed."""
    from verifiers.molecules import objectives
    from verifiers.molecules.verifier import ACTION_MODES
    try:
        cfg = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise SubmissionRefused(f"config.json is not valid JSON ({str(e)[:80]})") from None
    if not isinstance(cfg, dict):
        raise SubmissionRefused("config.json must be a JSON object (the run config of §6.9)")
    if cfg.get("id") != card.id:
        raise SubmissionRefused(f"config.json is a run of {cfg.get('id')!r}, not {card.id}")
    if not isinstance(cfg.get("task"), str):
        raise SubmissionRefused("config.json does not name the run's task")
    try:
        task = objectives.resolve_task(card.id, cfg.get("task"))
    except (ValueError, KeyError, TypeError):
        raise SubmissionRefused(f"config.json names task {cfg.get('task')!r}, which {card.id} does not have "
                                f"(tasks: {', '.join(objectives.tasks(card.id))})") from None
    episode = cfg.get("episode")
    if episode not in ("budget", "oneshot"):
        raise SubmissionRefused(f"config.json: episode must be 'budget' or 'oneshot', not {episode!r}")
    budget = cfg.get("budget")
    if budget is None and episode == "oneshot":
        raise SubmissionRefused("this is an unbounded oneshot run (budget null): §6.8 reports it as a GuacaMol "
                                "task score with no call limit, while leaderboard rows are per budget B (§6.11)")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise SubmissionRefused(f"config.json: budget must be a positive integer, not {budget!r}")
    mode = cfg.get("action_mode", "auto")
    if mode not in ACTION_MODES:
        raise SubmissionRefused(f"config.json: action_mode must be one of {', '.join(ACTION_MODES)}, not {mode!r}")
    t = cfg.get("code_timeout_s", 60.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 1 <= t <= 600:
        raise SubmissionRefused(f"config.json: code_timeout_s must be between 1 and 600 seconds, not {t!r}")
    seed = cfg.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SubmissionRefused(f"config.json: seed must be an integer, not {seed!r}")
    max_steps = cfg.get("max_steps")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise SubmissionRefused(f"config.json: max_steps must be a positive integer, not {max_steps!r} (the run "
                                "log of a current tttd records it)")
    pool = None
    if task == "hidden":
        pool = cfg.get("pool") or "dev"
        if not isinstance(pool, str) or not (pool == "dev" or (pool.startswith("private:") and len(pool) == 20)):
            raise SubmissionRefused(f"config.json: pool must be 'dev' or 'private:<12 hex>', not {pool!r}")
    return {"id": card.id, "task": task, "budget": budget, "episode": episode, "action_mode": mode,
            "code_timeout_s": float(t), "seed": seed, "max_steps": max_steps, "pool": pool}


def parse_items(text: str, episode: str = "budget") -> list[tuple[int, int, list]]:
    """The actions to replay from items.jsonl: (group, step, items) per action in submission order,
    where the group is the step (budget runs) or the rollout index in commit order (oneshot runs,
    §6.8). Each line's ``input`` is the exact item (``MoleculeEnv`` ``log_item``); keys, statuses and
    scores on a line are the client's and are ignored."""
    from tttd_envs.problems.molecules import replay_item
    groups: list[tuple[int, int, list]] = []
    field = "rollout" if episode == "oneshot" else "step"
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise SubmissionRefused(f"items.jsonl line {n} is not JSON") from None
        if not isinstance(rec, dict) or "input" not in rec:
            raise SubmissionRefused(f"items.jsonl line {n} has no \"input\"")
        try:
            item = replay_item(rec["input"])
        except ValueError as e:
            raise SubmissionRefused(f"items.jsonl line {n}: {e}") from None
        step = _positive(rec, "step", n)
        group = _positive(rec, "rollout", n) if episode == "oneshot" else step
        last = groups[-1] if groups else None
        if last is not None and group < last[0]:
            raise SubmissionRefused(f"items.jsonl line {n}: {field} {group} comes after {field} {last[0]}; items "
                                    "must be in submission order")
        if last is not None and group == last[0]:
            if step != last[1]:
                raise SubmissionRefused(f"items.jsonl line {n}: rollout {group} has items of steps {last[1]} and "
                                        f"{step}; one rollout is one action")
            last[2].append(item)
        else:
            groups.append((group, step, [item]))
    return groups


def _positive(rec: dict, name: str, line: int) -> int:
    v = rec.get(name)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise SubmissionRefused(f"items.jsonl line {line}: {name} must be a positive integer, not {v!r}")
    return v


# -- boards ---------------------------------------------------------------------------------------
def board_key(cfg: dict[str, Any]) -> str:
    key = (f"{cfg['task']}|B{cfg['budget']}|{cfg['action_mode']}|{cfg['code_timeout_s']:g}s|"
           f"{cfg['pool'] or '-'}")
    if len(key) > _KEY_CHARS:
        raise SubmissionRefused(f"the run's board key {key!r} is longer than {_KEY_CHARS} characters")
    return key


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
    return {"task": parts[0], "budget": budget, "action_mode": parts[2], "code_timeout_s": t,
            "pool": None if parts[4] == "-" else parts[4]}


def board_kind(key: str | None) -> str | None:
    """§6.7 labels: white-box, hidden-dev (dev pool) or hidden-private (operator pool)."""
    k = parse_board_key(key)
    if k is None:
        return None
    if k["task"] != "hidden":
        return "white-box"
    return "hidden-private" if (k["pool"] or "").startswith("private:") else "hidden-dev"


def board_title(key: str | None) -> str | None:
    """One line describing a molecule board (its key spelled out, with the §6.7 label)."""
    k = parse_board_key(key)
    if k is None:
        return None
    head = (f"task {k['task']} · budget {k['budget']:,} calls · action mode {k['action_mode']}, "
            f"code limit {k['code_timeout_s']:g} s")
    kind = board_kind(key)
    if kind == "white-box":
        return head + (" · WHITE-BOX: the objective is public and can be computed offline, so the budget counts "
                       "submissions, not evaluations; compared only within this action mode and limit")
    if kind == "hidden-dev":
        return head + (" · HIDDEN TARGET, DEV POOL: trusted only if the agent read neither the shipped pool nor "
                       "ZINC250k (targets drawn from the screening library)")
    return head + f" · HIDDEN TARGET, PRIVATE POOL {k['pool']}: operator-held targets"


# -- the replay -----------------------------------------------------------------------------------
class RunReplayer(Verifier):
    """Judges a molecule run bundle by replaying its items through a fresh env (§6.11). ``verify``
    never raises (the Verifier contract); :meth:`board_key_of` refuses bundles it cannot replay."""

    name = "mol-replay"
    version = "1"

    def __init__(self, card, *, target_pool: str | None = None, n_workers: int | None = None) -> None:
        self.card = card
        self.target_pool = target_pool
        self.n_workers = n_workers
        if target_pool is not None and not os.path.isfile(str(target_pool)):
            raise SubmissionRefused(f"target_pool: no such file {target_pool}")

    def config_of(self, bundle: str) -> dict[str, Any]:
        cfg = parse_config(self.card, files_of(bundle)["config.json"])
        if cfg["pool"] is not None and cfg["pool"] != "dev":
            from verifiers.molecules import data
            have = data.pool_id(self.target_pool) if self.target_pool else None
            if have != cfg["pool"]:
                raise SubmissionRefused(f"this run used the private target pool {cfg['pool']}; the leaderboard "
                                        "needs that pool file to replay it (-o target_pool=PATH)")
        return cfg

    def board_key_of(self, bundle: str) -> str:
        """The run's board; refuses (nothing stored) a bundle whose config or items cannot be replayed."""
        cfg = self.config_of(bundle)
        parse_items(files_of(bundle)["items.jsonl"], cfg["episode"])
        return board_key(cfg)

    def _verify(self, artifact: str, **_: Any) -> Verdict:
        try:
            files = files_of(artifact)
            cfg = self.config_of(artifact)
            groups = parse_items(files["items.jsonl"], cfg["episode"])
        except SubmissionRefused as e:
            return Verdict.reject(str(e))
        return self._replay(cfg, groups, files["items.jsonl"])

    def _replay(self, cfg: dict[str, Any], groups: list[tuple[int, int, list]], items_text: str) -> Verdict:
        """Every logged action again, as the env saw it: the same items (in one action, whatever their
        size), in the same steps; for a oneshot run one rollout per group, in commit order, on one
        ledger (rollouts do not end the run; past the budget their molecules are free)."""
        import gymnasium as gym

        import tttd_envs  # noqa: F401 - registers the ids
        # every setting that changes the ledger; not reward_mode (rewards only) nor start_pool (the prompt)
        kwargs = {"task": cfg["task"], "budget": cfg["budget"], "episode": cfg["episode"],
                  "action_mode": cfg["action_mode"], "code_timeout_s": cfg["code_timeout_s"],
                  "max_steps": cfg["max_steps"]}
        if cfg["pool"] is not None and cfg["pool"] != "dev":
            kwargs["target_pool"] = str(self.target_pool)
        if self.n_workers is not None:
            kwargs["n_workers"] = self.n_workers
        env = gym.make(self.card.id, **kwargs).unwrapped
        env.reset(seed=cfg["seed"])
        logged = [json.loads(line) for line in items_text.splitlines() if line.strip()]
        replayed: list[dict] = []
        steps, done, end = 0, False, ""
        for i, (_, step, items) in enumerate(groups):
            if cfg["episode"] == "oneshot":
                if i:
                    env.reset(seed=cfg["seed"])                # a new rollout: only snapshots the run ledger
                _, _, _, _, info = env.replay_step(items, step=step)
                replayed += info["items"]
                steps += 1
                continue
            # Steps without items (rejected actions) used a step each: an empty action does the same.
            while steps < step - 1 and not done:
                steps += 1
                _, _, term, trunc, _ = env.replay_step([])
                done, end = term or trunc, _why(env)
            if done:
                left = sum(len(g) for _, _, g in groups[i:])
                return Verdict.reject(
                    f"items.jsonl goes on after the run ended ({end} at step {steps}): {left} more item(s) from "
                    f"step {step} on; an honest run log stops there", details={"board": board_key(cfg)})
            steps += 1
            _, _, term, trunc, info = env.replay_step(items)
            replayed += info["items"]
            done, end = term or trunc, _why(env)
        return self._verdict(env, cfg, replayed, logged, steps)

    def _verdict(self, env, cfg: dict[str, Any], replayed: list[dict], logged: list[dict], steps: int) -> Verdict:
        m = env.final_metrics()
        ledger = env.verifier.ledger
        differ = sum(1 for a, b in zip(replayed, logged)
                     if (a["status"], a["reason"]) != (b.get("status"), b.get("reason")))
        top = [[e.key, e.score, e.call] for e in ledger.top(10)]
        details = {
            "board": board_key(cfg), "board_kind": board_kind(board_key(cfg)), "task": cfg["task"],
            "budget": cfg["budget"], "episode": cfg["episode"], "max_steps": cfg["max_steps"],
            "action_mode": cfg["action_mode"], "code_timeout_s": cfg["code_timeout_s"], "pool": cfg["pool"],
            "seed": cfg["seed"], "metric": m["metric"], "metric_value": m["metric_value"],
            "calls": m["calls"], "steps": steps, "items": len(replayed), "top1": m["top1"], "top10": m["top10"],
            "top100": m["top100"], "free_items": m["free_items"], "free_by_reason": m["free_by_reason"],
            "status_mismatches": differ, "replay_verifier": env.verifier.ident, "pinned": env.verifier.pinned,
            "construction": top}
        for k in ("auc_top1", "auc_top10", "auc_top100", "auc_coverage", "coverage", "hits"):
            if k in m:
                details[k] = m[k]
        if env.verifier.target_id:
            details["target_id"] = env.verifier.target_id
        unit = "rollouts" if cfg["episode"] == "oneshot" else "steps"
        summary = (f"replayed {len(replayed)} items in {steps} {unit}: {m['calls']}/{cfg['budget']} calls charged, "
                   f"{m['metric']} {m['metric_value']:.4f}, top-10 {m['top10']:.4f}")
        if differ:
            summary += f"; {differ} item statuses in items.jsonl differ from the replay (the file's are ignored)"
        if m["calls"] == 0:
            return Verdict.reject(f"no molecule was scored: {summary}", details=details)
        return Verdict.accept(float(m["metric_value"]), summary, details=details)


def _why(env) -> str:
    ledger = env.verifier.ledger
    if ledger.left is not None and ledger.left <= 0:
        return "budget fully charged"
    return "truncated (step cap or 2·B free items)"
