"""Circle packing in the unit square, maximise Σr (docs/math.md#circle-packing), for n = 26 and n = 32.

Valid iff exactly n circles [x, y, r] of finite floats, r ≥ 0, every circle inside [0, 1]² and
no two overlapping — all decided in exact rationals with zero tolerance. Score = Σr exactly.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from verifiers.math import _parse
from verifiers.math.base import MathVerifier
from verifiers.verdict import Verdict


def _f(x: Fraction) -> float:
    """float(x), or ±inf where the exact value is beyond the float range (for messages only)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _len(x: Fraction) -> str:
    v = _f(x)
    return f"{v:.2g}" if math.isfinite(v) else "more than 1.8e+308"


def pair_gap_estimate(D: Fraction, s: Fraction) -> float:
    """Signed gap √D − s as a float (negative = overlap depth), for messages and details. Exact
    inputs can exceed the float range (a centre at 1e308): the estimate is then ±inf."""
    try:
        root = math.sqrt(D)
        if s == 0:
            return root
        # (D − s²) / (√D + s) is accurate even when the gap is tiny relative to s.
        return _f((D - s * s) / (Fraction(root) + s)) if D > 0 else -_f(s)
    except OverflowError:
        return math.inf if D >= s * s else -math.inf


class CirclePackingVerifier(MathVerifier):
    name = "circle_packing"
    version = "1"
    result_cap = 64 << 10
    minimise = False
    items_per_element = 3

    def __init__(self, n: int = 26, **kw: Any) -> None:
        if n not in (26, 32):
            raise ValueError("circle packing is defined for n = 26 or n = 32")
        super().__init__(**kw)
        self.n = n
        self.n_max = n
        self.problem_id = f"CirclePacking{n}-v0"
        self.convert = {"kind": "tuples", "n": n, "width": 3}

    def _parse(self, construction: Any) -> list[tuple[float, float, float]]:
        return _parse.triples(construction, self.n)

    def _canonical(self, circles: list[tuple[float, float, float]]) -> list[list[float]]:
        return [list(c) for c in circles]

    def _check_and_score(self, circles: list[tuple[float, float, float]], details: dict[str, Any]) -> Verdict:
        n = len(circles)
        details["n"] = n
        for i, (_, _, radius) in enumerate(circles):
            if not radius >= 0.0:
                return Verdict.reject(
                    f"circle {i} has negative radius r = {radius!r}; radii must be ≥ 0", details=details
                )
        F = [(Fraction(x), Fraction(y), Fraction(r)) for x, y, r in circles]
        # Every violation is measured as a length (how far a circle sticks out, or an upper bound on
        # the overlap depth). The message names the worst one of each kind, the worse kind first.
        worst_out: tuple[Fraction, str] | None = None
        worst_overlap: tuple[Fraction, str] | None = None
        min_slack: Fraction | None = None
        min_slack_at: tuple[int, str] | None = None
        for i, (x, y, r) in enumerate(F):
            for side, slack in (("left", x - r), ("right", 1 - x - r), ("bottom", y - r), ("top", 1 - y - r)):
                if min_slack is None or slack < min_slack:
                    min_slack, min_slack_at = slack, (i, side)
                if not slack >= 0 and (worst_out is None or -slack > worst_out[0]):
                    worst_out = (
                        -slack,
                        f"circle {i} sticks out of the unit square on the {side} side by "
                        f"{_len(-slack)} (exact check, no tolerance); shrink its radius or move it inside",
                    )
        min_gap, min_gap_at = None, None
        for i in range(n):
            xi, yi, ri = F[i]
            for j in range(i + 1, n):
                xj, yj, rj = F[j]
                D = (xi - xj) ** 2 + (yi - yj) ** 2
                s = ri + rj
                if not D - s * s >= 0:
                    depth = (s * s - D) / s  # an upper bound on the overlap depth s − √D
                    if worst_overlap is None or depth > worst_overlap[0]:
                        hint = (
                            "shrink radii by about 1e-12 (a rounding overlap)"
                            if depth < Fraction(1, 10**9)
                            else "shrink radii or move the circles apart"
                        )
                        worst_overlap = (
                            depth,
                            f"circles {i} and {j} overlap by {_len(depth)} (exact check, no tolerance); {hint}",
                        )
                else:
                    gap = pair_gap_estimate(D, s)
                    if min_gap is None or gap < min_gap:
                        min_gap, min_gap_at = gap, (i, j)
        found = sorted((v for v in (worst_out, worst_overlap) if v is not None), key=lambda v: -v[0])
        if found:
            return Verdict.reject("; and ".join(msg for _, msg in found), details=details)
        details["min_pair_gap"] = min_gap
        details["min_pair_gap_at"] = list(min_gap_at) if min_gap_at else None
        assert min_slack is not None and min_slack_at is not None  # exactly n ≥ 26 circles, four sides each
        details["min_boundary_slack"] = _f(min_slack)
        details["min_boundary_slack_at"] = list(min_slack_at)
        total = sum((r for _, _, r in F), Fraction(0))
        est = math.fsum(r for _, _, r in circles)
        details["float64_estimate"] = est
        details["float64_rel_diff"] = float(abs(Fraction(est) - total) / total) if total else 0.0
        return self._accept(total, details, f"Σr ≥ {{display}} (n={n})")
