"""Tests for verifiers.math.exact: exact rational scoring primitives (docs/math.md#exact-scoring,
docs/math.md#erdős-minimum-overlap, docs/math.md#autocorrelation-inequalities-ac1-and-ac2,
docs/math.md#adversarial-inputs).

Every asserted number comes from the published data files in ../shared/data/math, from hand
computation (spec docs/math.md#adversarial-inputs), or from a second exact route written here (direct O(n²) sums over
Fractions / Python ints, and the decimal module's own directed rounding), never from the code under
test.
"""

from __future__ import annotations

import decimal
import json
import math
import random
import sys
from fractions import Fraction
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from verifiers.math import exact as X

DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "math"


def _data_files(*prefixes: str) -> list:
    files = []
    if DATA_DIR.is_dir():
        # the original files and those added later in their own folder (added-2026-12-04/, README there)
        files = sorted(
            p for p in [*DATA_DIR.glob("*.json"), *DATA_DIR.glob("added-*/*.json")] if p.name.startswith(prefixes)
        )
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no data files in {DATA_DIR}"))]
    return [pytest.param(p, id=p.stem) for p in files]


# ------------------------------------------------------------------------------------------------
# Independent exact routes (direct O(n²) sums)
# ------------------------------------------------------------------------------------------------


def direct_conv(a: list[int], b: list[int]) -> list[int]:
    if not a or not b:
        return []
    return [
        sum(a[i] * b[k - i] for i in range(max(0, k - len(b) + 1), min(k, len(a) - 1) + 1))
        for k in range(len(a) + len(b) - 1)
    ]


def erdos_fraction(h: list[float]) -> tuple[Fraction, Fraction, int]:
    """(overlap, delta, argmax lag) with c_m = Σ_i h_i (1 − h_{i+m}) summed over Fractions."""
    n = len(h)
    q = [Fraction(x) for x in h]
    c = {m: sum((q[i] * (1 - q[i + m]) for i in range(n) if 0 <= i + m < n), Fraction(0)) for m in range(-(n - 1), n)}
    best = max(c.values())
    lag = min((m for m in c if c[m] == best), key=lambda m: (abs(m), m))
    total = sum(q, Fraction(0))
    return 2 * best / n, abs(2 * total / n - 1), lag


def autoconv_fraction(a: list[float]) -> tuple[list[Fraction], Fraction]:
    q = [Fraction(x) for x in a]
    n = len(q)
    c = [
        sum((q[i] * q[k - i] for i in range(max(0, k - n + 1), min(k, n - 1) + 1)), Fraction(0))
        for k in range(2 * n - 1)
    ]
    return c, sum(q, Fraction(0))


def ac1_fraction(a: list[float]) -> Fraction:
    c, s = autoconv_fraction(a)
    return 2 * len(a) * max(c) / (s * s)


def ac2_fraction(a: list[float]) -> Fraction:
    c, s = autoconv_fraction(a)
    num = 2 * sum(x * x for x in c) + sum(c[k] * c[k + 1] for k in range(len(c) - 1))
    return num / (3 * s * s * max(c))


def decimal_sig(x: Fraction, digits: int, up: bool) -> str:
    """format_sig's contract via the decimal module's own directed rounding (second route)."""
    if x == 0:
        return "0." + "0" * (digits - 1) if digits > 1 else "0"
    ctx = decimal.Context(
        prec=digits,
        rounding=decimal.ROUND_CEILING if up else decimal.ROUND_FLOOR,
        Emax=decimal.MAX_EMAX,
        Emin=decimal.MIN_EMIN,
    )
    d = ctx.divide(decimal.Decimal(x.numerator), decimal.Decimal(x.denominator))
    wide = decimal.Context(prec=digits + 5, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
    d = d.quantize(decimal.Decimal(1).scaleb(d.adjusted() - digits + 1), context=wide)
    return format(d, "f")


# ------------------------------------------------------------------------------------------------
# Strategies
# ------------------------------------------------------------------------------------------------

# Values in [0, 1] over many binades: zeros (both signs), the smallest subnormal, subnormals,
# ordinary floats, and mantissa·2^e with e from -1074 up.
unit_floats = st.one_of(
    st.sampled_from([0.0, -0.0, 5e-324, 1.0, 0.5, 2.2250738585072014e-308]),
    st.floats(min_value=0.0, max_value=1.0, allow_subnormal=True),
    st.builds(math.ldexp, st.integers(1, 2**53 - 1), st.integers(-1130, -53)),
)

# Values in [0, 1e6] for AC, again over many binades.
ac_floats = st.one_of(
    unit_floats,
    st.floats(min_value=0.0, max_value=1e6, allow_subnormal=True),
    st.builds(math.ldexp, st.integers(1, 2**53 - 1), st.integers(-1100, -34)),
)

ac_lists = st.lists(ac_floats, min_size=1, max_size=9).filter(lambda a: max(a) > 0)

big_ints = st.one_of(
    st.integers(0, 3),
    st.integers(0, 2**64),
    st.integers(0, 2**1100),
)


def pairs_h(ks: list[int], odd: bool, seed: int) -> list[float]:
    """Valid Erdős h with Σh = n/2 exactly: values 1/2 ± k·2^-40, plus a 1/2 if odd, shuffled."""
    h = [0.5 + k * 2.0**-40 for k in ks] + [0.5 - k * 2.0**-40 for k in ks] + ([0.5] if odd else [])
    random.Random(seed).shuffle(h)
    return h


pair_ks = st.lists(st.integers(-(2**39), 2**39), min_size=1, max_size=40)

# ------------------------------------------------------------------------------------------------
# 1. Published constructions in ../shared/data/math
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _data_files("erdos_", "ac1_", "ac2_"))
def test_sequence_files_reproduce_expected_values(path):
    data = json.loads(path.read_text())
    h = data["construction"]
    kind = path.name.split("_")[0]
    if kind == "erdos":
        score, up = X.erdos_exact(h).score, True
    elif kind == "ac1":
        score, up = X.ac1_exact(h).score, True
    else:
        score, up = X.ac2_exact(h).score, False
    value = X.round_outward(score, up)
    assert value == data["expected_value"]
    assert math.copysign(1.0, value) == 1.0
    assert X.format_sig(score, 20, up) == data["expected_value_decimal"]
    assert X.format_sig(score, 10, up) == data["expected_display"]


@pytest.mark.parametrize("path", _data_files("erdos_"))
def test_erdos_files_sum_deviation(path):
    """The README and spec docs/math.md#erdős-minimum-overlap: the published Erdős sums fall slightly below
    n/2 in exact arithmetic."""
    h = json.loads(path.read_text())["construction"]
    res = X.erdos_exact(h)
    exact_sum = sum((Fraction(x) for x in h), Fraction(0))
    assert res.sum_deviation == exact_sum - Fraction(len(h), 2)
    assert res.sum_deviation < 0
    assert res.delta == abs(2 * exact_sum / len(h) - 1)
    assert 0 < res.delta < Fraction(1, 10**16)
    assert res.score == res.overlap + res.delta


@pytest.mark.parametrize("path", _data_files("cp"))
def test_circle_packing_sums_round_and_format(path):
    data = json.loads(path.read_text())
    score = sum((Fraction(r) for _, _, r in data["construction"]), Fraction(0))
    assert X.round_outward(score, False) == data["expected_value"]
    assert X.format_sig(score, 20, False) == data["expected_value_decimal"]
    assert X.format_sig(score, 10, False) == data["expected_display"]


# ------------------------------------------------------------------------------------------------
# 2. Hand-computed tiny cases (spec docs/math.md#adversarial-inputs)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "h, expected",
    [
        ([0.5], Fraction(1, 2)),
        ([1.0, 0.0], Fraction(1)),
        ([0.0, 1.0, 1.0, 0.0], Fraction(1, 2)),
        ([0.5, 1.0, 0.5, 0.0], Fraction(5, 8)),
        ([0.25, 0.75, 0.75, 0.25], Fraction(13, 32)),
        ([1.0, 1.0, 0.0, 0.0], Fraction(1)),
    ]
    + [([0.5] * n, Fraction(1, 2)) for n in (2, 3, 7, 40, 301)],
)
def test_erdos_hand_cases(h, expected):
    res = X.erdos_exact(h)
    assert res.score == expected
    assert res.delta == 0 and res.sum_deviation == 0
    assert res.overlap == expected


def test_erdos_tolerance_case():
    """n = 100, h ≡ 1/2 except h_0 = 1/2 + ε: c_0 = 25 − ε² is the maximum (spec docs/math.md#adversarial-inputs)."""
    eps = Fraction(1, 2**45)
    h = [0.5] * 100
    h[0] = 0.5 + 2.0**-45
    res = X.erdos_exact(h)
    assert res.overlap == Fraction(1, 2) - eps**2 / 50
    assert res.delta == eps / 50
    assert res.sum_deviation == eps
    assert res.score == Fraction(1, 2) + (eps - eps**2) / 50
    assert res.argmax_lag == 0


def test_erdos_argmax_lag_sign_and_ties():
    # [1, 0]: c_1 = h_0 (1 − h_1) = 1 is the only maximum.
    assert X.erdos_exact([1.0, 0.0]).argmax_lag == 1
    assert X.erdos_exact([0.0, 1.0]).argmax_lag == -1
    # [0, 1, 1, 0]: c_m = 1 for m = ±1, ±2 and 0 otherwise; ties go to the smallest |m|, then m.
    assert X.erdos_exact([0.0, 1.0, 1.0, 0.0]).argmax_lag == -1


@pytest.mark.parametrize(
    "a, expected",
    [
        ([1.0, 0.0], Fraction(4)),
        ([1.0, 0.0, 1.0], Fraction(3)),
        ([1.0, 2.0], Fraction(16, 9)),
        ([1.0, 1.0, 0.0, 1.0], Fraction(16, 9)),
        ([2.0, 1.0, 1.0], Fraction(15, 8)),
        ([0.0, 0.0, 1.0, 0.0], Fraction(8)),
    ]
    + [([v] * n, Fraction(2)) for n in (1, 2, 5, 33) for v in (1.0, 0.3, 5e-324, 1e6)],
)
def test_ac1_hand_cases(a, expected):
    res = X.ac1_exact(a)
    assert res.score == expected
    assert res.n == len(a)


@pytest.mark.parametrize(
    "a, expected",
    [
        ([1.0, 0.0, 1.0], Fraction(1, 2)),
        ([1.0, 2.0], Fraction(43, 54)),
        ([1.0, 1.0, 0.0, 1.0], Fraction(20, 27)),
        ([2.0, 1.0, 1.0], Fraction(43, 60)),
        ([0.0, 0.0, 1.0, 0.0], Fraction(2, 3)),
        ([0.0, 7.5], Fraction(2, 3)),
    ]
    + [([v] * n, Fraction(2, 3)) for n in (1, 2, 5, 33) for v in (1.0, 0.3, 5e-324, 1e6)],
)
def test_ac2_hand_cases(a, expected):
    assert X.ac2_exact(a).score == expected


def test_ac_argmax_first_on_ties():
    # [1, 0, 1]: c = [1, 0, 2, 0, 1] -> 2.  [1, 0]: c = [1, 0, 0] -> 0.  Spike at 2: c_4 = 1 -> 4.
    assert X.ac1_exact([1.0, 0.0, 1.0]).argmax == 2
    assert X.ac1_exact([1.0, 0.0]).argmax == 0
    assert X.ac2_exact([0.0, 0.0, 1.0, 0.0]).argmax == 4
    # [1, 1, 0, 1]: c = [1, 2, 1, 2, 2, 0, 1], a three-way tie -> the first, 1.
    assert X.ac1_exact([1.0, 1.0, 0.0, 1.0]).argmax == 1
    assert X.ac2_exact([1.0, 1.0, 0.0, 1.0]).argmax == 1


def test_ac_internal_check_raises_on_a_wrong_convolution():
    with mock.patch.object(X, "autoconvolve_int", lambda a: [0] * (2 * len(a) - 1)):
        with pytest.raises(AssertionError):
            X.ac1_exact([1.0, 2.0])
        with pytest.raises(AssertionError):
            X.ac2_exact([1.0, 2.0])


# ------------------------------------------------------------------------------------------------
# int_scale
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, expected",
    [
        ([], ([], 0)),
        ([0.0, -0.0], ([0, 0], 0)),
        ([0.5, 0.25], ([2, 1], -2)),
        ([3.0, 6.0], ([3, 6], 0)),
        ([4.0, 8.0, 0.0], ([1, 2, 0], 2)),
        ([5e-324], ([1], -1074)),
        ([1.0, 5e-324], ([2**1074, 1], -1074)),
        ([1e6], ([15625], 6)),
    ],
)
def test_int_scale_examples(values, expected):
    assert X.int_scale(values) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(ac_floats, max_size=12))
def test_int_scale_is_exact_and_maximal(values):
    ints, e = X.int_scale(values)
    assert len(ints) == len(values)
    assert all(isinstance(x, int) and x >= 0 for x in ints)
    for v, x in zip(values, ints):
        assert Fraction(v) == x * Fraction(2) ** e
    if any(ints):
        assert any(x % 2 for x in ints)  # no common factor of two left
    else:
        assert e == 0


# ------------------------------------------------------------------------------------------------
# 3. convolve_int against a direct double loop, on every internal route
# ------------------------------------------------------------------------------------------------

ROUTES = {
    "default": {},
    "kronecker-decimal": {"_DIRECT_MAX_PRODUCT": -1},
    "kronecker-binary": {"_DIRECT_MAX_PRODUCT": -1, "_DECIMAL_MAX_SLOT_DIGITS": 0},
}


def _route(name):
    patches = [mock.patch.object(X, k, v) for k, v in ROUTES[name].items()]

    class _Ctx:
        def __enter__(self):
            for p in patches:
                p.start()

        def __exit__(self, *exc):
            for p in reversed(patches):
                p.stop()

    return _Ctx()


@pytest.mark.parametrize("route", list(ROUTES))
@settings(max_examples=60, deadline=None)
@given(a=st.lists(big_ints, max_size=30), b=st.lists(big_ints, max_size=30))
def test_convolve_int_matches_direct(route, a, b):
    expected = direct_conv(a, b)
    with _route(route):
        assert X.convolve_int(a, b) == expected
        assert X.autoconvolve_int(a) == direct_conv(a, a)


@pytest.mark.parametrize("route", list(ROUTES))
def test_convolve_int_larger_random(route):
    rng = random.Random(1234)
    for la, lb, bits in [(300, 200, 60), (257, 1, 8), (1, 500, 1100), (120, 120, 3000), (90, 1, 0)]:
        a = [rng.getrandbits(bits) if bits else 0 for _ in range(la)]
        b = [rng.getrandbits(bits) if rng.random() < 0.7 else 0 for _ in range(lb)]
        a[0] = (1 << bits) - 1 if bits else 0  # the maximum value exactly: slot widths are tight
        with _route(route):
            assert X.convolve_int(a, b) == direct_conv(a, b)
            assert X.autoconvolve_int(b) == direct_conv(b, b)


def test_convolve_int_slot_width_worst_case():
    """All entries at their maximum: the middle coefficient is min(len)·max(a)·max(b)."""
    for m in [9, 10**19 - 1, 2**64 - 1, 10**40]:
        a = [m] * 40
        b = [m] * 25
        c = X.convolve_int(a, b)
        assert max(c) == 25 * m * m
        assert c == direct_conv(a, b)
        assert X.autoconvolve_int(a) == direct_conv(a, a)


def test_convolve_int_huge_ints_no_str_digit_limit():
    """Slots wider than CPython's 4300-digit int/str limit still work, without changing it."""
    limit = sys.get_int_max_str_digits()
    rng = random.Random(7)
    a = [rng.getrandbits(20_000) for _ in range(20)]
    b = [rng.getrandbits(20_000) for _ in range(17)]
    assert X.convolve_int(a, b) == direct_conv(a, b)
    assert X.autoconvolve_int(a) == direct_conv(a, a)
    assert sys.get_int_max_str_digits() == limit


def test_convolve_int_empty_and_zero():
    assert X.convolve_int([], [1, 2]) == []
    assert X.autoconvolve_int([]) == []
    assert X.convolve_int([0] * 50, [3] * 40) == [0] * 89
    assert X.autoconvolve_int([0] * 60) == [0] * 119


# ------------------------------------------------------------------------------------------------
# 3b. Scores against direct Fraction sums (random data, subnormals, many binades)
# ------------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.lists(unit_floats, min_size=1, max_size=9))
def test_erdos_exact_matches_fraction_route(h):
    overlap, delta, lag = erdos_fraction(h)
    res = X.erdos_exact(h)
    assert res.overlap == overlap
    assert res.delta == delta
    assert res.score == overlap + delta
    assert res.sum_deviation == sum((Fraction(x) for x in h), Fraction(0)) - Fraction(len(h), 2)
    assert res.argmax_lag == lag


@settings(max_examples=80, deadline=None)
@given(ac_lists)
def test_ac_exact_matches_fraction_route(a):
    c, _ = autoconv_fraction(a)
    r1 = X.ac1_exact(a)
    r2 = X.ac2_exact(a)
    assert r1.score == ac1_fraction(a)
    assert r2.score == ac2_fraction(a)
    assert r1.argmax == r2.argmax == c.index(max(c))
    assert r1.n == r2.n == len(a)


@pytest.mark.parametrize("seed", range(3))
def test_scores_match_fraction_route_beyond_direct_threshold(seed):
    """n large enough that the Kronecker route is used, with wide-range data."""
    rng = np.random.default_rng(seed)
    n = 40
    a = np.exp(rng.uniform(np.log(1e-300), np.log(1e6), n))
    a[rng.integers(0, n, 5)] = 0.0
    a[0] = 5e-324
    a = a.tolist()
    assert X.ac1_exact(a).score == ac1_fraction(a)
    assert X.ac2_exact(a).score == ac2_fraction(a)
    h = [min(1.0, x) for x in a]
    overlap, delta, lag = erdos_fraction(h)
    res = X.erdos_exact(h)
    assert (res.overlap, res.delta, res.argmax_lag) == (overlap, delta, lag)


# ------------------------------------------------------------------------------------------------
# 4. Invariances, proven bounds, float64 agreement
# ------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=2.0**-900, max_value=1e4)),
        min_size=1,
        max_size=40,
    ),
    k=st.integers(-60, 60),
)
def test_ac_invariant_under_power_of_two_scaling_and_reversal(a, k):
    assume(max(a) > 0)
    scaled = [math.ldexp(x, k) for x in a]
    assert all(Fraction(s) == Fraction(x) * Fraction(2) ** k for s, x in zip(scaled, a))
    for fn in (X.ac1_exact, X.ac2_exact):
        base = fn(a).score
        assert fn(scaled).score == base
        assert fn(a[::-1]).score == base


@settings(max_examples=60, deadline=None)
@given(st.lists(unit_floats, min_size=1, max_size=40))
def test_erdos_invariant_under_reversal(h):
    res = X.erdos_exact(h)
    rev = X.erdos_exact(h[::-1])
    assert rev.score == res.score
    assert rev.overlap == res.overlap and rev.delta == res.delta
    assert abs(rev.argmax_lag) == abs(res.argmax_lag)


@settings(max_examples=60, deadline=None)
@given(ks=pair_ks, odd=st.booleans(), seed=st.integers(0, 2**32))
def test_erdos_pairs_never_cross_proven_bound(ks, odd, seed):
    h = pairs_h(ks, odd, seed)
    res = X.erdos_exact(h)
    assert res.sum_deviation == 0 and res.delta == 0
    assert res.score >= Fraction("0.379005")


@settings(max_examples=60, deadline=None)
@given(st.lists(ac_floats, min_size=1, max_size=60).filter(lambda a: max(a) > 0))
def test_ac_never_cross_proven_bounds(a):
    assert X.ac1_exact(a).score >= Fraction("1.28")
    assert X.ac2_exact(a).score <= 1


def _rel(est: float, exact: Fraction) -> float:
    return abs(Fraction(est) - exact) / exact


@pytest.mark.parametrize("n", [1, 2, 3, 17, 255, 256, 257, 700, 2000])
@pytest.mark.parametrize("kind", ["uniform", "spiky", "wide"])
def test_float64_estimates_agree_with_exact(n, kind):
    rng = np.random.default_rng(n * 7 + len(kind))
    if kind == "uniform":
        a = rng.random(n)
    elif kind == "spiky":
        a = rng.random(n) ** 8
        a[rng.integers(0, n)] = 1e6
    else:
        a = np.exp(rng.uniform(np.log(1e-300), np.log(1e6), n))
    a[0] = max(a[0], 1e-3)
    a = a.tolist()
    assert _rel(X.ac1_float64(a), X.ac1_exact(a).score) < 1e-10
    assert _rel(X.ac2_float64(a), X.ac2_exact(a).score) < 1e-10
    m = n // 2
    ks = rng.integers(-(2**39), 2**39, m).tolist()
    h = pairs_h(ks, n % 2 == 1, n)
    assert _rel(X.erdos_float64(h), X.erdos_exact(h).score) < 1e-10
    hu = np.clip(a, 0, 1).tolist()
    assert _rel(X.erdos_float64(hu), X.erdos_exact(hu).score) < 1e-10


@settings(max_examples=40, deadline=None)
@given(ac_lists)
def test_float64_estimates_agree_small_random(a):
    assert _rel(X.ac1_float64(a), X.ac1_exact(a).score) < 1e-10
    assert _rel(X.ac2_float64(a), X.ac2_exact(a).score) < 1e-10
    h = [min(1.0, x) for x in a]
    assert _rel(X.erdos_float64(h), X.erdos_exact(h).score) < 1e-10


# ------------------------------------------------------------------------------------------------
# 5. round_outward / format_sig
# ------------------------------------------------------------------------------------------------


def test_round_outward_by_hand():
    third = Fraction(1, 3)
    assert X.round_outward(third, False) == 0.3333333333333333
    assert X.round_outward(third, True) == 0.33333333333333337
    assert X.round_outward(Fraction(2, 3), False) == 0.6666666666666666
    assert X.round_outward(Fraction(2, 3), True) == 0.6666666666666667
    for exact in (Fraction(0.1), Fraction(1), Fraction(0), Fraction(5e-324), Fraction(3, 8)):
        assert X.round_outward(exact, True) == float(exact) == X.round_outward(exact, False)
    # Below the smallest subnormal.
    tiny = Fraction(1, 2**1100)
    assert X.round_outward(tiny, True) == 5e-324
    assert X.round_outward(tiny, False) == 0.0
    # Just above 1: up moves to the next float, down stays at 1.
    above_one = 1 + Fraction(1, 2**60)
    assert X.round_outward(above_one, True) == 1.0000000000000002
    assert X.round_outward(above_one, False) == 1.0


@settings(max_examples=200, deadline=None)
@given(
    num=st.integers(0, 2**200),
    den=st.integers(1, 2**200),
    up=st.booleans(),
)
def test_round_outward_is_the_nearest_float_on_the_safe_side(num, den, up):
    x = Fraction(num, den)
    r = X.round_outward(x, up)
    if up:
        assert Fraction(r) >= x
        assert Fraction(math.nextafter(r, -math.inf)) < x or r == 0.0
    else:
        assert Fraction(r) <= x
        assert Fraction(math.nextafter(r, math.inf)) > x


@pytest.mark.parametrize(
    "x, digits, up, expected",
    [
        (Fraction(1, 3), 10, True, "0.3333333334"),
        (Fraction(1, 3), 10, False, "0.3333333333"),
        (Fraction(2, 3), 5, True, "0.66667"),
        (Fraction(2, 3), 5, False, "0.66666"),
        (Fraction("9.9999999995"), 10, True, "10.00000000"),
        (Fraction("9.9999999995"), 10, False, "9.999999999"),
        (Fraction("0.99999999999"), 10, True, "1.000000000"),
        (Fraction("0.5"), 10, True, "0.5000000000"),
        (Fraction("0.5"), 10, False, "0.5000000000"),
        (Fraction(2), 20, True, "2.0000000000000000000"),
        (Fraction(200000), 10, True, "200000.0000"),
        (Fraction(200000), 10, False, "200000.0000"),
        (Fraction(10**10), 10, True, "10000000000"),
        (Fraction(12345678901234), 10, True, "12345678910000"),
        (Fraction(12345678901234), 10, False, "12345678900000"),
        (Fraction(99999999999), 10, True, "100000000000"),
        (Fraction(99999999999), 10, False, "99999999990"),
        (Fraction(0), 10, True, "0.000000000"),
        (Fraction(0), 10, False, "0.000000000"),
        (Fraction(1, 10**30), 3, True, "0." + "0" * 29 + "100"),
        (Fraction(1, 10**30) + Fraction(1, 10**40), 3, True, "0." + "0" * 29 + "101"),
        (Fraction(1, 10**30) - Fraction(1, 10**40), 3, False, "0." + "0" * 30 + "999"),
        # The exact value of the smallest subnormal is 4.94065645841246544176568…e-324.
        (Fraction(5e-324), 20, True, "0." + "0" * 323 + "49406564584124654418"),
        (Fraction(5e-324), 20, False, "0." + "0" * 323 + "49406564584124654417"),
        (Fraction(1, 7), 1, True, "0.2"),
        (Fraction(7), 1, False, "7"),
        (Fraction(95), 1, True, "100"),
    ],
)
def test_format_sig_by_hand(x, digits, up, expected):
    assert X.format_sig(x, digits, up) == expected


def test_format_sig_spec_examples():
    # TTT-Discover Erdős (spec docs/math.md#erdős-minimum-overlap): score = 0.38087532321771879999…
    score = Fraction("0.380875323217718799995")
    assert X.format_sig(score, 20, True) == "0.38087532321771880000"
    assert X.format_sig(score, 10, True) == "0.3808753233"
    assert X.format_sig(score, 10, False) == "0.3808753232"


@settings(max_examples=200, deadline=None)
@given(
    num=st.integers(0, 10**45),
    den=st.integers(1, 10**45),
    digits=st.integers(1, 25),
    up=st.booleans(),
)
def test_format_sig_matches_decimal_directed_rounding(num, den, digits, up):
    x = Fraction(num, den)
    assert X.format_sig(x, digits, up) == decimal_sig(x, digits, up)


@settings(max_examples=100, deadline=None)
@given(x=st.floats(min_value=0.0, allow_infinity=False, allow_subnormal=True), up=st.booleans())
def test_format_sig_of_floats_is_outward(x, up):
    q = Fraction(x)
    s = X.format_sig(q, 20, up)
    assert s == decimal_sig(q, 20, up)
    assert (Fraction(s) >= q) if up else (Fraction(s) <= q)
