"""One molecule action → the pipeline → a Verdict, against a run ledger (docs/molecules.md#from-a-string-to-a-key).

The verifier is stateful: it owns the run's :class:`~verifiers.molecules.ledger.Ledger`, so the
same key is charged once per run however often it is submitted. ``start_run`` begins a new run
(a task, a seed for hidden targets, a fresh ledger). An action is a JSON list of SMILES, a fenced
```smiles block (one per line), a fenced ```python program run in the sandbox (it prints a JSON list
as its last stdout line; no oracle inside), or ``{"stop": true}``.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from verifiers import sandbox
from verifiers.artifacts import last_block
from verifiers.base import Verifier
from verifiers.molecules import RDKIT_PIN, VERSION, data, objectives, pipeline
from verifiers.molecules.ledger import Ledger, SharedLedger
from verifiers.molecules.workers import DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT_S, default_workers, shared_pool
from verifiers.verdict import Verdict

K = 100
MAX_ACTION_BYTES = 65536
ACTION_MODES = ("auto", "smiles", "code")
CODE_MEMORY_BYTES = 4 << 30
CODE_STDOUT_BYTES = 1 << 20
_LANGS = {"smiles": "smiles", "smi": "smiles", "json": "json", "python": "code", "py": "code", "python3": "code"}
_FORMAT = (
    "give a JSON list of up to 100 SMILES strings, a ```smiles block with one SMILES per line, "
    'a ```python program that prints a JSON list of SMILES as its last line, or {"stop": true}'
)

_CODE_WRAPPER = """\
import runpy


def main():
    try:
        runpy.run_path("submission.py", run_name="__main__")
    except SystemExit as e:
        if e.code not in (None, 0):
            raise
"""


def pick_targets(env_id: str, task: str, seed: int, pool: list[str]) -> list[str]:
    """The hidden target(s) for a seed (docs/molecules.md#tasks): index h("a") mod N, and for a pair h("b") mod (N−1),
    incremented by 1 if it is ≥ the first index."""

    def h(tag: str) -> int:
        return int(hashlib.sha256(f"{env_id}|{task}|{seed}|{tag}".encode()).hexdigest(), 16)

    n = len(pool)
    i = h("a") % n
    if env_id != "MolMedian-v0":
        return [pool[i]]
    j = h("b") % (n - 1)
    if j >= i:
        j += 1
    return [pool[i], pool[j]]


def target_commitment(targets: list[str]) -> str:
    return hashlib.sha256("|".join(targets).encode()).hexdigest()[:12]


def decode_action(text: str, mode: str = "auto") -> tuple[str, Any]:
    """('items', list) | ('code', source) | ('stop', None) | ('reject', message). Never raises."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_ACTION_BYTES:
        return "reject", f"the action is {size:,} bytes; the limit is 64 KiB"
    found = last_block(text, _LANGS)
    if found is not None:
        kind, body = found
    else:
        body = text.strip()
        kind = "json" if body.startswith(("[", "{")) else ("code" if mode == "code" else "none")
    if kind == "code":
        if mode == "smiles":
            return "reject", "this run takes SMILES actions only (action_mode='smiles'); programs are not run"
        return ("code", body) if body.strip() else ("reject", "the program is empty")
    if mode == "code":
        return "reject", "this run takes programs only (action_mode='code'): give a ```python block"
    if kind == "smiles":
        return "items", [line.strip() for line in body.splitlines() if line.strip()]
    if kind == "none":
        return "reject", f"the action is not in a known format: {_FORMAT}"
    return _decode_json(body)


def _decode_json(body: str) -> tuple[str, Any]:
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, RecursionError, ValueError) as e:
        return "reject", f"the action is not valid JSON ({str(e)[:80]}): {_FORMAT}"
    if isinstance(doc, dict):
        if doc == {"stop": True}:
            return "stop", None
        return "reject", 'the only JSON object accepted is {"stop": true}; ' + _FORMAT
    if not isinstance(doc, list):
        return "reject", f"the action must be a list, not {type(doc).__name__}: {_FORMAT}"
    if any(isinstance(x, (dict, list)) for x in doc):
        return "reject", (
            "the list must hold SMILES strings only; scores or records in the action are not read "
            "(every score is recomputed)"
        )
    return "items", doc


class MoleculeVerifier(Verifier):
    """The verifier of one molecule env id; see the module docstring."""

    version = VERSION

    def __init__(
        self,
        env_id: str,
        *,
        task: str | None = None,
        budget: int | None = 1000,
        seed: int = 0,
        action_mode: str = "auto",
        code_timeout_s: float = 60.0,
        target_pool: str = "dev",
        n_workers: int | None = None,
        item_timeout_s: float = DEFAULT_TIMEOUT_S,
        item_memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
        max_heavy: int | None = None,
        max_features: int | None = None,
        objective: dict[str, Any] | None = None,
        ledger: str | None = None,
        **_ignored: Any,
    ) -> None:
        if env_id not in objectives.OBJECTIVES:
            raise ValueError(f"unknown molecule problem {env_id!r}")
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
            raise ValueError(f"budget must be a positive integer or None, not {budget!r}")
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {', '.join(ACTION_MODES)}, not {action_mode!r}")
        if not 1 <= float(code_timeout_s) <= 600:
            raise ValueError("code_timeout_s must be between 1 and 600 seconds")
        self.pinned = pipeline.check_rdkit()
        self.env_id = env_id
        self.budget = budget
        self.action_mode = action_mode
        self.code_timeout_s = float(code_timeout_s)
        self.last_items: list[Any] = []  # the exact items of the last verified action (see verify_items)
        self.target_pool = target_pool
        self.pool = shared_pool(
            default_workers() if n_workers is None else n_workers, item_timeout_s, item_memory_bytes
        )
        self.item_timeout_s = float(item_timeout_s)
        self._override = (objective, max_heavy, max_features)  # trusted callers (tests) only
        self.ledger_path = ledger  # oneshot runs: one SQLite file per run
        self.start_run(task, seed)  # sets self.ledger

    ledger: Ledger  # the run's ledger, set by start_run

    # -- runs -----------------------------------------------------------------------------------
    def start_run(self, task: str | None = None, seed: int = 0) -> None:
        """A new run: task (aliases accepted), hidden target for `seed`, empty ledger."""
        self.task = objectives.resolve_task(self.env_id, task if task is not None else getattr(self, "task", None))
        self.seed = int(seed)
        self.hidden = self.task == "hidden"
        self.target_id = None
        if self.hidden:
            targets = pick_targets(self.env_id, self.task, self.seed, data.dev_pool(self.target_pool))
            self.objective = objectives.hidden_objective(self.env_id, targets)
            self.target_id = target_commitment(targets)
        else:
            self.objective = objectives.OBJECTIVES[self.env_id][self.task]
        objective, max_heavy, max_features = self._override
        if objective is not None:
            self.objective = objective
        self.max_heavy = max_heavy or self.objective.get("max_heavy", pipeline.MAX_HEAVY)
        self.max_features = max_features if max_features is not None else self.objective.get("max_features")
        self.elements = sorted(self.objective.get("elements", pipeline.ELEMENTS))
        self.bounded = self.objective.get("bounded", True)
        self.n_target = self.objective.get("n_target")
        self._spec = json.dumps(self.objective, sort_keys=True)
        self.name = f"mol.{self.env_id}.{self.task}"
        previous = getattr(self, "ledger", None)  # none yet when __init__ starts the first run
        if isinstance(previous, SharedLedger):
            previous.close()
        kw: dict[str, Any] = {"n_target": self.n_target, "unbounded_score": not self.bounded}
        if self.ledger_path:
            meta = {
                "id": self.env_id,
                "task": self.task,
                "target_id": self.target_id,
                "pinned": self.pinned,
                "objective_sha256": hashlib.sha256(self._spec.encode()).hexdigest(),
            }
            self.ledger = SharedLedger(self.ledger_path, self.budget, meta, **kw)
        else:
            self.ledger = Ledger(self.budget, **kw)

    def info(self) -> dict[str, Any]:
        """What a Verdict says about the verifier (docs/molecules.md#episodes-and-rewards)."""
        out = {
            "name": self.name,
            "version": VERSION,
            "rdkit": RDKIT_PIN,
            "pinned": self.pinned,
            "pool": data.pool_id(self.target_pool) if self.hidden else None,
        }
        if self.target_id:
            out["target_id"] = self.target_id
        return out

    # -- one action -----------------------------------------------------------------------------
    def _verify(self, artifact: str, *, step: int | None = None, **_: Any) -> Verdict:
        self.last_items = []
        step = self.ledger.used if step is None else int(step)
        kind, payload = decode_action(artifact, self.action_mode)
        details: dict[str, Any] = {"verifier": self.info(), "action_kind": kind}
        if kind == "reject":
            return Verdict.reject(payload, details=details)
        if kind == "stop":
            details["stop"] = True
            return Verdict.reject(
                "stop: the run ends here (the last top-10 counts for the unused budget)", details=details
            )
        if kind == "code":
            payload, failure = self._run_code(payload, details)
            if failure is not None:
                return failure
        return self.verify_items(payload, step, details)

    def verify_items(self, items: list[Any], step: int = 0, details: dict[str, Any] | None = None) -> Verdict:
        """The Verdict for a list of items sent straight to the pipeline, without decoding an action
        (how a logged run is replayed). ``last_items`` keeps the exact items, which the records
        shorten to 200 characters, for the run log (docs/molecules.md#the-run-log-and-the-replay)."""
        self.last_items = list(items)
        if details is None:
            details = {"verifier": self.info(), "action_kind": "items"}
        return self._judge(self.submit(items, step), details)

    def submit(self, items: list[Any], step: int = 0) -> list[dict[str, Any]]:
        """Steps 1–10 of docs/molecules.md#from-a-string-to-a-key for one list of items; returns one record per item, in
        input order."""
        records: list[dict[str, Any]] = []
        jobs: list[tuple[Any, ...]] = []
        job_of: dict[int, int] = {}
        for i, item in enumerate(items):
            text = item.strip()[:200] if isinstance(item, str) else repr(item)[:200]
            rec = {
                "input": text,
                "key": None,
                "status": "rejected",
                "reason": None,
                "score": None,
                "charged": False,
                "call": None,
            }
            records.append(rec)
            if i >= K:
                rec["status"] = rec["reason"] = "over_k"
                continue
            s, reason = pipeline.hygiene(item)
            if reason is not None:
                rec["reason"] = reason
                continue
            job_of[i] = len(jobs)
            jobs.append(("canon", s, self.max_heavy, self.max_features, self.elements))
        canon = self.pool.run(jobs)
        with self.ledger.transaction():
            self._charge(records, job_of, canon, step)
        return records

    def _charge(
        self, records: list[dict[str, Any]], job_of: dict[int, int], canon: list[tuple[str, Any]], step: int
    ) -> None:
        """Steps 8–10: dedup against the ledger, reserve budget, score, charge in input order."""
        to_score: list[int] = []
        seen: dict[str, int] = {}
        budget_left = self.ledger.left
        for i, rec in enumerate(records):
            if i not in job_of:
                continue
            status, value = canon[job_of[i]]
            if status != "ok":
                rec["reason"] = "timeout" if status == "timeout" else "error"
                continue
            key, reason, message = value
            if key is None:
                rec["reason"], rec["message"] = reason, message
                continue
            rec["key"] = key
            if key in self.ledger.by_key or key in seen:
                rec["status"] = "cached"
            elif key in self.ledger.blacklist:
                rec["status"] = rec["reason"] = self.ledger.blacklist[key]
            elif budget_left is not None and budget_left <= 0:
                rec["status"] = rec["reason"] = "over_budget"
            else:
                seen[key] = i
                to_score.append(i)
                if budget_left is not None:
                    budget_left -= 1
        scored = self.pool.run([("score", self._spec, records[i]["key"]) for i in to_score])
        for i, (status, value) in zip(to_score, scored):
            rec = records[i]
            if status == "ok":
                value, problem = self._check_value(value)
                if problem is None:
                    hit = bool(self.n_target) and value == 1.0
                    entry = self.ledger.charge(rec["key"], value, step, rec["input"], hit)
                    rec.update(status="scored", score=value, charged=True, call=entry.call)
                    if self.n_target:
                        rec["hit"] = hit
                    continue
                status, value = "error", problem
            rec["status"] = rec["reason"] = status
            if status == "error":
                rec["message"] = str(value)[:200]
            else:
                rec["message"] = f"scoring took longer than {self.item_timeout_s:g} s"
            self.ledger.add_blacklist(rec["key"], status)
        for rec in records:
            if rec["status"] == "cached":
                known = self.ledger.by_key.get(rec["key"])
                if known is not None:
                    rec["score"] = known.score
                    if self.n_target:
                        rec["hit"] = known.hit
                else:  # an earlier copy in this batch failed to score
                    rec["status"] = rec["reason"] = self.ledger.blacklist.get(rec["key"], "error")
            if not rec["charged"]:
                self.ledger.count_free(rec["reason"] or rec["status"])

    def _check_value(self, value: Any) -> tuple[float, str | None]:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return 0.0, f"the objective returned a non-finite value ({value!r}); please report"
        value = float(value)
        if self.bounded:
            if not -1e-12 <= value <= 1 + 1e-12:
                return 0.0, f"the objective returned {value!r}, outside [0, 1]; please report"
            value = min(1.0, max(0.0, value))
        return value, None

    # -- programs -------------------------------------------------------------------------------
    def _run_code(self, source: str, details: dict[str, Any]) -> tuple[list[Any] | None, Verdict | None]:
        limits = sandbox.Limits(
            wall_s=self.code_timeout_s,
            cpus=1,
            memory_bytes=CODE_MEMORY_BYTES,
            output_bytes=CODE_STDOUT_BYTES,
            keep_stdout_bytes=CODE_STDOUT_BYTES,
            stderr_counts=False,
            result_bytes=1 << 12,
        )
        files = {"program.py": _CODE_WRAPPER.encode(), "submission.py": source.encode("utf-8", "surrogatepass")}
        res = sandbox.run(
            files=files, limits=limits, config={"entry": "main", "kwargs": {}, "convert": {"kind": "json"}}
        )
        details.update(
            {
                "stdout": res.stdout[-2048:],
                "stderr": res.stderr[-2048:],
                "isolation": res.isolation,
                "code_wall_s": round(res.wall_s, 3),
            }
        )
        fail = None
        if res.status == "setup_error":
            fail = Verdict.reject(
                f"verifier error: the sandbox could not start ({res.detail}); please report",
                status="error",
                details=details,
            )
        elif res.status == "timeout":
            fail = Verdict.reject(
                f"the program ran longer than {self.code_timeout_s:g} s and was killed",
                status="timeout",
                details=details,
            )
        elif res.status == "memory":
            fail = Verdict.reject("the program exceeded the 4 GiB memory limit", status="memory", details=details)
        elif res.status == "output_limit":
            fail = Verdict.reject(
                "the program printed more than 1 MiB; print only the SMILES list",
                status="output_limit",
                details=details,
            )
        elif res.status != "ok":
            fail = Verdict.reject(
                f"the program failed ({res.status} {res.detail})".strip(), status="crashed", details=details
            )
        else:
            assert res.result is not None  # the sandbox always returns the result channel's bytes
            try:
                doc = json.loads(res.result.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                doc = {"error": {"message": "malformed result channel"}}
            if "error" in doc:
                err = doc["error"] if isinstance(doc["error"], dict) else {}
                fail = Verdict.reject(
                    str(err.get("message", "the program failed"))[:400],
                    status="memory" if err.get("kind") == "memory" else "crashed",
                    details=details,
                )
        if fail is not None:
            return None, fail
        lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
        if not lines:
            return None, Verdict.reject(
                "the program printed nothing; its last stdout line must be a JSON list of SMILES", details=details
            )
        kind, payload = _decode_json(lines[-1].strip())
        if kind != "items":
            msg = payload if kind == "reject" else "a program cannot stop the run"
            return None, Verdict.reject(
                f"the program's last stdout line is not a usable SMILES list: {msg}", details=details
            )
        return payload, None

    # -- the Verdict ----------------------------------------------------------------------------
    def _judge(self, records: list[dict[str, Any]], details: dict[str, Any]) -> Verdict:
        new = [r for r in records if r["status"] == "scored"]
        cached = [r for r in records if r["status"] == "cached"]
        other: dict[str, int] = {}
        for r in records:
            if r["status"] not in ("scored", "cached"):
                other[r["reason"] or r["status"]] = other.get(r["reason"] or r["status"], 0) + 1
        scores = [r["score"] for r in new + cached]
        best = max(scores) if scores else None
        left = self.ledger.left
        parts = [f"{len(new)} new" + (f" ({left}/{self.budget} left)" if left is not None else "")]
        if cached:
            parts.append(f"{len(cached)} cached")
        if other:
            parts.append(
                f"{sum(other.values())} not scored ("
                + ", ".join(f"{n} {k}" for k, n in sorted(other.items(), key=lambda x: -x[1]))
                + ")"
            )
        msg = ", ".join(parts)
        name, _ = self.ledger.headline()
        progress = self.ledger.progress()
        tail = {"auc_coverage": f"coverage {progress:.4g}", "top1": f"top-1 {progress:.4g}"}.get(
            name, f"top-10 {progress:.4g}"
        )
        counts = {"scored": len(new), "cached": len(cached), **other}
        details.update({"items": records, "counts": counts})
        construction = sorted(((r["key"], r["score"]) for r in new + cached), key=lambda x: -x[1])
        details["construction"] = [list(x) for x in dict.fromkeys(construction)][:20]
        if best is None:
            return Verdict.reject(f"nothing scored: {msg}", details=details)
        return Verdict.accept(best, f"{msg}; best {best:.4g}; {tail}", details=details)

    @property
    def ident(self) -> str:
        return f"{self.name}@{VERSION}"
