"""Capacitated vehicle routing (CVRP-v0): exact CVRPLIB cost of submitted routes.

An action is one of
* a Python program defining ``run(instance, budget_s, seed)`` that returns the routes (a list of lists
  of customer numbers); it runs in the sandbox (numpy and scipy; solver packages are hidden there and
  refused before it runs), with ``parent.json`` (the current routes) in its working directory;
* JSON: ``{"routes": [[...], ...]}`` (or ``{"construction": [...]}``, or the bare list of routes);
* a VRPLIB ``.sol`` text (``Route #1: 5 3 9`` lines); its ``Cost`` line is never trusted.
A raw LLM answer is accepted: the last fenced ``python`` or ``json`` block, else a fenced ``.sol`` text.

Validity and cost are decided by ``cvrp_instance`` (trusted, exact). The Verdict's score is the exact
integer cost; ``details`` carry the cost, the gap to the best known solution (BKS) in %, the route
count, the BKS and whether it is proven optimal, and ``reward_reference`` for the card's reward.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import hashlib
import json
import os
import re
from typing import Any, TypeAlias

from verifiers import sandbox
from verifiers.artifacts import fenced_blocks
from verifiers.base import Verifier
from verifiers.logistics import DataMissing, find_data
from verifiers.logistics.cvrp_instance import (
    FloatToken,
    Instance,
    InstanceError,
    RouteError,
    check_routes,
    looks_like_sol,
    parse_sol,
    parse_vrp,
)
from verifiers.math import _parse
from verifiers.math._parse import ParseError
from verifiers.math.base import program_outcome
from verifiers.programs import MAX_PROGRAM_BYTES as MAX_PROGRAM_BYTES
from verifiers.programs import parse_program, run_details
from verifiers.sandbox._isolate import SOLVER_PACKAGES
from verifiers.verdict import Verdict

PROBLEM_ID = "CVRP-v0"
DEFAULT_INSTANCE = "X-n101-k25"
_PY = {"python", "py", "python3"}
DataDir: TypeAlias = "str | os.PathLike[str] | None"


# -- reference data --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _bks_table(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        table: dict[str, Any] = json.load(fh)
    return table


def bks_table(data_dir: DataDir = None) -> dict[str, Any]:
    """bks.json: {instance: {bks, optimal, source, sol_file, sol_cost_verified, ...}} (without _meta)."""
    path = find_data("cvrp/bks.json", data_dir)
    return {k: v for k, v in _bks_table(str(path), path.stat().st_mtime).items() if not k.startswith("_")}


def instance_names(data_dir: DataDir = None) -> list[str]:
    """The X instances, smallest first (X-n101-k25 … X-n1001-k43)."""
    return sorted(bks_table(data_dir), key=lambda s: (_customers_of(s), s))


def _customers_of(name: str) -> int:
    """The <n> of an X instance name X-n<n>-k<k> (every name in bks.json has one)."""
    m = re.search(r"-n(\d+)", name)
    assert m is not None, name
    return int(m.group(1))


@functools.lru_cache(maxsize=16)
def _read_instance(path: str, mtime: float, size: int, label: str) -> Instance:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read(64 << 20)
    except UnicodeDecodeError as e:
        raise InstanceError(f"{label} is not UTF-8 text (byte {e.start})") from None
    inst = parse_vrp(text, label)
    return dataclasses.replace(inst, path=path)


def load_instance(
    instance: str | None = DEFAULT_INSTANCE, instance_file: str | None = None, data_dir: DataDir = None
) -> Instance:
    """A named X instance from the data folder, or a user's VRPLIB file (``instance_file`` wins)."""
    if instance_file:
        path = os.path.abspath(os.path.expanduser(str(instance_file)))
        if not os.path.isfile(path):
            raise InstanceError(f"instance_file {str(instance_file)!r} does not exist or is not a file")
        st = os.stat(path)
        return _read_instance(path, st.st_mtime, st.st_size, f"instance_file {os.path.basename(path)}")
    if not isinstance(instance, str) or not instance:
        raise InstanceError(f"instance must be an X instance name such as {DEFAULT_INSTANCE!r}, not {instance!r}")
    names = instance_names(data_dir)
    if instance not in names:
        close = difflib.get_close_matches(instance, names, n=1, cutoff=0.6)
        raise InstanceError(
            f"unknown CVRP instance {instance!r}"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + f" (the {len(names)} X instances run from {names[0]} to {names[-1]}; "
            "or give your own file with instance_file=...)"
        )
    vrp = find_data(f"cvrp/X/{instance}.vrp", data_dir)
    st = vrp.stat()
    return _read_instance(str(vrp), st.st_mtime, st.st_size, f"{instance}.vrp")


# -- parsing actions -------------------------------------------------------------------------------
def _json_int(s: str) -> int | FloatToken:
    return int(s) if len(s.lstrip("-")) <= 18 else FloatToken(s[:20] + "…")


def loads_routes_json(text: str, cap: int, what: str = "solution") -> Any:
    """Strict JSON that keeps integers and floats apart (3 is a customer, 3.0 is refused)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > cap:
        raise ParseError(f"the {what} is {size:,} bytes, larger than the {_parse._human(cap)} cap")
    _parse.check_depth(text, 6)
    try:
        return json.loads(
            text,
            parse_float=FloatToken,
            parse_int=_json_int,
            parse_constant=FloatToken,
            object_pairs_hook=_parse._pairs,
        )
    except ParseError:
        raise
    except json.JSONDecodeError as e:
        raise ParseError(f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ParseError(f"invalid JSON: {type(e).__name__}: {str(e)[:200]}") from None


def split_action(text: str) -> tuple[str, str]:
    """(kind, body): 'program', 'json' or 'sol'."""
    for lang, body in reversed(fenced_blocks(text)):
        if lang in _PY:
            return "program", body
        if lang == "json":
            return "json", body
    for _lang, body in reversed(fenced_blocks(text)):
        if looks_like_sol(body):
            return "sol", body
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        return "json", stripped
    if looks_like_sol(text):
        return "sol", text
    return "program", text


def static_program_check(source: str) -> str | None:
    """What can be refused before anything runs: size, syntax, no run(), a solver import."""
    tree = parse_program(
        source,
        "the action is empty: give a Python program defining run(instance, budget_s, seed), "
        'a JSON {"routes": [[...], ...]} or a .sol text',
    )
    if isinstance(tree, str):
        return tree
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Call)):
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            fn = node.func
            called = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if called in ("import_module", "__import__"):
                names = [node.args[0].value]
        for name in names:
            top = name.partition(".")[0]
            if top in SOLVER_PACKAGES:
                return (
                    f"the program imports {top} (line {node.lineno}): solver packages are not available to "
                    "submissions; write the search yourself (numpy and scipy are available)"
                )
    if not any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "run" for n in tree.body
    ) and not any(
        isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "run" for t in n.targets)
        for n in tree.body
    ):
        return "the program defines no top-level function run(instance, budget_s, seed)"
    return None


def _routes_of(doc: Any) -> Any:
    """The routes in a JSON document: {"routes": ...}, {"construction": ...} or the bare list."""
    if type(doc) is dict:
        keys = set(doc) - {"cost", "problem", "instance"}
        if "problem" in doc and doc["problem"] != PROBLEM_ID:
            raise RouteError(f"this solution is for problem {str(doc['problem'])[:40]!r}, not {PROBLEM_ID!r}")
        if keys not in ({"routes"}, {"construction"}):
            raise RouteError(
                'the JSON object needs exactly one of "routes" or "construction" (a list of routes; '
                f'"cost" is allowed and ignored), not the keys {sorted(doc)[:6]}'
            )
        return doc["routes"] if "routes" in doc else doc["construction"]
    return doc


# -- the verifier ----------------------------------------------------------------------------------
class CVRPVerifier(Verifier):
    """Exact CVRPLIB cost of routes for one instance. Limits: the program's budget, CPUs and memory."""

    name = "cvrp"
    version = "1"

    def __init__(
        self,
        instance: str | None = DEFAULT_INSTANCE,
        instance_file: str | None = None,
        reference_cost: int | None = None,
        *,
        data_dir: DataDir = None,
        budget_s: float = 60.0,
        grace_s: float = 10.0,
        cpus: int = 1,
        memory_bytes: int = 2 << 30,
        output_bytes: int = 1 << 20,
    ) -> None:
        if not (budget_s > 0 and grace_s >= 0 and cpus >= 1 and memory_bytes > 0):
            raise ValueError("CVRP limits must be positive (budget_s, cpus, memory_bytes)")
        self.instance = load_instance(instance, instance_file, data_dir)
        self.instance_file = str(instance_file) if instance_file else None
        entry = None if instance_file or instance is None else bks_table(data_dir).get(instance)
        self.bks = int(entry["bks"]) if entry else None
        self.optimal = bool(entry["optimal"]) if entry else False
        if reference_cost is not None:
            if self.bks is not None:
                raise ValueError(
                    "reference_cost is for your own instance_file; a named X instance is compared "
                    f"with its best known cost ({self.bks})"
                )
            if isinstance(reference_cost, bool) or not isinstance(reference_cost, int) or reference_cost <= 0:
                raise ValueError(f"reference_cost must be a positive integer cost, not {reference_cost!r}")
        self.reference_cost = reference_cost
        n = self.instance.n_customers
        self.max_ints = 2 * n + 64  # room to name a duplicate before refusing the size
        self.result_cap = (64 << 10) + 24 * self.max_ints
        self.budget_s, self.grace_s = float(budget_s), float(grace_s)
        self.limits = sandbox.Limits(
            wall_s=self.budget_s + self.grace_s,
            cpus=int(cpus),
            memory_bytes=int(memory_bytes),
            output_bytes=int(output_bytes),
            result_bytes=self.result_cap,
        )

    @functools.cached_property
    def _instance_json(self) -> bytes:
        return json.dumps(self.instance.for_program(), separators=(",", ":")).encode()

    def reward_reference(self) -> tuple[int, str]:
        """(cost, what it is): the reward is this cost divided by the submitted cost."""
        if self.bks is not None:
            return self.bks, "best known (bks.json)"
        if self.reference_cost is not None:
            return self.reference_cost, "reference_cost option"
        return self.instance.star_cost(), "one route per customer (star solution)"

    # -- entry ---------------------------------------------------------------------------------
    def _verify(self, artifact: str, *, parent: dict[str, Any] | None = None, seed: int = 0, **_: Any) -> Verdict:
        kind, body = split_action(artifact)
        details: dict[str, Any] = {"artifact_kind": kind, "instance": self.instance.name}
        claimed = None
        try:
            if kind == "program":
                out = self._run_program(body, parent, int(seed), details)
                if isinstance(out, Verdict):
                    return out
                routes = out
            elif kind == "json":
                doc = loads_routes_json(body, self.result_cap)
                routes = _routes_of(doc)
                if type(doc) is dict and "cost" in doc:
                    claimed = str(doc["cost"].text if isinstance(doc["cost"], FloatToken) else doc["cost"])[:30]
            else:
                if len(body) > self.result_cap:
                    return Verdict.reject(
                        f"the .sol text is {len(body):,} characters, larger than the "
                        f"{_parse._human(self.result_cap)} cap",
                        details=details,
                    )
                routes, claimed = parse_sol(body)
            if type(routes) is list and sum(len(r) for r in routes if type(r) is list) > self.max_ints:
                return Verdict.reject(
                    f"the routes hold more than {self.max_ints:,} entries for "
                    f"{self.instance.n_customers} customers; each customer appears once",
                    details=details,
                )
            result = check_routes(routes, self.instance)
        except (ParseError, RouteError) as e:
            return Verdict.reject(str(e), details=details)
        return self._accept(routes, result, claimed, details)

    def _accept(self, routes: Any, result: dict[str, Any], claimed: str | None, details: dict[str, Any]) -> Verdict:
        cost = result["cost"]
        ref, ref_kind = self.reward_reference()
        details.update(
            {
                "cost": cost,
                "routes": result["routes_count"],
                "route_costs": result["route_costs"],
                "loads": result["loads"],
                "capacity": self.instance.capacity,
                "n_customers": self.instance.n_customers,
                "bks": self.bks,
                "optimal": self.optimal,
                "gap_pct": None if self.bks is None else round(100.0 * (cost - self.bks) / self.bks, 4),
                "reward_reference": ref,
                "reward_reference_kind": ref_kind,
                "display": str(cost),
                "score_exact": str(cost),
                "construction": routes,
                "construction_sha256": hashlib.sha256(json.dumps(routes, separators=(",", ":")).encode()).hexdigest(),
            }
        )
        if self.instance_file:
            details["instance_file"] = self.instance_file
        if claimed is not None:
            details["claimed_cost"] = claimed
        msg = f"accepted: cost {cost} with {result['routes_count']} routes"
        if self.bks is not None:
            gap = details["gap_pct"]
            if cost < self.bks:
                msg += f", below the best known {self.bks} ({gap:+.4f}%): a new best known solution"
            elif cost == self.bks:
                msg += f", equal to the best known {self.bks}" + (" (proven optimal)" if self.optimal else "")
            else:
                msg += f", {gap:+.3f}% above the best known {self.bks}" + (" (proven optimal)" if self.optimal else "")
        if claimed is not None and claimed != str(cost):
            msg += f"; the stated cost {claimed} was ignored (the score is recomputed from the routes)"
        return Verdict.accept(cost, msg, details=details)

    # -- programs ------------------------------------------------------------------------------
    def _run_program(
        self, source: str, parent: dict[str, Any] | None, seed: int, details: dict[str, Any]
    ) -> Verdict | Any:
        problem = static_program_check(source)
        if problem:
            return Verdict.reject(problem, details=details)
        parent_doc = {
            "problem": PROBLEM_ID,
            "instance": self.instance.name,
            "routes": (parent or {}).get("construction"),
            "value": (parent or {}).get("value"),
        }
        files = {
            "program.py": source.encode("utf-8", "surrogatepass"),
            "instance.json": self._instance_json,
            "parent.json": json.dumps(parent_doc, separators=(",", ":"), allow_nan=False).encode(),
        }
        config = {
            "entry": "run",
            "kwargs": {"budget_s": self.budget_s, "seed": seed},
            "kwargs_files": {"instance": "instance.json"},
            "convert": {"kind": "int_lists", "n_max": self.max_ints, "what": "route"},
        }
        res = sandbox.run(files=files, limits=self.limits, config=config)
        details.update(run_details(res, self.budget_s, seed))
        out = program_outcome(
            res, self.limits, self.budget_s, self.grace_s, self.result_cap, details, loads=loads_routes_json
        )
        return out if isinstance(out, Verdict) else out[0]


__all__ = [
    "CVRPVerifier",
    "DataMissing",
    "Instance",
    "InstanceError",
    "RouteError",
    "DEFAULT_INSTANCE",
    "bks_table",
    "instance_names",
    "load_instance",
    "split_action",
    "static_program_check",
]
