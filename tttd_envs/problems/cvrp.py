"""Capacitated vehicle routing on the CVRPLIB X instances (CVRP-v0), and on a user's own VRPLIB file.

The card is made per instance (``ProblemCard.for_options``): the statement carries the instance in
a compact form, the references are its best known solution (from the data folder's ``bks.json`` and the
CVRPLIB updates ledger) and our own solver baselines measured on this machine
(``benchmarks/results/logistics/baselines.json``, written by ``tttd baseline CVRP-v0``).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Any

from tttd_envs.card import BoardPolicy, InitialState, ProblemCard, Reference
from tttd_envs.env import DiscoveryEnv

DEFAULT_INSTANCE = "X-n101-k25"  # the smallest X instance; proven optimal 27591
LIMITS: dict[str, Any] = {
    "instance": DEFAULT_INSTANCE,
    "instance_file": None,
    "reference_cost": None,
    "budget_s": 60.0,
    "cpus": 1,
    "memory_bytes": 2 << 30,
}
BASELINES_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "logistics" / "baselines.json"
_PER_LINE = 6  # customers per line in the statement


def _cvrp():
    from verifiers.logistics import cvrp  # the trusted reader (cheap, no heavy imports)

    return cvrp


def _gib(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"


def compact_instance(inst) -> str:
    """The instance as a prompt can carry it: header, depot, then 'c:x,y,q' per customer."""

    def num(v: Any) -> str:
        return str(v) if type(v) is int else f"{float(v):.6g}"

    lines = [
        f"name {inst.name}; {inst.n_customers} customers; vehicle capacity Q = {inst.capacity}; "
        f"total demand {sum(inst.demands)} (so at least {-(-sum(inst.demands) // inst.capacity)} routes)",
        f"depot 0 at ({num(inst.xs[0])}, {num(inst.ys[0])})",
        "customers as c:x,y,demand",
    ]
    items = [f"{c}:{num(inst.xs[c])},{num(inst.ys[c])},{inst.demands[c]}" for c in range(1, inst.dimension)]
    lines += [" ".join(items[i : i + _PER_LINE]) for i in range(0, len(items), _PER_LINE)]
    return "\n".join(lines)


def statement(limits: dict[str, Any], data_dir: str | None = None) -> str:
    lim = {**LIMITS, **limits}
    cvrp = _cvrp()
    inst = cvrp.load_instance(lim["instance"], lim["instance_file"], data_dir)
    entry = None if lim["instance_file"] else cvrp.bks_table(data_dir).get(inst.name)
    if entry:
        target = f"The best known cost is {entry['bks']}" + (
            " (proven optimal)." if entry["optimal"] else " (not proven optimal: a lower cost is a new record)."
        )
        reward = "reward = best known cost / your cost (1.0 matches it; above 1.0 is a new best known solution)"
    else:
        ref = lim["reference_cost"]
        target = (
            f"Your reference cost is {ref}."
            if ref
            else f"No best known cost is given; the star solution (one route per customer) costs {inst.star_cost()}."
        )
        reward = "reward = " + ("reference_cost" if ref else "star cost") + " / your cost"
    cpus = int(lim["cpus"])
    return f"""\
# Capacitated vehicle routing: {inst.name} (minimise total distance)

One depot (index 0) and {inst.n_customers} customers (1..{inst.n_customers}), each with an integer demand.
Vehicles all have capacity Q = {inst.capacity}; use as many as you like. Give routes: each route is a list
of customers, driven depot → c1 → … → ck → depot. Every customer must be in exactly one route, and the
demands on a route must add up to at most Q. Customers are numbered as in CVRPLIB .sol files: 1..{inst.n_customers},
with the depot implicit at both ends of a route (customer k is node k+1 of the .vrp file).

Cost (the CVRPLIB convention): an edge between points a and b costs nint(|a − b|) = floor(sqrt(dx² + dy²) + 0.5),
each edge rounded to an integer before summing; the cost is the sum over all routes, computed exactly.
{target} {reward}; a rejected answer gets 0.

## Instance
{compact_instance(inst)}

## What to submit
One of:
* a Python program defining `run(instance, budget_s, seed)` that returns the routes as a list of lists of
  ints (numpy integer arrays are fine). `instance` is a dict: "capacity", "n_customers", "coords" ([x, y] for
  index 0 = depot and index k = customer k), "demands" (same indexing, demands[0] = 0). It runs in a sandbox
  with {"one CPU" if cpus == 1 else f"{cpus} CPUs"}, {_gib(int(lim["memory_bytes"]))} of memory, no network and\
 no subprocesses; return within
  budget_s = {float(lim["budget_s"]):g} s (the hard limit is budget_s + 10 s). Libraries: numpy, scipy and the
  standard library; solver packages (PyVRP, OR-Tools, …) are not available. `parent.json` in the working
  directory holds {{"routes": <the current best routes or null>, "value": …}} to improve on.
* JSON: {{"routes": [[...], ...]}}.
* A CVRPLIB .sol text: lines "Route #1: 5 3 9"; a "Cost" line is ignored (the cost is recomputed).
A raw answer is fine: the last ```python or ```json block is taken.

Nothing is repaired: a missing, repeated or unknown customer, the depot (0) inside a route, an empty route,
an overloaded route or a non-integer entry rejects the whole answer, with a message naming the route and customer.
"""


# -- references ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _ledger(data_dir: str | None = None) -> dict[str, list[tuple[str, int, str]]]:
    """CVRPLIB updates ledger: instance -> [(date, objective, event_type)] (empty if not installed)."""
    from verifiers.logistics import DataMissing, find_data

    try:
        path = find_data("cvrp/sources/cvrplib-x-frontier.csv", data_dir)
    except DataMissing:
        return {}
    out: dict[str, list] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["instance"], []).append((row["recorded_date"], int(row["objective"]), row["event_type"]))
    return out


def bks_reference(name: str, entry: dict[str, Any], data_dir: str | None = None) -> Reference:
    """The instance's best known solution: re-verified when the data's .sol file has that cost (our
    verifier recomputed it), quoted otherwise; dated by the CVRPLIB ledger."""
    bks = int(entry["bks"])
    rows = _ledger(data_dir).get(name, [])
    posted = sorted(d for d, obj, ev in rows if obj == bks and ev == "objective_improvement")
    proved = sorted(d for d, obj, ev in rows if obj == bks and ev == "optimality_proof")
    when = (
        f"posted on CVRPLIB {posted[0]}"
        if posted
        else "unchanged on CVRPLIB since the X set was published (no improvement posted 2015 to 2026-07-04)"
    )
    year = int(posted[0][:4]) if posted else 2017
    status = "proven optimal" + (f" ({proved[0]})" if proved else "") if entry["optimal"] else "not proven optimal"
    verified = bool(entry.get("sol_is_bks"))
    note = f"{status}; {when}" + (
        ""
        if verified
        else f"; no solution file with this cost is in the data (its .sol costs {entry['sol_cost_verified']})"
    )
    return Reference(
        "best known",
        "CVRPLIB",
        year,
        str(bks),
        entry["source"],
        value=float(bks) if verified else None,
        display=str(bks),
        data_file=f"cvrp/{entry['sol_file']}" if verified and entry.get("sol_file") else None,
        verified=verified,
        note=note,
    )


def measured_references(name: str, path: Path = BASELINES_FILE) -> tuple[Reference, ...]:
    """Solver baselines measured on this machine (our own data), for this instance."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8")).get("rows", {})
    except (OSError, ValueError):
        return ()
    out = []
    for row in rows.values():
        if row.get("problem") != "CVRP-v0" or row.get("instance") != name:
            continue
        m = row.get("machine", {})
        out.append(
            Reference(
                "solver baseline (measured on this machine)",
                f"{row['solver']} {row['solver_version']}, {row['time_limit_s']:g} s, {row['cores']} core",
                int(row["date"][:4]),
                str(row["cost"]),
                f"tttd baseline CVRP-v0 ({path.name})",
                value=float(row["cost"]),
                display=str(row["cost"]),
                verified=True,
                note=(
                    f"{row['algorithm']}; gap {row['gap_pct']:+.3f}% to the best known; wall {row['wall_s']:g} s; "
                    f"measured {row['date']} on {m.get('cpu', '?')} ({m.get('logical_cpus', '?')} logical CPUs); "
                    "cost recomputed by our verifier"
                ),
            )
        )
    # every measured row has a value (float(row["cost"]) above)
    return tuple(sorted(out, key=lambda r: r.value if r.value is not None else math.inf))


@dataclasses.dataclass(frozen=True)
class CVRPCard(ProblemCard):
    """A CVRP card; ``context`` names its instance (``instance``, ``instance_file``, ``data_dir``), empty on
    the generic card used when the data is not installed."""

    def for_options(self, options: dict[str, Any]) -> CVRPCard:
        want = {
            "instance": options.get("instance", LIMITS["instance"]),
            "instance_file": options.get("instance_file"),
            "data_dir": options.get("data_dir"),
        }
        if (
            want["instance_file"] is None
            and self.context.get("instance_file") is None
            and self.context
            and want["instance"] == self.context.get("instance")
            and want["data_dir"] == self.context.get("data_dir")
        ):
            return self
        return card_for({k: v for k, v in options.items() if k in LIMITS}, want["data_dir"])


def card_for(limits: dict[str, Any], data_dir: str | None = None) -> CVRPCard:
    """The card of one instance (``for_options``: the env, `tttd eval` and the leaderboard use it)."""
    lim = {**LIMITS, **limits}
    data_dir = str(data_dir) if data_dir else None
    cvrp = _cvrp()
    inst = cvrp.load_instance(lim["instance"], lim["instance_file"], data_dir)
    refs: tuple[Reference, ...] = ()
    if not lim["instance_file"]:
        refs = (bks_reference(inst.name, cvrp.bks_table(data_dir)[inst.name], data_dir),) + measured_references(
            inst.name
        )
    return dataclasses.replace(
        _GENERIC,
        title=f"CVRP {inst.name} ({inst.n_customers} customers, Q = {inst.capacity})",
        statement=statement(lim, data_dir),
        statement_for=functools.partial(statement, data_dir=data_dir),
        references=refs,
        verifier_kwargs={"data_dir": data_dir} if data_dir else {},
        limits={
            **LIMITS,
            "instance": inst.name if not lim["instance_file"] else lim["instance"],
            "instance_file": lim["instance_file"],
            "reference_cost": lim["reference_cost"],
        },
        context={
            "instance": None if lim["instance_file"] else inst.name,
            "instance_file": lim["instance_file"],
            "data_dir": data_dir,
            "instance_sha256": _file_sha256(inst.path),
        },
    )


def _file_sha256(path: str) -> str:
    import hashlib

    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


_GENERIC = CVRPCard(
    id="CVRP-v0",
    title="Capacitated vehicle routing (CVRPLIB X instances)",
    domain="logistics",
    artifact="python",
    direction="min",
    units="total route length (CVRPLIB rounded Euclidean, integer)",
    statement="Capacitated vehicle routing on a CVRPLIB X instance (the instance's statement is built when the "
    "env is made: gym.make('CVRP-v0', instance=...)).",
    verifier="cvrp",
    limits=dict(LIMITS),
    reward_transform="reference_ratio",
    initial_states=(InitialState("empty", "no routes yet"),),
    default_initial="empty",
    picture="tttd_envs.problems.cvrp_render:draw",
    score_label="cost",
    libraries="numpy, scipy",
    statement_for=statement,
    board=BoardPolicy(instances="instance", gap_detail="gap_pct"),
)


def _default_card() -> CVRPCard:
    """X-n101-k25's card when the data folder is installed (so `tttd list` shows its best known cost), else
    the generic card, whose statement says how to install the data."""
    from verifiers.logistics import DataMissing

    try:
        return card_for({})
    except (DataMissing, FileNotFoundError, OSError):
        return _GENERIC


CVRP_CARD = _default_card()


class CVRPEnv(DiscoveryEnv):
    """
    ## Description
    Capacitated vehicle routing (CVRP) on one of the 100 CVRPLIB "X" instances (Uchoa et al. 2017,
    100 to 1000 customers) or on your own VRPLIB file. Visit every customer exactly once with routes
    that start and end at the depot and carry at most the vehicle capacity; minimise the total length.
    Lengths follow the CVRPLIB convention (Euclidean, each edge rounded to the nearest integer) and are
    computed exactly. Customers are numbered as in CVRPLIB .sol files (1..n-1, depot implicit), so
    customer k is node k+1 of the .vrp file.

    ## Action Space
    `UnicodeText`: a Python program defining `run(instance, budget_s, seed)` that returns the routes
    (run in the sandbox with numpy and scipy; solver packages are not available), a JSON
    `{"routes": [[...], ...]}`, a CVRPLIB .sol text (its Cost line is ignored), or a raw LLM answer (the
    last fenced ```python or ```json block).

    ## Observation Space
    `Dict(prompt: UnicodeText, artifact: UnicodeText, value: Box(()))`. The prompt carries the instance
    in a compact form (`c:x,y,demand` per customer).

    ## Rewards
    best known cost / cost: 1.0 matches the best known solution, above 1.0 is a new record; 0.0 for a
    rejected answer. With `instance_file` there is no best known cost: the reward is
    `reference_cost / cost` when you pass `reference_cost`, else `star cost / cost`, where the star
    solution serves each customer on its own route (so any sensible answer scores above 1).

    ## Starting State
    `empty` (no routes). `options={"state": State}` resumes a stored state; a program finds the
    current routes in `parent.json`.

    ## Episode End
    `terminated=True` after `max_turns` steps (default 1).

    ## Info
    `reset` returns `{"state": State}`. `step` returns `verdict` (a `verifiers.Verdict`: `status`, one of
    accepted, rejected, crashed, timeout, memory, output_limit, error; `message`, one sentence a model can
    act on, naming the route and customer when a route is invalid; `score`, the exact integer cost, only
    when accepted; `details`), `score`, `accepted`, and `state`: the state the action produced, which
    becomes the current state only when accepted. With `max_turns` > 1 the next prompt repeats the last
    verdict under "Your previous answer". `details`: `cost`, `gap_pct` (to the best known, %), `routes`
    (count), `bks`, `optimal`, `route_costs`, `loads`, `capacity`, `reward_reference` and its kind,
    `claimed_cost` (a stated cost, ignored), `construction` (the routes); for a program also `stdout`,
    `stderr`, `cpu_s`, `elapsed_s`, `isolation`.

    ## Arguments
    `gym.make("CVRP-v0", instance="X-n101-k25", instance_file=None, reference_cost=None, budget_s=60,
    cpus=1, memory_bytes=2<<30, max_turns=1, render_mode=None|"ansi"|"rgb_array")`. `instance` is any X
    instance by name (a typo gets the nearest name); `instance_file` is a path to your own VRPLIB CVRP
    file (EUC_2D, depot node 1) and takes precedence. The data folder comes from `TTTD_DATA_DIR`.

    ## References
    The instance's best known cost from CVRPLIB (bks.json in the data folder, with its source, the date
    it was posted and whether it is proven optimal), and solver baselines measured on this machine by
    `tttd baseline CVRP-v0` (PyVRP at a stated time limit; our verifier recomputed each cost).

    ## Version History
    * v0: exact CVRPLIB cost; programs, JSON routes and .sol texts; per-instance cards.
    """

    card = CVRP_CARD
