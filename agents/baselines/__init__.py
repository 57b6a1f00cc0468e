"""Solver baselines: what a user would run instead of a discovery agent, measured on this machine.

``tttd baseline ID [--instances A,B] [-o key=value] [--time-limit S]`` runs the baseline registered for
the problem id below, scores its answer with the problem's own trusted verifier, and records the
measurement in ``benchmarks/results/<domain>/baselines.json`` (one row per problem, instance, solver and
time limit; a rerun replaces its row). Cards read that file to show the rows as references measured
on this machine. Solvers are imported only when their baseline runs.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: problem id -> "module:function". The function takes (options: dict, time_limit_s: float, seed: int)
#: and returns one result row (a dict; see ``record``).
BASELINES: dict[str, str] = {
    "CVRP-v0": "agents.baselines.cvrp_pyvrp:run_baseline",
    "JSSP-v0": "agents.baselines.jssp_cpsat:run_baseline",
}

REPO = Path(__file__).resolve().parents[2]
#: problem id -> the results file its rows go to
RESULTS: dict[str, Path] = {
    "CVRP-v0": REPO / "benchmarks" / "results" / "logistics" / "baselines.json",
    "JSSP-v0": REPO / "benchmarks" / "results" / "logistics" / "baselines.json",
}


def baseline(problem: str) -> Callable[..., dict[str, Any]]:
    if problem not in BASELINES:
        import difflib

        close = difflib.get_close_matches(problem, BASELINES, n=1)
        raise KeyError(
            f"no solver baseline for {problem!r}"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + f" (baselines exist for: {', '.join(sorted(BASELINES))})"
        )
    module, _, fn = BASELINES[problem].partition(":")
    return getattr(importlib.import_module(module), fn)


def machine() -> dict[str, Any]:
    """Where a measurement was taken (the rows say 'measured on this machine')."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "python": platform.python_version()}


def row_key(row: dict[str, Any]) -> str:
    return f"{row['problem']}|{row['instance']}|{row['solver']}|{row['time_limit_s']:g}s"


def record(path: Path, row: dict[str, Any]) -> None:
    """Add or replace ``row`` (by problem, instance, solver and time limit) in the JSON results file."""
    path = Path(path)
    doc = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    rows = doc.setdefault("rows", {})
    rows[row_key(row)] = row
    doc["rows"] = dict(sorted(rows.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def today() -> str:
    return _dt.date.today().isoformat()


# -- tttd baseline ---------------------------------------------------------------------------------
def add_command(sub) -> None:
    p = sub.add_parser("baseline", help="run a solver baseline for a problem (e.g. PyVRP for CVRP-v0) and record it")
    p.add_argument("problem", metavar="ID", help=f"problem id ({', '.join(sorted(BASELINES))})")
    p.add_argument("--instances", default=None, help="comma-separated instance names (default: the -o/instance option)")
    p.add_argument(
        "-o",
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a problem option, as for `tttd eval`, e.g. -o instance=X-n101-k25",
    )
    p.add_argument(
        "--time-limit", type=float, default=10.0, help="solver time limit per instance, seconds (default 10)"
    )
    p.add_argument("--seed", type=int, default=0, help="solver seed (default 0)")
    p.add_argument(
        "--results", default=None, help="results file to update (default: the problem's, in benchmarks/results)"
    )
    p.add_argument("--no-record", action="store_true", help="print the results without writing them")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=_cmd_baseline)


def _cmd_baseline(args) -> int:
    fn = baseline(args.problem)
    if not args.time_limit > 0:
        raise ValueError("--time-limit must be positive")
    options: dict[str, Any] = {}
    for item in args.opt:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"-o {item!r}: write KEY=VALUE")
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw
    runs = (
        [dict(options, instance=name.strip()) for name in args.instances.split(",") if name.strip()]
        if args.instances
        else [options]
    )
    results = Path(args.results) if args.results else RESULTS[args.problem]
    rows = []
    for opts in runs:
        row = fn(opts, float(args.time_limit), int(args.seed))
        rows.append(row)
        if not args.no_record and not row.get("instance_file"):
            record(results, row)
        if not args.json:
            gap = "—" if row.get("gap_pct") is None else f"{row['gap_pct']:+.3f}%"
            print(
                f"{row['instance']}: {row['solver']} {row['solver_version']} {row['time_limit_s']:g} s → cost "
                f"{row['cost']} (best known {row.get('bks') or '—'}, gap {gap}), wall {row['wall_s']:.1f} s",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not args.no_record:
        print(f"recorded in {results}", file=sys.stderr)
    return 0
