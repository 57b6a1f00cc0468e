"""Small artifacts whose scores the tests compute themselves, independently of the verifiers."""

import json
from decimal import Decimal
from fractions import Fraction


def cp26_grid(shrink: int = 0, count: int = 26) -> str:
    """``count`` circles at ((2i+1)/16, (2j+1)/16) on the 8 × 4 grid with radius 1/16 − shrink/2^30
    (dyadic: every check is exact). As JSON text."""
    r = 1 / 16 - shrink / 2**30
    pts = [[(2 * i + 1) / 16, (2 * j + 1) / 16, r] for j in range(4) for i in range(8)][:count]
    return json.dumps(pts)


def cp26_sum(shrink: int = 0) -> Fraction:
    return 26 * (Fraction(1, 16) - Fraction(shrink, 2**30))


def erdos_value(h: list[float]) -> Fraction:
    """M(h) = (2/n) · max_m Σ_i h_i (1 − h_{i+m}) + δ, δ = |2Σh/n − 1| (docs/math.md#erdős-minimum-overlap), in
    exact fractions, directly from the definition."""
    hs = [Fraction(x) for x in h]
    n = len(hs)
    best = max(sum(hs[i] * (1 - hs[i + m]) for i in range(n) if 0 <= i + m < n) for m in range(-(n - 1), n))
    delta = abs(2 * sum(hs) / n - 1)
    return Fraction(2, n) * best + delta


def sig(value: Fraction, digits: int, up: bool) -> Decimal:
    """``value`` (> 0) rounded outward — up for minimised problems, down for maximised ones — to
    ``digits`` significant digits, by integer arithmetic on the fraction."""
    assert value > 0
    e = len(str(value.numerator // value.denominator)) - 1 if value >= 1 else -1
    while Fraction(10) ** e > value:
        e -= 1
    unit = Fraction(10) ** (e - digits + 1)
    q = value / unit
    n = -((-q.numerator) // q.denominator) if up else q.numerator // q.denominator
    return Decimal(n).scaleb(e - digits + 1)
