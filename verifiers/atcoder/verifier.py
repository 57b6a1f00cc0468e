"""The AtCoder verifier: one C++ source -> compile -> run the case set -> official scorer per case ->
one Verdict (docs/atcoder.md#running-a-case, docs/atcoder.md#case-sets-and-modes).

Modes: ``rl`` (default; public seeds 0…149, TTT-Discover's reward), ``contest`` (the 150 official
cases; AHC039 only, unless ``allow_public_contest`` computes a public-150 total that is labelled as
not comparable to the standings) and ``ale`` (ALE-Bench: public 0…49 feedback, ``ale_final`` for the
official cases). ``case_set`` overrides the set (``lite`` = seeds 0…4 for development)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from verifiers.artifacts import last_block
from verifiers.atcoder import inputs, judge
from verifiers.base import Verifier
from verifiers.verdict import Verdict

PROBLEMS = ("ahc039", "ahc058")
_LANGS = {"cpp": "cpp", "c++": "cpp", "cxx": "cpp", "cc": "cpp"}
_STATUS = {
    "WA": ("rejected", "wrong_answer"),
    "OLE": ("rejected", "output_limit"),
    "TLE": ("timeout", "time_limit"),
    "MLE": ("memory", "memory_limit"),
    "RE": ("crashed", "runtime_error"),
    "ERR": ("error", "sandbox"),
}


def extract_source(text: str) -> str:
    found = last_block(text, _LANGS)
    return found[1] if found else text


class AHCVerifier(Verifier):
    version = "1"

    def __init__(
        self,
        problem: str = "ahc039",
        *,
        mode: str = "rl",
        case_set: str | None = None,
        ale_final: bool = False,
        allow_public_contest: bool = False,
        jobs: int | None = None,
        stop_on_fail: bool = True,
        progress: Callable[[judge.CaseResult, int, int], None] | bool | None = None,
        **_ignored: Any,
    ) -> None:
        if problem not in PROBLEMS:
            raise ValueError(f"unknown AtCoder problem {problem!r}; one of {PROBLEMS}")
        if mode not in ("rl", "contest", "ale"):
            raise ValueError("mode must be 'rl', 'contest' or 'ale'")
        self.problem, self.mode = problem, mode
        self.name = f"atcoder_{problem}"
        self.scorer = importlib.import_module(f"verifiers.atcoder.score_{problem}").score
        self.comparable = False
        if case_set is None:
            if mode == "rl":
                case_set = "public150"
            elif mode == "contest" or (mode == "ale" and ale_final):
                case_set = "official"
            else:
                case_set = "public50"
        if case_set == "official" and problem == "ahc058":
            if not allow_public_contest:
                raise ValueError(
                    "AHC058 has no official cases (they were never published); use mode='rl', or "
                    "allow_public_contest=True for a public-150 total that is not comparable to the standings"
                )
            case_set = "public150"
        self.case_set = case_set
        self.comparable = case_set == "official" and mode in ("contest", "ale")
        self.seeds = list(inputs.seeds(problem, case_set))
        self.jobs, self.stop_on_fail = jobs, stop_on_fail
        self.progress = _stderr_progress if progress is True else (progress or None)

    def _verify(self, artifact: str, **_: Any) -> Verdict:
        source = extract_source(artifact)
        details: dict[str, Any] = {
            "problem": self.problem,
            "mode": self.mode,
            "case_set": self.case_set,
            "seeds": self.seeds,
            "comparable_to_standings": self.comparable,
        }
        comp = judge.compile_cpp(source)
        details.update(
            {
                "compiler": comp.compiler,
                "compile_s": round(comp.elapsed_s, 3),
                "libraries": comp.libraries,
                "compile_cached": comp.cached,
            }
        )
        if not comp.ok:
            details["kind"] = "compile_error"
            return Verdict.reject(f"CE: {comp.message}", details=details)
        assert comp.binary is not None  # a successful compile has a binary
        # Inputs are generated once into the user cache and checked against the sha256 manifest.
        folder = inputs.input_dir(self.problem, self.case_set, progress=self.progress is not None)
        index = {seed: k for k, seed in enumerate(self.seeds)}

        def input_text(seed: int) -> str:
            return (folder / f"{index[seed]:04d}.txt").read_text()

        hw_before = judge.hardware()
        cases = judge.judge(
            comp.binary,
            self.seeds,
            input_text,
            self.scorer,
            jobs=self.jobs,
            stop_on_fail=self.stop_on_fail,
            progress=self.progress,
        )
        hw_after = judge.hardware()
        hardware = {
            "cpu_model": hw_before["cpu_model"],
            "cores": hw_before["cores"],
            "loadavg_before": hw_before["loadavg"],
            "loadavg_after": hw_after["loadavg"],
            "concurrent_cases": max(1, min(self.jobs or hw_before["cores"], hw_before["cores"])),
        }
        accepted = [c for c in cases if c.verdict == "AC"]
        total = sum(c.score for c in accepted)
        first = cases[0] if cases else None
        if first is not None and first.verdict == "AC" and first.output is not None:
            details["picture_case"] = {"seed": first.seed, "output": first.output}
        if first is not None and first.isolation:
            details["isolation"] = first.isolation
        details.update(
            {
                "cases": [{k: v for k, v in c.to_dict().items() if k not in ("output", "isolation")} for c in cases],
                "n_cases": len(self.seeds),
                "accepted_count": len(accepted),
            }
        )
        failing = next((c for c in cases if c.verdict not in ("AC", "NR")), None)
        if failing is not None:
            status, kind = _STATUS.get(failing.verdict, ("error", "unknown"))
            details.update({"kind": kind, "total": 0, "mean": 0.0})
            msg = f"case {failing.index} (seed {failing.seed}): {failing.verdict}: {failing.message}"
            return Verdict.reject(msg, status=status, details=details, hardware=hardware)
        mean = total / len(cases)
        details.update({"total": total, "mean": mean})
        if self.comparable and self.problem == "ahc039":
            from verifiers.atcoder.standings import for_problem

            place = for_problem("ahc039").place(total)
            details["estimated_rank"] = place.rank
            details["estimated_performance"] = place.performance
        label = "" if self.comparable else " (not comparable to the standings)"
        msg = f"accepted: total {total:,} over {self.case_set} (mean {mean:.2f}){label}"
        if "estimated_rank" in details:
            msg += f"; estimated rank {details['estimated_rank']}, performance {details['estimated_performance']}"
        return Verdict.accept(total, msg, details=details, hardware=hardware)


def _stderr_progress(case: judge.CaseResult, done: int, total: int) -> None:
    end = "\n" if done == total else ""
    sys.stderr.write(f"\r  case {done:>3}/{total}: seed {case.seed:<6} {case.verdict:<3} {case.score:>10,}  {end}")
    sys.stderr.flush()
