"""Autocorrelation inequalities AC1 (upper bound on C1, minimised) and AC2 (lower bound on C2,
maximised) — docs/math.md#autocorrelation-inequalities-ac1-and-ac2

a_0..a_{n-1} ≥ 0 are the heights of a step function on [-1/4, 1/4]. Valid iff 1 ≤ n ≤ 100,000,
0 ≤ a_i ≤ 10⁶ exactly (never clipped) and max a > 0. Both objectives are scale-invariant and are
computed exactly from the integer autoconvolution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from verifiers.math import _parse
from verifiers.math.base import MathVerifier, rel_diff
from verifiers.verdict import Verdict

if TYPE_CHECKING:
    from verifiers.math.exact import AutocorrExact

N_MAX = 100_000
A_MAX = 1e6


class _AutocorrelationVerifier(MathVerifier):
    result_cap = 8 << 20
    n_max = N_MAX
    convert = {"kind": "sequence", "n_max": N_MAX}
    label = ""

    def _exact(self, a: list[float]) -> tuple[AutocorrExact, float]:
        """The exact score and its float64 estimate."""
        raise NotImplementedError

    def _parse(self, construction: Any) -> list[float]:
        return _parse.sequence(construction, N_MAX, "a")

    def _check_and_score(self, a: list[float], details: dict[str, Any]) -> Verdict:
        n = len(a)
        details["n"] = n
        for i, v in enumerate(a):
            if not 0.0 <= v:
                return Verdict.reject(
                    f"a[{i}] = {v!r} is negative; values must be ≥ 0 (nothing is clipped)", details=details
                )
            if not v <= A_MAX:
                return Verdict.reject(
                    f"a[{i}] = {v!r} is above 10⁶; the objective is scale-invariant, so divide by max(a)",
                    details=details,
                )
        if not max(a) > 0.0:
            return Verdict.reject(
                "the sequence is identically zero; at least one value must be positive", details=details
            )
        ex, est = self._exact(a)
        details["argmax"] = ex.argmax
        details["float64_estimate"] = est
        details["float64_rel_diff"] = rel_diff(est, ex.score)
        return self._accept(ex.score, details, f"{self.label} {{display}} (n={n})")


class AC1Verifier(_AutocorrelationVerifier):
    name = "autocorrelation_ac1"
    version = "1"
    problem_id = "AutocorrelationAC1-v0"
    minimise = True
    label = "C1 ≤"

    def _exact(self, a: list[float]) -> tuple[AutocorrExact, float]:
        from verifiers.math import exact

        return exact.ac1_exact(a), exact.ac1_float64(a)


class AC2Verifier(_AutocorrelationVerifier):
    name = "autocorrelation_ac2"
    version = "1"
    problem_id = "AutocorrelationAC2-v0"
    minimise = False
    label = "C2 ≥"

    def _exact(self, a: list[float]) -> tuple[AutocorrExact, float]:
        from verifiers.math import exact

        return exact.ac2_exact(a), exact.ac2_float64(a)
