"""What the five math verifiers share: the action forms, the sandboxed program run, the limits.

An action is one text (docs/math.md#the-action): the last fenced ``python``/``py`` or ``json`` block, else
bare JSON if it starts with ``[`` or ``{``, else Python source. A program must define
``run(budget_s, seed)``; it runs in the sandbox with ``parent.json`` in its working directory and
returns the construction, which is then parsed exactly like a JSON action. Subclasses only parse
their construction shape and score it (``_check_and_score``).
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
from fractions import Fraction
from typing import Any, Protocol

from verifiers import sandbox
from verifiers.artifacts import last_block
from verifiers.base import Verifier
from verifiers.math import _parse
from verifiers.math._parse import ParseError
from verifiers.programs import MAX_PROGRAM_BYTES as MAX_PROGRAM_BYTES
from verifiers.programs import parse_program, run_details
from verifiers.verdict import Verdict

_log = logging.getLogger("verifiers.math")
_LANGS = {"python": "program", "py": "program", "python3": "program", "json": "json"}


class Loads(Protocol):
    """A strict JSON reader: ``loads(text, cap_bytes, what=...)``, raising ParseError."""

    def __call__(self, text: str, cap_bytes: int, /, *, what: str) -> Any: ...


def split_action(text: str) -> tuple[str, str]:
    """Return (artifact_kind, body): 'program' or 'json'."""
    found = last_block(text, _LANGS)
    if found is not None:
        return found
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        return "json", stripped
    return "program", text


def static_program_check(source: str) -> str | None:
    """Reject what can be rejected before anything runs; None if the program looks runnable."""
    tree = parse_program(
        source, "the action is empty: give a Python program defining run(budget_s, seed) or a JSON construction"
    )
    if isinstance(tree, str):
        return tree
    bound = False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "run":
            bound = True
            a = node.args
            names = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs} - {x.arg for x in a.posonlyargs}
            if a.kwarg is None and not {"budget_s", "seed"} <= names:
                return "run() must accept the keyword arguments budget_s and seed: define run(budget_s, seed)"
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound |= any(isinstance(t, ast.Name) and t.id == "run" for t in targets)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= any((al.asname or al.name) == "run" for al in node.names)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.ClassDef)):
            bound |= any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in ast.walk(node))
    if not bound:
        return "the program defines no top-level function run(budget_s, seed)"
    return None


class MathVerifier(Verifier):
    """Base of the math verifiers. Limits follow docs/math.md#limits and can be overridden."""

    problem_id: str = ""
    result_cap: int = 1 << 20
    #: conversion spec handed to the sandbox harness
    convert: dict[str, Any] = {}
    #: True when a lower score is better (rounding goes up for minimised bounds)
    minimise: bool = True

    def __init__(
        self,
        *,
        budget_s: float = 300.0,
        grace_s: float = 30.0,
        cpus: int = 1,
        memory_bytes: int = 4 << 30,
        output_bytes: int = 16 << 20,
    ) -> None:
        if not (budget_s > 0 and grace_s >= 0 and cpus >= 1 and memory_bytes > 0 and output_bytes > 0):
            raise ValueError("math verifier limits must be positive (budget_s, cpus, memory_bytes, output_bytes)")
        self.budget_s = float(budget_s)
        self.grace_s = float(grace_s)
        self.limits = sandbox.Limits(
            wall_s=self.budget_s + self.grace_s,
            cpus=int(cpus),
            memory_bytes=int(memory_bytes),
            output_bytes=int(output_bytes),
            result_bytes=self.result_cap,
        )

    # -- entry ---------------------------------------------------------------------------------
    def _verify(self, artifact: str, *, parent: dict[str, Any] | None = None, seed: int = 0, **_: Any) -> Verdict:
        kind, body = split_action(artifact)
        details: dict[str, Any] = {"artifact_kind": kind}
        if kind == "json":
            try:
                _parse.precheck_count(body, self.n_max, self.items_per_element)
                doc = _parse.unwrap(_parse.loads_strict(body, self.result_cap), self.problem_id)
            except ParseError as e:
                return Verdict.reject(str(e), details=details)
            return self._judge(doc, details)
        return self._run_program(body, parent, int(seed), details)

    # -- programs ------------------------------------------------------------------------------
    def _run_program(self, source: str, parent: dict[str, Any] | None, seed: int, details: dict[str, Any]) -> Verdict:
        problem = static_program_check(source)
        if problem:
            return Verdict.reject(problem, details=details)
        parent_doc = {
            "problem": self.problem_id,
            "construction": (parent or {}).get("construction"),
            "value": (parent or {}).get("value"),
        }
        files = {
            "program.py": source.encode("utf-8", "surrogatepass"),
            "parent.json": json.dumps(parent_doc, separators=(",", ":"), allow_nan=False).encode(),
        }
        config = {"entry": "run", "kwargs": {"budget_s": self.budget_s, "seed": seed}, "convert": self.convert}
        res = sandbox.run(files=files, limits=self.limits, config=config)
        details.update(run_details(res, self.budget_s, seed))
        out = program_outcome(res, self.limits, self.budget_s, self.grace_s, self.result_cap, details)
        if isinstance(out, Verdict):
            return out
        return self._judge(out[0], details)

    # -- judging the construction ---------------------------------------------------------------
    n_max: int = 1
    items_per_element: int = 1

    def _judge(self, construction: Any, details: dict[str, Any]) -> Verdict:
        try:
            data = self._parse(construction)
        except ParseError as e:
            return Verdict.reject(str(e), details=details)
        canonical = _parse.canonical_json(self._canonical(data))
        details["construction_sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
        verdict = self._check_and_score(data, details)
        if verdict.accepted:
            verdict.details["construction"] = self._canonical(data)
        return verdict

    def _canonical(self, data: Any) -> Any:
        return data

    def _parse(self, construction: Any) -> Any:
        raise NotImplementedError

    def _check_and_score(self, data: Any, details: dict[str, Any]) -> Verdict:
        raise NotImplementedError

    # -- shared scoring helpers ---------------------------------------------------------------
    def _accept(self, exact: Fraction, details: dict[str, Any], summary: str) -> Verdict:
        from verifiers.math import exact as ex

        if details.get("float64_rel_diff", 0.0) > 1e-9:
            # The float64 estimate only cross-checks the exact value; a large gap means a bug here.
            _log.warning(
                "%s: float64 estimate differs from the exact score by %.3g (relative); please report",
                self.ident,
                details["float64_rel_diff"],
            )
        up = self.minimise
        score = ex.round_outward(exact, up=up)
        details["score_exact"] = ex.format_sig(exact, 20, up=up)
        details["display"] = ex.format_sig(exact, 10, up=up)
        return Verdict.accept(score, f"accepted: {summary.format(display=details['display'])}", details=details)


def program_outcome(
    res: sandbox.SandboxResult,
    limits: sandbox.Limits,
    budget_s: float,
    grace_s: float,
    result_cap: int,
    details: dict[str, Any],
    loads: Loads | None = None,
) -> Verdict | tuple[Any]:
    """What a sandboxed ``run()`` came back with: a rejection Verdict (timeout, memory, crash, a bad result
    record…), or a 1-tuple holding the returned value parsed by ``loads(text, cap, what=)`` (default: the
    math parser). Shared by the verifiers whose actions are programs returning data."""
    loads = loads or _parse.loads_strict
    wall = limits.wall_s
    if res.status == "setup_error":
        return Verdict.reject(
            f"verifier error: the sandbox could not start ({res.detail}); please report",
            status="error",
            details=details,
        )
    if res.status == "timeout":
        if res.timeout_kind == "cpu":
            msg = f"program used more than {limits.wire()['cpu_s']:g} s of CPU time (killed)"
        else:
            msg = (
                f"program did not return within {wall:g} s (budget_s {budget_s:g} + "
                f"{grace_s:g} s grace); killed with its whole process group"
            )
            if res.detail == "SIGKILL":
                msg += f" by SIGKILL after it ignored SIGTERM for the {limits.kill_grace_s:g} s grace period"
        return Verdict.reject(msg, status="timeout", details=details)
    if res.status == "memory":
        return Verdict.reject(
            f"program exceeded the {limits.memory_bytes >> 30} GiB memory limit of the run ({res.detail})",
            status="memory",
            details=details,
        )
    if res.status == "output_limit":
        return Verdict.reject(
            f"program wrote more than {limits.output_bytes >> 20} MiB of output; print less",
            status="output_limit",
            details=details,
        )
    if res.status == "result_too_large":
        return Verdict.reject(
            f"the result is larger than the {_parse._human(result_cap)} cap; return fewer values", details=details
        )
    if res.status == "channel_broken":
        return Verdict.reject("malformed result: the program closed or broke the result channel", details=details)
    if res.status == "no_result":
        return Verdict.reject(
            "the program exited without returning a result (sys.exit/os._exit before run() returned?)",
            status="crashed",
            details=details,
        )
    if res.status == "crashed":
        msg = f"the program was {res.detail}" if res.detail.startswith("killed") else f"the program {res.detail}"
        if res.exitcode is not None and res.exitcode < 0 and res.exitcode in (-9, -11, -6):
            msg += f" (out of memory can look like this: the limit is {limits.memory_bytes >> 30} GiB)"
        return Verdict.reject(msg + " without returning a result", status="crashed", details=details)
    assert res.result is not None  # the run ended "ok": the result channel was read
    try:
        text = res.result.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict.reject("malformed result: the result channel held invalid UTF-8", details=details)
    try:
        doc = loads(text, result_cap + 4096, what="result")
    except ParseError as e:
        return Verdict.reject(f"malformed result: {e}", details=details)
    if type(doc) is not dict or (set(doc) != {"value"} and set(doc) != {"error"}):
        return Verdict.reject(
            "malformed result: the result channel held something other than one result record", details=details
        )
    if "error" in doc:
        err: dict[str, Any] = doc["error"] if type(doc["error"]) is dict else {}
        kind = err["kind"] if err.get("kind") in ("rejected", "crashed", "memory") else "crashed"
        message = str(err.get("message", "the program failed"))[:1000]
        if kind == "memory":
            message = f"program exceeded the {limits.memory_bytes >> 30} GiB memory limit ({message})"
        elif err.get("hint") == "processes":
            message += (
                "; creating processes is not allowed with cpus=1"
                if limits.cpus == 1
                else f"; the task limit ({limits.max_tasks}) was reached"
            )
        return Verdict.reject(message, status=kind, details=details)
    return (doc["value"],)


def rel_diff(estimate: float, exact: Fraction) -> float:
    if exact == 0:
        return abs(estimate)
    return float(abs(Fraction(estimate) - exact) / abs(exact)) if estimate == estimate else float("inf")
