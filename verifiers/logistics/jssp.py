"""Job-shop scheduling (JSSP), minimise the makespan: trusted schedule checks and the exact score.

An instance (the standard OR-Library format) has n jobs and m machines; job j is a list of operations
(machine, duration) that must run in that order, each machine runs one operation at a time, and
nothing is pre-empted. Jobs, operations and machines are numbered from 0, as in the files.

A solution is one of two JSON forms (or a program returning one of them):

* ``{"machine_sequences": [[job, ...] per machine]}``: the order in which each machine processes its
  jobs. The verifier builds the semi-active schedule (every operation starts as soon as both its job
  predecessor and its machine predecessor have finished); sequences that wait on each other in a
  cycle are rejected, with the cycle named.
* ``{"start_times": [[start of each operation of job j, in the job's order] per job]}``: integers
  ≥ 0, checked as given (job order, one operation per machine at a time), never shifted or repaired.

The score is the exact integer makespan: the latest completion time of any operation. Instances (the
parser, bounds, names) are in ``jssp_instance``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from typing import Any

from verifiers import sandbox
from verifiers.artifacts import last_block
from verifiers.base import Verifier
from verifiers.logistics.jssp_instance import (  # noqa: F401
    MAX_TIME,
    Instance,
    InstanceError,
    bounds,
    known_names,
    load_instance,
    load_instance_file,
    parse_instance,
    resolve_name,
)
from verifiers.math._parse import ParseError, check_depth
from verifiers.programs import MAX_PROGRAM_BYTES as MAX_PROGRAM_BYTES
from verifiers.programs import parse_program, run_details
from verifiers.sandbox._isolate import SOLVER_PACKAGES
from verifiers.verdict import Verdict

MAX_SOLUTION_BYTES = 4 << 20  # a JSON action or a program's result (a 100 × 20 schedule is ~12 KB)
_LANGS = {"python": "program", "py": "program", "python3": "program", "json": "json"}
FORMS = ("machine_sequences", "start_times")


# -- strict JSON with integers --------------------------------------------------------------------
class _Float:
    """A JSON number written with a fraction or exponent: never accepted as a time or a job."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _BigInt:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _parse_int(s: str) -> int | _BigInt:
    return _BigInt(s) if len(s.lstrip("-")) > 18 else int(s)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise ParseError(f"duplicate key {k[:40]!r} in a JSON object")
        d[k] = v
    return d


def loads_ints(text: str, cap_bytes: int, what: str = "solution") -> Any:
    """JSON with integers kept as ints and every other number kept as a marker (rejected later, by place)."""
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > cap_bytes else len(text)
    if size > cap_bytes:
        raise ParseError(f"the {what} is {size:,} bytes, larger than the {cap_bytes >> 20} MiB cap")
    check_depth(text)
    try:
        return json.loads(
            text, parse_float=_Float, parse_int=_parse_int, parse_constant=_Float, object_pairs_hook=_pairs
        )
    except ParseError:
        raise
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":
            raise ParseError(f"trailing data after the JSON document (line {e.lineno}, column {e.colno})") from None
        raise ParseError(f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ParseError(f"invalid JSON: {type(e).__name__}: {str(e)[:200]}") from None


def _int_at(v: Any, where: str, what: str) -> int:
    if type(v) is int:
        return v
    if type(v) is bool:
        raise ParseError(f"{where} is a boolean ({json.dumps(v)}); {what}")
    if isinstance(v, _Float):
        raise ParseError(f"{where} is {v.text[:30]}, not an integer (no floats, even whole ones); {what}")
    if isinstance(v, _BigInt):
        raise ParseError(f"{where} is {v.text[:20]}…, far too large; {what}")
    if isinstance(v, float):  # a program's result parsed by another loader (not expected)
        raise ParseError(f"{where} is {v!r}, not an integer (no floats, even whole ones); {what}")
    raise ParseError(f"{where} is {_kind(v)}; {what}")


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    names: dict[type[object], str] = {str: "a string", list: "a list", dict: "an object"}
    return names.get(type(v), type(v).__name__)


# -- solutions ------------------------------------------------------------------------------------
def parse_solution(doc: Any, inst: Instance) -> tuple[str, list[list[int]]]:
    """(form, rows) from a decoded JSON solution, or ParseError naming what is wrong and where."""
    if type(doc) is dict and set(doc) == {"construction"}:
        doc = doc["construction"]
    if type(doc) is not dict:
        raise ParseError(
            f'the solution must be a JSON object {{"machine_sequences": ...}} or '
            f'{{"start_times": ...}}, not {_kind(doc)}'
        )
    keys = set(doc)
    if len(keys & set(FORMS)) != 1 or keys - set(FORMS):
        shown = ", ".join(sorted(repr(k[:30]) for k in keys)) or "none"
        raise ParseError(
            f"the solution must have exactly one of the keys 'machine_sequences' or 'start_times' (got {shown})"
        )
    form = next(iter(keys))
    rows = doc[form]
    if form == "machine_sequences":
        return form, _machine_sequences(rows, inst)
    return form, _start_times(rows, inst)


def _machine_sequences(rows: Any, inst: Instance) -> list[list[int]]:
    n, m = inst.n_jobs, inst.n_machines
    if type(rows) is not list:
        raise ParseError(
            f"machine_sequences must be a list of {m} lists (one per machine 0..{m - 1}), not {_kind(rows)}"
        )
    if len(rows) != m:
        raise ParseError(
            f"machine_sequences has {len(rows)} lists; the instance has {m} machines "
            f"(one list per machine, machines 0..{m - 1})"
        )
    out = []
    for mach, seq in enumerate(rows):
        if type(seq) is not list:
            raise ParseError(
                f"machine_sequences[{mach}] is {_kind(seq)}; give the list of jobs machine {mach} processes, in order"
            )
        need = inst.jobs_on[mach]
        if len(seq) > 4 * n + 16:
            raise ParseError(
                f"machine_sequences[{mach}] has {len(seq)} entries; machine {mach} processes {len(need)} jobs"
            )
        first: dict[int, int] = {}
        jobs = []
        for pos, v in enumerate(seq):
            j = _int_at(v, f"machine_sequences[{mach}][{pos}]", f"jobs are integers 0..{n - 1}")
            if not 0 <= j < n:
                raise ParseError(f"machine_sequences[{mach}][{pos}] = {j} is not a job; jobs are 0..{n - 1} (0-based)")
            if j not in need:
                raise ParseError(f"machine_sequences[{mach}][{pos}]: job {j} has no operation on machine {mach}")
            if j in first:
                raise ParseError(
                    f"machine {mach} lists job {j} twice (positions {first[j]} and {pos}); "
                    f"each job is processed once on machine {mach}"
                )
            first[j] = pos
            jobs.append(j)
        if len(jobs) != len(need):
            missing = sorted(need - set(jobs))
            raise ParseError(
                f"machine {mach}'s sequence misses job{'s' if len(missing) > 1 else ''} "
                f"{', '.join(map(str, missing[:10]))}{' …' if len(missing) > 10 else ''}; "
                f"every job that visits machine {mach} must appear exactly once"
            )
        out.append(jobs)
    return out


def _start_times(rows: Any, inst: Instance) -> list[list[int]]:
    n = inst.n_jobs
    if type(rows) is not list:
        raise ParseError(f"start_times must be a list of {n} lists (one per job 0..{n - 1}), not {_kind(rows)}")
    if len(rows) != n:
        raise ParseError(
            f"start_times has {len(rows)} lists; the instance has {n} jobs (one list per job, jobs 0..{n - 1})"
        )
    out = []
    for j, row in enumerate(rows):
        k_need = len(inst.machines[j])
        if type(row) is not list:
            raise ParseError(
                f"start_times[{j}] is {_kind(row)}; give the start of each of job {j}'s "
                f"{k_need} operations, in the job's order"
            )
        if len(row) != k_need:
            raise ParseError(f"start_times[{j}] has {len(row)} values; job {j} has {k_need} operations")
        starts = []
        for k, v in enumerate(row):
            s = _int_at(v, f"start_times[{j}][{k}]", "start times are whole numbers ≥ 0")
            if s < 0:
                raise ParseError(
                    f"start_times[{j}][{k}] = {s} is negative (job {j}, operation {k} on machine "
                    f"{inst.machines[j][k]}); start times are whole numbers ≥ 0"
                )
            if s > MAX_TIME:
                raise ParseError(f"start_times[{j}][{k}] = {s} is too large (the limit is 10^15)")
            starts.append(s)
        out.append(starts)
    return out


def _op(inst: Instance, j: int, k: int) -> str:
    return f"job {j} operation {k} (machine {inst.machines[j][k]})"


def schedule_from_sequences(inst: Instance, seqs: list[list[int]]) -> list[list[int]]:
    """The semi-active schedule of valid machine sequences: start times per job and operation. Raises
    ParseError naming a cycle when the sequences deadlock."""
    n = inst.n_jobs
    op_on = inst.op_on
    offset = [0] * (n + 1)
    for j in range(n):
        offset[j + 1] = offset[j] + len(inst.machines[j])
    total = offset[n]
    # node id = offset[j] + k; successors: the next operation of the job, the next job on the machine
    indeg = [0] * total
    mach_next = [-1] * total
    mach_prev = [-1] * total
    for mach, seq in enumerate(seqs):
        prev = -1
        for j in seq:
            node = offset[j] + op_on[j][mach]
            if prev >= 0:
                mach_next[prev] = node
                mach_prev[node] = prev
                indeg[node] += 1
            prev = node
    job_of = [0] * total
    for j in range(n):
        for k in range(1, offset[j + 1] - offset[j]):
            indeg[offset[j] + k] += 1
        for node in range(offset[j], offset[j + 1]):
            job_of[node] = j
    start = [0] * total
    ready = [v for v in range(total) if indeg[v] == 0]
    done = 0
    while ready:
        v = ready.pop()
        done += 1
        j = job_of[v]
        k = v - offset[j]
        end = start[v] + inst.durations[j][k]
        succs = [mach_next[v]]
        if v + 1 < offset[j + 1]:
            succs.append(v + 1)
        for w in succs:
            if w < 0:
                continue
            if end > start[w]:
                start[w] = end
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    if done < total:
        raise ParseError(_describe_cycle(inst, offset, job_of, indeg, mach_prev))
    return [start[offset[j] : offset[j + 1]] for j in range(n)]


def _describe_cycle(
    inst: Instance, offset: list[int], job_of: list[int], indeg: list[int], mach_prev: list[int]
) -> str:
    """Walk back through unscheduled predecessors from an unscheduled operation until one repeats."""
    v = next(i for i, d in enumerate(indeg) if d > 0)
    seen: dict[int, int] = {}
    path: list[int] = []
    while v not in seen:
        seen[v] = len(path)
        path.append(v)
        j = job_of[v]
        # a blocked operation has an unscheduled predecessor: its job's previous operation, or the
        # machine's previous job (the one of them that is still waiting)
        v = v - 1 if v > offset[j] and indeg[v - 1] > 0 else mach_prev[v]
    cycle = path[seen[v] :][::-1]  # forward order: each must finish before the next starts
    steps: list[list[Any]] = []  # [kind, x, a, b]; consecutive operations of one job are merged into one step
    for a, b in zip(cycle, cycle[1:] + cycle[:1]):
        ja, jb = job_of[a], job_of[b]
        ka, kb = a - offset[ja], b - offset[jb]
        if ja == jb:
            if steps and steps[-1][0] == "job" and steps[-1][1] == jb:
                steps[-1][3] = kb
            else:
                steps.append(["job", jb, ka, kb])
        else:
            steps.append(["machine", inst.machines[jb][kb], ja, jb])
    described = [
        f"job {x} reaches operation {b} (machine {inst.machines[x][b]}) only after operation {a}"
        if kind == "job"
        else f"machine {x} runs job {b} after job {a}"
        for kind, x, a, b in steps
    ]
    shown = described[:6] + (["…"] if len(described) > 6 else [])
    return (
        f"the machine sequences are cyclic, so no schedule can follow them ({len(cycle)} operations wait on "
        f"each other: {'; '.join(shown)}; back to the start); reorder one of these machines"
    )


def check_start_times(inst: Instance, starts: list[list[int]]) -> tuple[int, list[list[int]]]:
    """(makespan, machine_sequences) of a feasible schedule; ParseError naming the first violation.

    Machine exclusivity is the disjunctive rule: any two operations on a machine are ordered, one
    ending before (or when) the other starts. A zero-length operation therefore may not sit strictly
    inside another's run, the same rule a machine sequence implies and the one OR-Tools CP-SAT's
    no-overlap constraint applies to a zero-size interval (docs/logistics.md#what-a-solution-looks-like)."""
    problems: list[str] = []
    for j, row in enumerate(starts):
        for k in range(1, len(row)):
            end_prev = row[k - 1] + inst.durations[j][k - 1]
            if row[k] < end_prev:
                problems.append(
                    f"precedence: {_op(inst, j, k)} starts at {row[k]}, before operation {k - 1} "
                    f"(machine {inst.machines[j][k - 1]}) ends at {end_prev} "
                    f"(= {row[k - 1]} + {inst.durations[j][k - 1]})"
                )
    seqs = []
    for mach in range(inst.n_machines):
        ops = sorted(
            (starts[j][inst.op_on[j][mach]], inst.durations[j][inst.op_on[j][mach]], j) for j in inst.jobs_on[mach]
        )
        for (s1, d1, j1), (s2, d2, j2) in zip(ops, ops[1:]):
            if s2 < s1 + d1 and d2 == 0:
                problems.append(
                    f"machine {mach} overlap: job {j2} (operation {inst.op_on[j2][mach]}) has length 0 "
                    f"and starts at {s2}, strictly inside job {j1} (operation {inst.op_on[j1][mach]})'s "
                    f"run [{s1}, {s1 + d1}); a zero-length operation still takes its turn on the "
                    f"machine, so start it at or before {s1} or at or after {s1 + d1}"
                )
            elif s2 < s1 + d1:
                problems.append(
                    f"machine {mach} overlap: job {j1} (operation {inst.op_on[j1][mach]}) runs "
                    f"[{s1}, {s1 + d1}) and job {j2} (operation {inst.op_on[j2][mach]}) runs "
                    f"[{s2}, {s2 + d2})"
                )
        seqs.append([j for _, _, j in ops])
    if problems:
        more = (
            f" (and {len(problems) - 1} more violation{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        )
        raise ParseError(f"infeasible schedule: {problems[0]}{more}; start times are checked as given, never repaired")
    return makespan(inst, starts), seqs


def makespan(inst: Instance, starts: list[list[int]]) -> int:
    return max(s + d for row, ds in zip(starts, inst.durations) for s, d in zip(row, ds))


def job_order_sequences(inst: Instance) -> list[list[int]]:
    """Every machine processes its jobs in index order: always acyclic (a trivial starting schedule)."""
    return [sorted(inst.jobs_on[m]) for m in range(inst.n_machines)]


# -- programs -------------------------------------------------------------------------------------
def split_action(text: str) -> tuple[str, str]:
    """('program' | 'json', body): the last fenced python/json block, else bare JSON, else Python."""
    found = last_block(text, _LANGS)
    if found is not None:
        return found
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        return "json", stripped
    return "program", text


def static_program_check(source: str) -> tuple[str, str] | None:
    """(status, message) for what is refused before anything runs; None if the program looks runnable."""
    tree = parse_program(
        source, "the action is empty: give a Python program defining run(instance, budget_s, seed) or a JSON schedule"
    )
    if isinstance(tree, str):
        return "rejected", tree
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in SOLVER_PACKAGES:
                return "rejected", (
                    f"the program imports {top} (line {node.lineno}), a solver package; programs run "
                    "with numpy and scipy only and must do their own search"
                )
    if not any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "run" for n in ast.walk(tree)
    ) and not any(isinstance(n, ast.Name) and n.id == "run" for n in ast.walk(tree)):
        return "rejected", "the program defines no top-level function run(instance, budget_s, seed)"
    return None


# -- the verifier ---------------------------------------------------------------------------------
class JSSPVerifier(Verifier):
    """Scores one JSSP solution (JSON or program) on one instance: a named one of the data folder, or a
    user's own file. Limits: the program's time budget, CPUs and memory."""

    name = "jssp"
    version = "1"

    def __init__(
        self,
        *,
        instance: str | None = "ta01",
        instance_file: str | os.PathLike[str] | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        budget_s: float = 60.0,
        grace_s: float = 10.0,
        cpus: int = 1,
        memory_bytes: int = 2 << 30,
        output_bytes: int = 16 << 20,
    ) -> None:
        if not (budget_s > 0 and grace_s >= 0 and cpus >= 1 and memory_bytes > 0 and output_bytes > 0):
            raise ValueError("JSSP verifier limits must be positive (budget_s, cpus, memory_bytes, output_bytes)")
        if instance_file:
            self.instance = load_instance_file(instance_file, data_dir)
        else:
            self.instance = load_instance(instance or "ta01", data_dir)
        self.budget_s, self.grace_s = float(budget_s), float(grace_s)
        self.limits = sandbox.Limits(
            wall_s=self.budget_s + self.grace_s,
            cpus=int(cpus),
            memory_bytes=int(memory_bytes),
            output_bytes=int(output_bytes),
            result_bytes=MAX_SOLUTION_BYTES,
        )

    def _verify(self, artifact: str, *, parent: dict[str, Any] | None = None, seed: int = 0, **_: Any) -> Verdict:
        kind, body = split_action(artifact)
        details: dict[str, Any] = {"artifact_kind": kind}
        if kind == "json":
            try:
                doc = loads_ints(body, MAX_SOLUTION_BYTES)
            except ParseError as e:
                return Verdict.reject(str(e), details=self._base(details))
            return self._judge(doc, details)
        return self._run_program(body, parent, int(seed), details)

    def _base(self, details: dict[str, Any]) -> dict[str, Any]:
        inst = self.instance
        details.update(
            {
                "instance": inst.name,
                "instance_sha256": inst.sha256,
                "n_jobs": inst.n_jobs,
                "n_machines": inst.n_machines,
                "ub": inst.ub,
                "lb": inst.lb,
                "trivial_lb": inst.trivial_lb,
                "optimal_known": inst.optimal,
            }
        )
        return details

    def _run_program(self, source: str, parent: dict[str, Any] | None, seed: int, details: dict[str, Any]) -> Verdict:
        from verifiers.math.base import program_outcome

        self._base(details)
        refused = static_program_check(source)
        if refused:
            return Verdict.reject(refused[1], status=refused[0], details=details)
        inst = self.instance
        parent_doc = {
            "problem": "JSSP-v0",
            "instance": inst.name,
            "construction": (parent or {}).get("construction"),
            "value": (parent or {}).get("value"),
        }
        files = {
            "program.py": source.encode("utf-8", "surrogatepass"),
            "instance.json": json.dumps(inst.to_json(), separators=(",", ":")).encode(),
            "instance.txt": inst.to_text().encode(),
            "parent.json": json.dumps(parent_doc, separators=(",", ":"), allow_nan=False).encode(),
        }
        config = {
            "entry": "run",
            "kwargs": {"budget_s": self.budget_s, "seed": seed},
            "kwargs_files": {"instance": "instance.json"},
            "convert": {"kind": "json"},
        }
        res = sandbox.run(files=files, limits=self.limits, config=config)
        details.update(run_details(res, self.budget_s, seed))
        out = program_outcome(
            res, self.limits, self.budget_s, self.grace_s, MAX_SOLUTION_BYTES, details, loads=loads_ints
        )
        if isinstance(out, Verdict):
            if (
                "TypeError: Object of type int64 is not JSON serializable" in out.message
                or "is not JSON serializable" in out.message
            ):
                out.message += "; return plain Python ints (e.g. array.tolist())"
            return out
        return self._judge(out[0], details)

    def _judge(self, doc: Any, details: dict[str, Any]) -> Verdict:
        inst = self.instance
        self._base(details)
        try:
            form, rows = parse_solution(doc, inst)
            if form == "machine_sequences":
                starts = schedule_from_sequences(inst, rows)
                span, seqs = makespan(inst, starts), rows
            else:
                starts = rows
                span, seqs = check_start_times(inst, starts)
        except ParseError as e:
            return Verdict.reject(str(e), details=details)
        canonical = {form: rows}
        details["form"] = form
        details["construction"] = canonical
        details["construction_sha256"] = hashlib.sha256(
            json.dumps(canonical, separators=(",", ":")).encode()
        ).hexdigest()
        details["start_times"] = starts
        details["machine_sequences"] = seqs
        details["makespan"] = span
        details["display"] = str(span)
        details["score_exact"] = str(span)
        ref = inst.ub
        if ref is not None:
            details["gap_to_ub_pct"] = round(100.0 * (span - ref) / ref, 4)
        lb = inst.lb if inst.lb is not None else inst.trivial_lb
        details["gap_to_lb_pct"] = round(100.0 * (span - lb) / lb, 4)
        if ref is None:
            where = f"no published bound; trivial lower bound {inst.trivial_lb}"
        elif span < ref:
            where = f"below the best known {ref}: a new upper bound" + (
                " (cannot be: the bound is proven optimal; please report)" if inst.optimal else ""
            )
        else:
            where = f"best known {ref}{' (optimal)' if inst.optimal else ''}, gap {details['gap_to_ub_pct']:+.2f}%"
        return Verdict.accept(float(span), f"accepted: makespan {span} on {inst.name} ({where})", details=details)
