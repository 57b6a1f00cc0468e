"""Erdős minimum overlap (docs/math.md#erdős-minimum-overlap): an upper bound on C5, minimised.

h_0..h_{n-1} is the step function on [0, 2) with n equal steps. Valid iff 1 ≤ n ≤ 10,000,
0 ≤ h_i ≤ 1 exactly and |∫h − 1| ≤ 1e-9. Score = M(h) + δ, exact, rounded up: a true bound.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from verifiers.math import _parse
from verifiers.math.base import MathVerifier, rel_diff
from verifiers.verdict import Verdict

SUM_TOLERANCE = Fraction(1, 10**9)
N_MAX = 10_000


class ErdosMinOverlapVerifier(MathVerifier):
    name = "erdos_min_overlap"
    version = "1"
    problem_id = "ErdosMinOverlap-v0"
    result_cap = 1 << 20
    n_max = N_MAX
    minimise = True
    convert = {"kind": "sequence", "n_max": N_MAX}

    def _parse(self, construction: Any) -> list[float]:
        return _parse.sequence(construction, N_MAX, "h")

    def _check_and_score(self, h: list[float], details: dict[str, Any]) -> Verdict:
        from verifiers.math import exact

        n = len(h)
        details["n"] = n
        for i, v in enumerate(h):
            if not 0.0 <= v:
                return Verdict.reject(f"h[{i}] = {v!r} is below 0; values must lie in [0, 1]", details=details)
            if not v <= 1.0:
                return Verdict.reject(f"h[{i}] = {v!r} is above 1; values must lie in [0, 1]", details=details)
        ex = exact.erdos_exact(h)
        details["sum_deviation"] = float(ex.sum_deviation)
        details["delta"] = float(ex.delta)
        if not ex.delta <= SUM_TOLERANCE:
            integral_dev = float(2 * ex.sum_deviation / n)
            total = float(Fraction(n, 2) + ex.sum_deviation)
            return Verdict.reject(
                f"∫h = 1 {'+' if integral_dev >= 0 else '-'} {abs(integral_dev):.2g} (sum(h) = {total!r}, should be "
                f"n/2 = {n / 2!r}); the tolerance is 1e-9: normalise in float64",
                details=details,
            )
        details["overlap_exact"] = exact.format_sig(ex.overlap, 20, up=True) if ex.overlap > 0 else "0"
        details["argmax_lag"] = ex.argmax_lag
        est = exact.erdos_float64(h)
        details["float64_estimate"] = est
        details["float64_rel_diff"] = rel_diff(est, ex.score)
        return self._accept(ex.score, details, f"C5 ≤ {{display}} (n={n})")
