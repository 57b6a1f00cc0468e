"""CVRP baseline: PyVRP, the open-source state-of-the-art VRP solver, at a stated time limit.

PyVRP reads the instance, its distance matrix is replaced by the exact CVRPLIB one (nint per edge, as
the verifier computes it), it runs single-threaded for the time limit, and its best routes are scored
by the CVRP-v0 verifier: the recorded cost is ours, not the solver's. Which search PyVRP runs depends
on its release (hybrid genetic search up to 0.11, iterated local search since), so the row records
the algorithm PyVRP itself ships.
"""

from __future__ import annotations

import json
import time
from importlib import metadata
from typing import Any

from agents.baselines import machine, today

PROBLEM = "CVRP-v0"


def _algorithm(pyvrp) -> str:
    if hasattr(pyvrp, "IteratedLocalSearch"):
        return "iterated local search (pyvrp.solve)"
    if hasattr(pyvrp, "GeneticAlgorithm"):
        return "hybrid genetic search (pyvrp.solve)"
    return "pyvrp.solve"


def exact_matrix(inst):
    """The CVRPLIB distance matrix: floor(sqrt(dx² + dy²) + 1/2). With integer coordinates below 2^20
    float64 gives this exactly (sqrt of an integer is never within rounding error of k + 1/2); the
    verifier rescoring the routes in integer arithmetic is the check."""
    import numpy as np

    xs = np.array([float(v) for v in inst.xs])
    ys = np.array([float(v) for v in inst.ys])
    d = np.sqrt((xs[:, None] - xs[None, :]) ** 2 + (ys[:, None] - ys[None, :]) ** 2)
    return np.floor(d + 0.5).astype(np.int64)


def solve(inst, time_limit_s: float, seed: int = 0) -> tuple[list[list[int]], dict[str, Any]]:
    """PyVRP's best routes for `inst` in solution numbering (customers 1..n-1), and solver facts."""
    try:
        import pyvrp
        from pyvrp.stop import MaxRuntime
    except ImportError:
        raise RuntimeError("the CVRP baseline needs PyVRP: pip install 'tttd[logistics]'") from None
    import numpy as np

    data = pyvrp.read(inst.path, round_func="round")
    if data.num_clients != inst.n_customers or data.num_depots != 1:
        raise RuntimeError(
            f"PyVRP read {data.num_clients} clients and {data.num_depots} depots from {inst.path}; "
            f"expected {inst.n_customers} and 1"
        )
    dist = exact_matrix(inst)
    data = data.replace(distance_matrices=[dist], duration_matrices=[np.zeros_like(dist)])
    t0 = time.perf_counter()
    res = pyvrp.solve(data, stop=MaxRuntime(time_limit_s), seed=seed, display=False)
    wall = time.perf_counter() - t0
    # Activity.idx of a client is its 0-based client index; client i is customer i + 1 (node i + 2 of the file).
    routes = [[a.idx + 1 for a in route if a.is_client()] for route in res.best.routes()]
    facts = {
        "solver": "PyVRP",
        "solver_version": metadata.version("pyvrp"),
        "algorithm": _algorithm(pyvrp),
        "solver_cost": int(res.cost()) if res.best.is_feasible() else None,
        "feasible": bool(res.best.is_feasible()),
        "iterations": int(res.num_iterations),
        "wall_s": round(wall, 2),
    }
    return routes, facts


def run_baseline(options: dict[str, Any], time_limit_s: float, seed: int = 0) -> dict[str, Any]:
    """One measured row: PyVRP on the instance named by `options` (as CVRP-v0's options), scored by our verifier."""
    from verifiers import get_verifier
    from verifiers.logistics.cvrp import CVRPVerifier

    unknown = set(options) - {"instance", "instance_file"}
    if unknown:
        raise ValueError(f"the CVRP baseline takes the options instance and instance_file, not {sorted(unknown)}")
    verifier = get_verifier("cvrp", **options)
    assert isinstance(verifier, CVRPVerifier)  # the registered "cvrp" verifier
    routes, facts = solve(verifier.instance, time_limit_s, seed)
    verdict = verifier.verify(json.dumps({"routes": routes}))
    if not verdict.accepted:
        raise RuntimeError(f"PyVRP's answer was rejected by the verifier: {verdict.message}")
    if facts["solver_cost"] is not None and facts["solver_cost"] != verdict.score:
        raise RuntimeError(f"PyVRP reports cost {facts['solver_cost']} but the verifier computes {verdict.score:g}")
    d = verdict.details
    return {
        "problem": PROBLEM,
        "instance": verifier.instance.name,
        "instance_file": options.get("instance_file"),
        **{k: facts[k] for k in ("solver", "solver_version", "algorithm", "iterations", "wall_s")},
        "time_limit_s": float(time_limit_s),
        "cores": 1,
        "seed": seed,
        "cost": d["cost"],
        "bks": d["bks"],
        "gap_pct": d["gap_pct"],
        "routes": d["routes"],
        "optimal_bks": d["optimal"],
        "date": today(),
        "machine": machine(),
        "verifier": verdict.verifier,
        "solution": routes,
    }
