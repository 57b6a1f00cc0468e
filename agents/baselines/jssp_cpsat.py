"""JSSP baseline: OR-Tools CP-SAT, the solver a practitioner would reach for, at a stated time limit and
number of workers.

The model is the textbook one: an interval per operation, job order as precedence constraints, one
no-overlap constraint per machine, minimise the latest end. CP-SAT's best schedule (its start times) is
then scored by the JSSP-v0 verifier: the recorded makespan is ours, not the solver's, and the run fails
loudly if the two disagree. CP-SAT's time limit is wall-clock time, so on a busy machine it gets fewer
CPU-seconds; the row records the wall time and the machine.
"""

from __future__ import annotations

import json
import time
from importlib import metadata
from typing import Any

from agents.baselines import machine, today

PROBLEM = "JSSP-v0"
DEFAULT_WORKERS = 2


def solve(
    inst, time_limit_s: float, workers: int = DEFAULT_WORKERS, seed: int = 0
) -> tuple[list[list[int]] | None, dict[str, Any]]:
    """CP-SAT's best start times for `inst` (per job, per operation), or None if it found none, and solver facts."""
    try:
        from ortools.sat.python import cp_model
    except ImportError:
        raise RuntimeError("the JSSP baseline needs OR-Tools: pip install 'tttd[logistics]'") from None
    model = cp_model.CpModel()
    horizon = sum(sum(ds) for ds in inst.durations)
    starts: list[list[Any]] = []  # CP-SAT variables
    ends: list[list[Any]] = []
    per_machine: list[list[Any]] = [[] for _ in range(inst.n_machines)]
    for j, (ms, ds) in enumerate(zip(inst.machines, inst.durations)):
        row_s: list[Any] = []
        row_e: list[Any] = []
        for k, (m, d) in enumerate(zip(ms, ds)):
            s = model.new_int_var(0, horizon, f"s{j}_{k}")
            e = model.new_int_var(0, horizon, f"e{j}_{k}")
            per_machine[m].append(model.new_interval_var(s, d, e, f"i{j}_{k}"))
            if row_e:
                model.add(s >= row_e[-1])
            row_s.append(s)
            row_e.append(e)
        starts.append(row_s)
        ends.append(row_e)
    for intervals in per_machine:
        model.add_no_overlap(intervals)
    span = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(span, [row[-1] for row in ends])
    model.minimize(span)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    t0 = time.perf_counter()
    status = solver.solve(model)
    wall = time.perf_counter() - t0
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    facts = {
        "solver": "OR-Tools CP-SAT",
        "solver_version": metadata.version("ortools"),
        "algorithm": "CP-SAT (interval model: no-overlap per machine, job precedences)",
        "status": solver.status_name(status),
        "workers": int(workers),
        "solver_makespan": int(solver.objective_value) if found else None,
        "solver_lower_bound": int(round(solver.best_objective_bound)) if found else None,
        "wall_s": round(wall, 2),
    }
    if not found:
        return None, facts
    return [[int(solver.value(s)) for s in row] for row in starts], facts


def run_baseline(options: dict[str, Any], time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """One measured row: CP-SAT on the instance named by `options` (JSSP-v0's options, plus `workers`),
    its schedule scored by our verifier."""
    from verifiers import get_verifier
    from verifiers.logistics.jssp import JSSPVerifier

    options = dict(options)
    workers = options.pop("workers", DEFAULT_WORKERS)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number ≥ 1, not {workers!r}")
    unknown = set(options) - {"instance", "instance_file"}
    if unknown:
        raise ValueError(
            f"the JSSP baseline takes the options instance, instance_file and workers, not {sorted(unknown)}"
        )
    verifier = get_verifier("jssp", **options)
    assert isinstance(verifier, JSSPVerifier)  # the registered "jssp" verifier
    inst = verifier.instance
    starts, facts = solve(inst, time_limit_s, workers, seed)
    if starts is None:
        raise RuntimeError(
            f"CP-SAT found no schedule for {inst.name} within {time_limit_s:g} s ({facts['status']}); give it more time"
        )
    verdict = verifier.verify(json.dumps({"start_times": starts}))
    if not verdict.accepted:
        raise RuntimeError(f"CP-SAT's schedule was rejected by the verifier: {verdict.message}")
    if facts["solver_makespan"] != verdict.score:
        raise RuntimeError(
            f"CP-SAT reports makespan {facts['solver_makespan']} but the verifier computes {verdict.score:g}"
        )
    d = verdict.details
    return {
        "problem": PROBLEM,
        "instance": inst.name,
        "instance_file": options.get("instance_file"),
        "instance_sha256": inst.sha256,
        **{
            k: facts[k]
            for k in ("solver", "solver_version", "algorithm", "status", "workers", "wall_s", "solver_lower_bound")
        },
        "time_limit_s": float(time_limit_s),
        "cores": int(workers),
        "seed": seed,
        "cost": d["makespan"],
        "makespan": d["makespan"],
        "bks": d["ub"],
        "lb": d["lb"],
        "gap_pct": d.get("gap_to_ub_pct"),
        "optimal_bks": d["optimal_known"],
        "date": today(),
        "machine": machine(),
        "verifier": verdict.verifier,
        "solution": {"start_times": starts},
    }
