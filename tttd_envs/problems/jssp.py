"""Job-shop scheduling, minimise the makespan: ``JSSP-v0`` on any instance of the data folder (Taillard,
Demirkol, Lawrence, Storer, Applegate-Cook, Adams-Balas-Zawack, Fisher-Thompson, Yamada-Nakano) or a
user's own file. The instance is chosen at make time, so the card (statement, bounds, baselines) is
built per instance: ``card_for``. Scoring lives in ``verifiers.logistics.jssp``."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from tttd_envs.card import BoardPolicy, InitialState, ProblemCard, Reference
from tttd_envs.env import DiscoveryEnv
from tttd_envs.problems.jssp_render import draw_gantt  # noqa: F401  (tttd_envs.render draws with it)

DEFAULT_INSTANCE = "ta01"
LIMITS: dict[str, Any] = {
    "instance": DEFAULT_INSTANCE,
    "instance_file": None,
    "budget_s": 60.0,
    "cpus": 1,
    "memory_bytes": 2 << 30,
}
#: CP-SAT (and later other solver) runs measured on this machine by `tttd baseline` (agents/baselines)
BASELINES_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "logistics" / "baselines.json"
#: one leaderboard board per instance, with the gap to the best known upper bound (docs/leaderboard.md)
BOARD = BoardPolicy(instances="instance", gap_detail="gap_to_ub_pct")
PROMPT_INSTANCE_CHARS = 60_000  # larger user instances are given to programs, not spelled out


@dataclasses.dataclass(frozen=True)
class JSSPCard(ProblemCard):
    """A JSSP card for one instance. Reward = best known upper bound / makespan (1.0 matches the best
    known, above 1.0 is a new record); without a published bound, the trivial lower bound / makespan."""

    instance: str = DEFAULT_INSTANCE
    instance_file: str | None = None
    data_dir: str | None = None
    ub: int | None = None
    lb: int | None = None

    def reward(self, score, details=None) -> float:
        if score is None or not score > 0:
            return float(self.fail_reward)
        d = details or {}
        ref = d.get("ub") if "ub" in d else self.ub
        if ref is None:
            ref = d.get("trivial_lb") or self.lb
        return float(ref) / float(score) if ref else float(self.fail_reward)

    def for_options(self, options: dict[str, Any]) -> JSSPCard:
        inst = options.get("instance", self.instance)
        path = options.get("instance_file", self.instance_file)
        data_dir = options.get("data_dir", self.data_dir)
        if inst == self.instance and path == self.instance_file and data_dir == self.data_dir:
            return self
        return card_for(inst, path, data_dir)

    def load(self):
        """The instance (verifiers.logistics.jssp.Instance) this card is about."""
        from verifiers.logistics import jssp

        if self.instance_file:
            return jssp.load_instance_file(self.instance_file, self.data_dir)
        return jssp.load_instance(self.instance, self.data_dir)


_HEAD = """\
# Job-shop scheduling: {name} ({n} jobs × {m} machines), minimise the makespan

Each job is a fixed sequence of operations; operation k of job j needs machine M[j][k] for D[j][k]
time units. A job's operations run in their order (each starts after the previous one of its job has
finished), a machine runs one operation at a time, and an operation is never interrupted. The
makespan is the time the last operation finishes. Jobs, operations and machines are numbered from 0.

The instance ({name}), in the standard format: the first line is `n_jobs n_machines`; line j+1 lists
job j's operations in order as `machine duration` pairs.
```
{text}```
Bounds: {bounds}.

## What to submit
One of two JSON forms (give exactly one key), or a program returning one of them:
* `{{"machine_sequences": [[job, ...] for each machine 0..{m1}]}}`: the order in which each machine
  processes its jobs (each list holds every job once). The verifier builds the semi-active
  schedule: every operation starts as soon as its job's previous operation and its machine's
  previous operation have finished. Sequences that wait on each other in a cycle are rejected.
* `{{"start_times": [[start of each operation of job j, in the job's order] for each job 0..{n1}]}}`:
  whole numbers ≥ 0, checked exactly as given (job order, no two operations on a machine at once).
* A Python 3 program defining `run(instance, budget_s, seed)` that returns such a dict, built from
  plain Python ints (call `.tolist()` on numpy arrays). `instance` is
  `{{"name", "n_jobs", "n_machines", "machines": M, "durations": D}}` (lists of lists, job by job).
  It runs in a sandbox with {cpus}, {memory} of memory, no network, no subprocesses; the hard limit
  is budget_s + {grace:g} s (budget_s = {budget_s:g} s here). Libraries: numpy, scipy and the standard
  library; solver packages (OR-Tools, PyVRP, ...) are not available: do the search yourself. The
  working directory holds `parent.json`: {{"construction": <the current schedule or null>, ...}}.
A raw answer is fine too: the last ```python or ```json block is taken.

Nothing is repaired: an invalid schedule is rejected with the job, operation and machine at fault.
Score: the exact makespan. Reward: {reward}.
"""


def _fmt_bytes(n: int) -> str:
    gib = n / (1 << 30)
    return f"{gib:g} GiB" if gib >= 1 else f"{n / (1 << 20):g} MiB"


def _bound_text(inst) -> str:
    if inst.ub is None:
        return (
            f"no published bound for this instance; no schedule can be shorter than {inst.trivial_lb} "
            "(the longest job or the busiest machine)"
        )
    if inst.optimal:
        return f"the optimum is {inst.ub} (proven); matching it is the best possible"
    return f"best known makespan (upper bound) {inst.ub}; proven lower bound {inst.lb}; the optimum is unknown"


def _statement_for(inst, limits: dict[str, Any]) -> str:
    text = inst.to_text()
    if len(text) > PROMPT_INSTANCE_CHARS:
        text = f"({len(text):,} characters: too long to show here; programs receive it as `instance`)\n"
    reward = (
        f"{inst.ub} / makespan (1.0 matches the best known, above 1.0 is a new record)"
        if inst.ub is not None
        else f"{inst.trivial_lb} / makespan (the trivial lower bound over yours)"
    )
    cpus = int(limits["cpus"])
    return _HEAD.format(
        name=inst.name,
        n=inst.n_jobs,
        m=inst.n_machines,
        text=text,
        bounds=_bound_text(inst),
        m1=inst.n_machines - 1,
        n1=inst.n_jobs - 1,
        cpus="one CPU" if cpus == 1 else f"{cpus} CPUs",
        memory=_fmt_bytes(int(limits["memory_bytes"])),
        grace=10.0,
        budget_s=float(limits["budget_s"]),
        reward=reward,
    )


def _source_parts(source: str, which: str) -> tuple[str, int, str]:
    """(solver, year, date) of the lb or ub named in a bounds.json source string."""
    m = re.search(rf"{which} by (.+?) ((\d{{4}})(?:-\d\d-\d\d)?)[;)]", source or "")
    if not m:
        return "published", 0, ""
    return m.group(1), int(m.group(3)), m.group(2)


def _references(inst) -> tuple[Reference, ...]:
    if inst.ub is None:
        return ()
    origin = "ScheduleOpt/benchmarks jobshop/solutions/bks.json (CC BY-SA 4.0)"
    ub_who, ub_year, ub_date = _source_parts(inst.bound_source, "ub")
    lb_who, lb_year, lb_date = _source_parts(inst.bound_source, "lb")
    twin = inst.bound_source.split(":")[0] + "; " if inst.bound_source.startswith("same jobs as") else ""
    refs = [
        Reference(
            "best known",
            ub_who,
            ub_year,
            f"{inst.ub}" + (" (optimal)" if inst.optimal else " (upper bound)"),
            origin,
            value=float(inst.ub),
            display=str(inst.ub),
            verified=False,
            note=f"{twin}upper bound by {ub_who} {ub_date}; "
            + (
                f"proven optimal (lower bound {inst.lb} by {lb_who} {lb_date})"
                if inst.optimal
                else f"open: lower bound {inst.lb} by {lb_who} {lb_date}"
            )
            + "; the schedule is not shipped, so the value is quoted",
        )
    ]
    if not inst.optimal:
        refs.append(
            Reference(
                "lower bound",
                lb_who,
                lb_year,
                f"≥ {inst.lb} (proven lower bound)",
                origin,
                note=f"{lb_who} {lb_date}: no schedule can be shorter",
            )
        )
    refs.extend(_baseline_refs(inst))
    return tuple(refs)


def _baseline_refs(inst) -> list[Reference]:
    """Solver runs measured on this machine (benchmarks/results/logistics/baselines.json, written by
    `tttd baseline JSSP-v0`); each schedule was scored by the verifier when it was recorded."""
    out = []
    for row in _baseline_rows():
        if row.get("problem") != "JSSP-v0" or row.get("instance") != inst.name or row.get("cost") is None:
            continue
        if row.get("instance_sha256") not in (None, inst.sha256):
            continue
        m = row.get("machine") or {}
        workers = row.get("workers", row.get("cores", "?"))
        gap = row.get("gap_pct")
        out.append(
            Reference(
                "solver baseline (measured on this machine)",
                f"{row.get('solver', 'solver')} {row.get('solver_version', '')}, {row.get('time_limit_s', 0):g} s, "
                f"{workers} worker{'s' if workers != 1 else ''}",
                int(str(row.get("date", "0"))[:4] or 0),
                str(row["cost"]),
                f"tttd baseline JSSP-v0 ({BASELINES_FILE.name})",
                value=float(row["cost"]),
                display=str(row["cost"]),
                verified=True,
                note=(
                    f"CP-SAT status {row.get('status', '?')}"
                    + (f"; gap {gap:+.3f}% to the best known" if gap is not None else "")
                    + f"; wall {row.get('wall_s', '?')} s; measured {row.get('date', '?')} on {m.get('cpu', '?')} "
                    f"({m.get('logical_cpus', '?')} logical CPUs); makespan recomputed by our verifier"
                ),
            )
        )
    # every measured row has a value (float(row["cost"]) above)
    return sorted(out, key=lambda r: r.value if r.value is not None else math.inf)


def _baseline_rows() -> list[dict]:
    try:
        stat = os.stat(BASELINES_FILE)
    except OSError:
        return []
    return _read_baselines(str(BASELINES_FILE), stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_baselines(path: str, _mtime: int) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as fh:
            rows = json.load(fh).get("rows", {})
    except (OSError, ValueError, AttributeError):
        return []
    return [r for r in rows.values() if isinstance(r, dict)] if isinstance(rows, dict) else []


def job_order(card: JSSPCard):
    """Initial state: every machine takes its jobs in index order (always feasible, far from good)."""

    def build(rng):
        from verifiers.logistics import jssp

        return {"machine_sequences": jssp.job_order_sequences(card.load())}

    return build


@functools.lru_cache(maxsize=64)
def _card_cached(instance: str | None, instance_file: str | None, data_dir: str | None, _stamp) -> JSSPCard:
    from verifiers.logistics import jssp_instance

    if instance_file:
        inst = jssp_instance.load_instance_file(instance_file, data_dir)
    else:
        inst = jssp_instance.load_instance(instance or DEFAULT_INSTANCE, data_dir)
    name = inst.name
    limits = {
        **LIMITS,
        "instance": name if not instance_file else (instance or DEFAULT_INSTANCE),
        "instance_file": instance_file,
    }
    target = (
        f"{inst.ub} (best known makespan" + (", proven optimal: match it)" if inst.optimal else ")")
        if inst.ub is not None
        else f"{inst.trivial_lb} (trivial lower bound)"
    )
    card = JSSPCard(
        id="JSSP-v0",
        title=f"Job-shop scheduling, {name} ({inst.n_jobs}×{inst.n_machines}), min makespan",
        domain="logistics",
        artifact="python",
        direction="min",
        units="makespan (time units)",
        statement=_statement_for(inst, limits),
        statement_for=lambda lim: _statement_for(inst, lim),
        verifier="jssp",
        verifier_kwargs={"data_dir": data_dir} if data_dir else {},
        limits=limits,
        reward_transform="identity",
        references=_references(inst),
        initial_states=(),
        default_initial="empty",
        picture="gantt",
        score_label="makespan",
        proven_bound=_bound_text(inst),
        libraries="numpy, scipy",
        target=target,
        board=BOARD,
        instance=name if not instance_file else (instance or DEFAULT_INSTANCE),
        instance_file=instance_file,
        data_dir=data_dir,
        ub=inst.ub,
        context={
            "instance": name if not instance_file else (instance or DEFAULT_INSTANCE),
            "instance_file": instance_file,
            "data_dir": data_dir,
            "instance_sha256": inst.sha256,
        },
        lb=inst.lb if inst.lb is not None else inst.trivial_lb,
    )
    inits = (
        InitialState("empty", "no schedule yet"),
        InitialState(
            "job_order",
            "every machine processes its jobs in index order (feasible, far from good)",
            build=job_order(card),
        ),
    )
    return dataclasses.replace(card, initial_states=inits)


def card_for(
    instance: str | None = DEFAULT_INSTANCE,
    instance_file: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> JSSPCard:
    """The card of one instance (a name of the data folder, or a user's file in the standard format)."""
    path = os.fspath(instance_file) if instance_file else None
    stamp = (os.stat(path).st_mtime_ns if path and os.path.exists(path) else None, _baseline_stamp())
    return _card_cached(instance, path, os.fspath(data_dir) if data_dir else None, stamp)


def _baseline_stamp():
    try:
        return os.stat(BASELINES_FILE).st_mtime_ns
    except OSError:
        return None


def _default_card() -> JSSPCard:
    """ta01's card when the data folder is installed, else a card that says how to install it (so that
    `tttd list` works without the data)."""
    try:
        return card_for(DEFAULT_INSTANCE)
    except FileNotFoundError:
        return JSSPCard(
            id="JSSP-v0",
            title="Job-shop scheduling (Taillard and classic sets), min makespan",
            domain="logistics",
            artifact="python",
            direction="min",
            units="makespan (time units)",
            statement="# Job-shop scheduling\n\nThe instance data is not installed: point TTTD_DATA_DIR at the folder "
            "holding logistics/jssp (or pass data_dir=).\n",
            verifier="jssp",
            limits=dict(LIMITS),
            initial_states=(InitialState("empty", "no schedule yet"),),
            default_initial="empty",
            picture="gantt",
            score_label="makespan",
            libraries="numpy, scipy",
            board=BOARD,
            instance="",
        )  # not an instance's card: for_options builds one once the data is there


JSSP_CARD = _default_card()


class JSSPEnv(DiscoveryEnv):
    __doc__ = None  # set below
    card = JSSP_CARD

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        instance: str | None = DEFAULT_INSTANCE,
        instance_file: str | os.PathLike | None = None,
        data_dir: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> None:
        self.card = card_for(instance, instance_file, data_dir)
        super().__init__(
            render_mode,
            data_dir=os.fspath(data_dir) if data_dir else None,
            instance=self.card.instance,
            instance_file=self.card.instance_file,
            **kwargs,
        )

    def render_text(self) -> str:
        text = super().render_text()
        v = self.last_verdict
        if v is not None and v.accepted and v.details.get("gap_to_ub_pct") is not None:
            text += f"\ngap to the best known {v.details['ub']}: {v.details['gap_to_ub_pct']:+.2f}%"
        return text


JSSPEnv.__doc__ = """
    ## Description
    Job-shop scheduling: n jobs, each a fixed order of operations on m machines, one operation per
    machine at a time, no pre-emption; minimise the makespan. `instance` picks any of the 242
    instances of the data folder (Taillard ta01-ta80, Demirkol dmu01-dmu80, Lawrence la01-la40,
    Storer swv01-swv20, Applegate-Cook orb01-orb10, Adams-Balas-Zawack abz5-abz9, Fisher-Thompson
    ft06/ft10/ft20, Yamada-Nakano yn1-yn4); `instance_file` reads your own file in the standard format.

    ## Action Space
    `UnicodeText`: JSON `{"machine_sequences": [[job, ...] per machine]}` (the verifier builds the
    semi-active schedule) or `{"start_times": [[start per operation] per job]}` (checked as given), or a
    Python program defining `run(instance, budget_s, seed)` that returns one of them (sandboxed, numpy
    and scipy only, no solver packages), or a raw LLM answer (last fenced ```python or ```json block).
    Jobs, operations and machines are 0-based.

    ## Observation Space
    `Dict(prompt: UnicodeText, artifact: UnicodeText, value: Box(()))`; the prompt holds the instance.

    ## Rewards
    best known upper bound / makespan (1.0 = best known, above 1.0 = a new record); for a file with no
    published bound, trivial lower bound / makespan. 0.0 for anything rejected.

    ## Starting State
    `empty` (default) or `job_order` (every machine takes its jobs in index order);
    `options={"state": State}` resumes a stored state.

    ## Episode End
    `terminated=True` after `max_turns` steps (default 1).

    ## Info
    `reset` returns `{"state": State}`. `step` returns `verdict` (a `verifiers.Verdict`: `status`, one of
    accepted, rejected, crashed, timeout, memory, output_limit, error; `message`, one sentence a model can
    act on; `score`, the exact makespan, only when accepted; `details`), `score`, `accepted`, and `state`:
    the state the action produced, which becomes the current state only when accepted. With `max_turns` > 1
    the next prompt repeats the last verdict under "Your previous answer". `details`: `makespan`, `ub`,
    `lb`, `optimal_known`, `gap_to_ub_pct`, `gap_to_lb_pct`, `trivial_lb`, `instance`, `instance_sha256`,
    `form`, `start_times`, `machine_sequences`, `construction`; for a program also `stdout`, `stderr`,
    `cpu_s`, `elapsed_s`, `isolation`.

    ## Arguments
    `gym.make("JSSP-v0", instance="ta01", instance_file=None, budget_s=60, cpus=1, memory_bytes=2<<30,
    max_turns=1, initial="empty", data_dir=None, render_mode=None|"ansi"|"rgb_array")`.

    ## References
    Bounds from ScheduleOpt/benchmarks (jobshop/solutions/bks.json, CC BY-SA 4.0) with solver and date
    per bound; "optimal" where the lower bound equals the upper bound. OR-Tools CP-SAT runs measured on
    this machine are shown as baseline rows (`tttd baseline JSSP-v0`).

    ## Version History
    * v0: exact integer makespan; semi-active schedules from machine sequences; start times checked as given.
"""
