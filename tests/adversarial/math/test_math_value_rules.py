"""Value rules of the math problems (docs/math.md, "Adversarial inputs"): float32 normalisation, unsupported
return types, value ranges, the Erdős sum tolerance, the AC range/zero rules, subnormals, and exact
circle-packing geometry.

Expected scores are hand-computed or recomputed here with direct integer/Fraction sums (advhelpers).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import advhelpers as H
import numpy as np
import pytest
from advhelpers import CP_PROBLEMS, SEQUENCE_PROBLEMS, fixture, grid, returning, verifier

ALL = tuple(H.PROBLEMS)


def assert_rejected(verdict, *substrings: str) -> None:
    assert verdict.status == "rejected", (verdict.status, verdict.message)
    assert verdict.score is None and not verdict.accepted
    for s in substrings:
        assert s in verdict.message, (s, verdict.message)


def n_of(problem: str) -> int:
    return int(problem[2:])


# -- float32 normalisation ------------------------------------------------------------------------


def float32_fixture() -> list[float]:
    """Erdős h built and normalised in float32, then converted exactly to float64 (n = 600)."""
    rng = np.random.default_rng(3)
    h32 = rng.uniform(0.1, 0.9, 600).astype(np.float32)
    h32 = (h32 * np.float32(300) / h32.sum(dtype=np.float32)).astype(np.float32)
    return h32.astype(np.float64).tolist()


def test_float32_normalisation_rejected():
    h = float32_fixture()
    assert all(0 <= x <= 1 for x in h)
    _, delta = H.erdos_exact(h)
    assert Fraction(1, 10**8) < delta < Fraction(1, 10**7), float(delta)  # the spec's 1e-8 … 1e-7
    v = verifier("erdos").verify(json.dumps(h))
    sign = "+" if 2 * sum(Fraction(x) for x in h) > len(h) else "-"
    assert_rejected(v, f"∫h = 1 {sign} {float(delta):.2g}", "normalise in float64", "1e-9", "n/2 = 300")


def test_same_data_normalised_in_float64_accepted():
    h = np.array(float32_fixture())
    h = (h * 300 / h.sum()).tolist()
    overlap, delta = H.erdos_exact(h)
    assert delta <= Fraction(1, 10**9)
    v = verifier("erdos").verify(json.dumps({"construction": h}))
    H.assert_exact_score(v, overlap + delta, up=True)
    assert v.details["delta"] == float(delta)


def test_program_returning_the_float32_array():
    """A program returning the float32 array itself: conversion is exact, so the deviation is the
    float32 one and the verdict is the same rejection (never a silent float64 re-normalisation)."""
    src = fixture_src_float32()
    v = verifier("erdos").verify(src)
    _, delta = H.erdos_exact(float32_fixture())
    assert_rejected(v, f"{float(delta):.2g}", "normalise in float64")


def fixture_src_float32() -> str:
    return (
        "import numpy as np\n\n"
        "def run(budget_s, seed):\n"
        "    rng = np.random.default_rng(3)\n"
        "    h32 = rng.uniform(0.1, 0.9, 600).astype(np.float32)\n"
        "    return (h32 * np.float32(300) / h32.sum(dtype=np.float32)).astype(np.float32)\n"
    )


# -- unsupported types -------------------------------------------------------------------

UNSUPPORTED_SEQ = [
    ("np.array([0.5, 0.5], dtype=np.longdouble)", "unsupported dtype"),
    ("np.array([0.5, 0.5], dtype=complex)", "unsupported dtype"),
    ("np.array([0.5, 0.5], dtype=object)", "unsupported dtype"),
    ("[np.longdouble(0.5), 0.5]", "unsupported type"),
    ("[0.5 + 0j, 0.5]", "unsupported type"),
    ("[np.complex128(0.5), 0.5]", "unsupported type"),
    ("[decimal.Decimal('0.5'), 0.5]", "unsupported type"),
    ("[fractions.Fraction(1, 2), 0.5]", "unsupported type"),
]


@pytest.mark.parametrize("expr,needle", UNSUPPORTED_SEQ)
@pytest.mark.parametrize("problem", SEQUENCE_PROBLEMS)
def test_unsupported_types_sequence(problem, expr, needle):
    v = verifier(problem).verify(returning(expr, "import numpy as np, decimal, fractions"))
    assert_rejected(v, needle)


@pytest.mark.parametrize(
    "expr,needle",
    [
        ("np.full(({n}, 3), 0.01, dtype=np.longdouble)", "unsupported dtype"),
        ("np.full(({n}, 3), 0.01, dtype=complex)", "unsupported dtype"),
        ("np.full(({n}, 3), 0.01).astype(object)", "unsupported dtype"),
        ("[[fractions.Fraction(1, 2), 0.5, 0.0]] * {n}", "unsupported type"),
        ("[[decimal.Decimal('0.5'), 0.5, 0.0]] * {n}", "unsupported type"),
        ("[[np.longdouble(0.5), 0.5, 0.0]] * {n}", "unsupported type"),
    ],
)
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_unsupported_types_circles(problem, expr, needle):
    v = verifier(problem).verify(returning(expr.format(n=n_of(problem)), "import numpy as np, decimal, fractions"))
    assert_rejected(v, needle)


# -- lying subclasses ----------------------------------------------------------------------


@pytest.mark.parametrize("problem", SEQUENCE_PROBLEMS)
def test_float_subclass_with_lying_float(problem):
    assert_rejected(verifier(problem).verify(fixture("lying_float.py")), "unsupported type", "program.F")


@pytest.mark.parametrize("problem", SEQUENCE_PROBLEMS)
def test_list_subclass_with_custom_iter(problem):
    assert_rejected(verifier(problem).verify(fixture("lying_list.py")), "program.L")


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_lying_subclasses_in_circles(problem):
    n = n_of(problem)
    src_float = (
        "class F(float):\n    def __float__(self):\n        return 0.01\n\n"
        f"def run(budget_s, seed):\n    return [[0.5, 0.5, F(7.0)]] * {n}\n"
    )
    assert_rejected(verifier(problem).verify(src_float), "unsupported type", "program.F")
    src_list = (
        "class L(list):\n    def __iter__(self):\n        return iter([0.5, 0.5, 0.0])\n\n"
        f"def run(budget_s, seed):\n    return [L([7.0, 7.0, 7.0])] * {n}\n"
    )
    assert_rejected(verifier(problem).verify(src_list), "program.L")
    src_outer = f"class L(list):\n    pass\n\ndef run(budget_s, seed):\n    return L([[0.5, 0.5, 0.0]] * {n})\n"
    assert_rejected(verifier(problem).verify(src_outer), "program.L")


# -- generators, iterators, map -------------------------------------------------------------


@pytest.mark.parametrize(
    "name,needle",
    [
        ("generator_consumed_marker.py", "returned a generator; return a list"),
        ("map_consumed_marker.py", "returned a map; return a list"),
        ("iterator_consumed_marker.py", "return a list"),
    ],
)
@pytest.mark.parametrize("problem", ALL)
def test_lazy_results_are_not_consumed(problem, name, needle):
    v = verifier(problem).verify(fixture(name))
    assert_rejected(v, needle)
    assert "CONSUMED" not in v.details["stdout"] + v.details["stderr"]


# -- None -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src", ["def run(budget_s, seed):\n    h = [0.5] * 4\n", "def run(budget_s, seed):\n    return None\n"]
)
@pytest.mark.parametrize("problem", ALL)
def test_returns_none(problem, src):
    assert_rejected(verifier(problem).verify(src), "run() returned None")


# -- Erdős range -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index,value,needle",
    [
        (3, "-1e-300", "below 0"),
        (1, "1.0000000000000002", "above 1"),
        (2, "-5e-324", "below 0"),
        (0, "1e308", "above 1"),
    ],
)
def test_erdos_value_out_of_range(index, value, needle):
    items = ["0.25", "0.75", "0.75", "0.25"]
    items[index] = value
    v = verifier("erdos").verify("[" + ", ".join(items) + "]")
    assert_rejected(v, f"h[{index}] = {float(value)!r}", needle, "[0, 1]")
    # the same through a program: identical judgement (no clipping in the harness)
    src = returning("[" + ", ".join(items) + "]")
    assert_rejected(verifier("erdos").verify(src), f"h[{index}] = {float(value)!r}", needle)


def test_negative_zero_is_fine():
    v = verifier("erdos").verify("[0.25, 0.75, 0.75, 0.25, -0.0, 1.0]")
    overlap, delta = H.erdos_exact([0.25, 0.75, 0.75, 0.25, 0.0, 1.0])
    H.assert_exact_score(v, overlap + delta, up=True)
    assert v.details["construction"][4] == 0.0 and math.copysign(1, v.details["construction"][4]) == 1


# -- Erdős sum far off -------------------------------------------------------------------------


@pytest.mark.parametrize("value,needle", [(0.8, "∫h = 1 + 0.6"), (0.45, "∫h = 1 - 0.1")])
def test_erdos_sum_far_off(value, needle):
    v = verifier("erdos").verify(json.dumps([value] * 10))
    assert_rejected(v, needle, "n/2 = 5.0", "normalise in float64")
    # never rescaled: the same data through a program gets the same rejection
    assert_rejected(verifier("erdos").verify(returning(f"[{value}] * 10")), needle)


# -- the 1e-9 sum tolerance ---------------------------------------------------------------------

BASE8 = [0.25, 0.75, 0.75, 0.25, 0.5, 0.5, 0.5, 0.5]  # sum = 4 = n/2 exactly


def perturbed(rel: float) -> list[float]:
    h = list(BASE8)
    h[4] = 0.5 + rel * len(h) / 2  # changes 2Σh/n by about `rel`
    return h


@pytest.mark.parametrize("rel", [2e-9, -2e-9])
def test_sum_off_by_2e9_rejected(rel):
    h = perturbed(rel)
    _, delta = H.erdos_exact(h)
    assert Fraction(19, 10**10) < delta < Fraction(21, 10**10)
    v = verifier("erdos").verify(json.dumps(h))
    assert_rejected(v, f"∫h = 1 {'+' if rel > 0 else '-'} {float(delta):.2g}", "tolerance is 1e-9")


@pytest.mark.parametrize("rel", [1e-12, -1e-12, 9.9e-10])
def test_sum_off_within_tolerance_accepted_with_delta(rel):
    h = perturbed(rel)
    overlap, delta = H.erdos_exact(h)
    assert 0 < delta <= Fraction(1, 10**9)
    v = verifier("erdos").verify(json.dumps(h))
    H.assert_exact_score(v, overlap + delta, up=True)  # score = M(h) + δ exactly, rounded up
    assert v.details["delta"] == float(delta)
    assert v.details["sum_deviation"] == float(sum(Fraction(x) for x in h) - 4)
    assert H.round_decimal(overlap, 20, True) == __import__("decimal").Decimal(v.details["overlap_exact"])


# -- AC ranges and zero --------------------------------------------------------------------


@pytest.mark.parametrize("problem", ["ac1", "ac2"])
def test_ac_negative_value(problem):
    v = verifier(problem).verify("[1.0, 2.0, -1e-12, 1.0]")
    assert_rejected(v, "a[2] = -1e-12 is negative")
    assert_rejected(verifier(problem).verify(returning("np.array([1.0, 2.0, -1e-12, 1.0])")), "a[2]", "negative")
    assert_rejected(verifier(problem).verify("[1.0, -5e-324]"), "a[1]", "negative")


@pytest.mark.parametrize("problem", ["ac1", "ac2"])
def test_ac_value_above_1e6(problem):
    v = verifier(problem).verify("[1.0, 1e7, 1.0]")
    assert_rejected(v, "a[1] = 10000000.0", "above 10⁶", "scale-invariant")
    above = math.nextafter(1e6, math.inf)
    assert_rejected(verifier(problem).verify(json.dumps([1.0, above])), "a[1]", "above 10⁶")
    ok = verifier(problem).verify("[1e6, 1e6]")  # exactly 10⁶ is allowed: constant → 2 and 2/3
    H.assert_exact_score(ok, Fraction(2) if problem == "ac1" else Fraction(2, 3), up=problem == "ac1")


@pytest.mark.parametrize("text", ["[0.0, 0.0, 0.0]", "[-0.0, -0.0]", "[0, -0.0, 0.0]", "[0.0]"])
@pytest.mark.parametrize("problem", ["ac1", "ac2"])
def test_ac_identically_zero(problem, text):
    assert_rejected(verifier(problem).verify(text), "identically zero")


@pytest.mark.parametrize("problem", ["ac1", "ac2"])
def test_ac_identically_zero_program(problem):
    assert_rejected(verifier(problem).verify(returning("np.zeros(7)")), "identically zero")
    assert_rejected(verifier(problem).verify(returning("-np.zeros(7)")), "identically zero")


# -- subnormals and -0.0 -----------------------------------------------------------------------

SUBNORMAL_AC = [1.0, 5e-324, -0.0, 2.0, 1.1125369292536007e-308, 0.5, -0.0]


@pytest.mark.parametrize("problem", ["ac1", "ac2"])
def test_subnormals_and_negative_zero_accepted(problem):
    v = verifier(problem).verify(json.dumps(SUBNORMAL_AC))
    canonical = [0.0 if x == 0 else x for x in SUBNORMAL_AC]
    exact = H.ac1_exact(canonical) if problem == "ac1" else H.ac2_exact(canonical)
    H.assert_exact_score(v, exact, up=problem == "ac1")
    stored = v.details["construction"]
    assert stored == canonical and all(math.copysign(1, x) == 1 for x in stored)
    assert v.details["construction_sha256"] == H.canonical_sha(canonical)
    assert "-0.0" not in json.dumps(stored)


def test_subnormals_erdos():
    h = [0.5, 5e-324, 1.0, -0.0, 0.5, 1.0]  # Σh = 3 + 2^-1074: δ is tiny but not zero
    v = verifier("erdos").verify(json.dumps(h))
    canonical = [0.0 if x == 0 else x for x in h]
    overlap, delta = H.erdos_exact(canonical)
    assert 0 < delta < Fraction(1, 10**300)
    H.assert_exact_score(v, overlap + delta, up=True)
    assert v.details["construction_sha256"] == H.canonical_sha(canonical)


def test_subnormals_through_a_program():
    v = verifier("ac1").verify(returning(repr(SUBNORMAL_AC)))
    canonical = [0.0 if x == 0 else x for x in SUBNORMAL_AC]
    H.assert_exact_score(v, H.ac1_exact(canonical), up=True)
    assert v.details["construction_sha256"] == H.canonical_sha(canonical)


# -- circle packing -------------------------------------------------------------------------


def with_last_two(problem: str, a: list[float], b: list[float]) -> list[list[float]]:
    """The grid with its last two circles replaced (the top half of the square is empty)."""
    circles = [[(2 * i + 1) / 16, (2 * j + 1) / 16, 1 / 16] for j in range(3) for i in range(8)]  # rows 0–2
    circles += [[(2 * i + 1) / 16, 7 / 16, 1 / 16] for i in range(n_of(problem) - 26)]  # row 3 (CP32)
    return circles + [a, b]


def overlap_depth(a, b) -> Fraction:
    """The size the message reports (spec docs/math.md#circle-packing): (s² − D)/s, an upper bound on the depth s − √D
    (about twice the depth when the overlap is tiny)."""
    (xa, ya, ra), (xb, yb, rb) = [[Fraction(v) for v in c] for c in (a, b)]
    s = ra + rb
    return (s * s - ((xa - xb) ** 2 + (ya - yb) ** 2)) / s


def true_depth(a, b) -> float:
    """s − √D, to 60 digits."""
    import decimal

    ctx = decimal.Context(prec=60)
    (xa, ya, ra), (xb, yb, rb) = [[Fraction(v) for v in c] for c in (a, b)]
    D = (xa - xb) ** 2 + (ya - yb) ** 2
    s = ra + rb
    dec = lambda q: ctx.divide(decimal.Decimal(q.numerator), decimal.Decimal(q.denominator))
    return float(ctx.subtract(dec(s), ctx.sqrt(dec(D))))


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_negative_radius(problem):
    circles = grid(n_of(problem))
    circles[5][2] = -1e-18
    assert_rejected(verifier(problem).verify(json.dumps(circles)), "circle 5", "negative radius")
    circles[5][2] = -0.0  # -0.0 is a zero radius: allowed, contributes 0
    v = verifier(problem).verify(json.dumps(circles))
    H.assert_exact_score(v, H.BASE_SCORE[problem] - Fraction(1, 16), up=False)


@pytest.mark.parametrize("b", [[0.45 - 1e-9, 0.75, 0.1], [0.45, 0.75, 0.1 + 1e-9]], ids=["centre", "radius"])
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_overlap_by_1e9(problem, b):
    a = [0.25, 0.75, 0.1]
    n = n_of(problem)
    depth = overlap_depth(a, b)
    assert 0.9e-9 < true_depth(a, b) < 1.1e-9  # the circles really overlap by about 1e-9
    assert 1.9e-9 < float(depth) < 2.1e-9  # the reported bound (s² − D)/s is about twice that
    v = verifier(problem).verify(json.dumps(with_last_two(problem, a, b)))
    assert_rejected(v, f"circles {n - 2} and {n - 1} overlap by {float(depth):.2g}", "shrink radii")


@pytest.mark.parametrize(
    "b",
    [[0.5, 0.75, math.nextafter(0.125, 1)], [math.nextafter(0.5, 0), 0.75, 0.125]],
    ids=["radius_ulp", "centre_ulp"],
)
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_overlap_by_one_ulp(problem, b):
    a = [0.25, 0.75, 0.125]
    n = n_of(problem)
    depth = overlap_depth(a, b)
    assert 0 < true_depth(a, b) < 6e-17 and 0 < depth < Fraction(12, 10**17)
    v = verifier(problem).verify(json.dumps(with_last_two(problem, a, b)))
    assert_rejected(v, f"circles {n - 2} and {n - 1} overlap by {float(depth):.2g}", "shrink radii")
    # exactly tangent (no ulp) is valid; Σr computed by hand
    ok = verifier(problem).verify(json.dumps(with_last_two(problem, a, [0.5, 0.75, 0.125])))
    H.assert_exact_score(ok, Fraction(n - 2, 16) + Fraction(1, 4), up=False)


def lone_circle(problem: str, circle: list[float]) -> list[list[float]]:
    """n − 1 zero-radius circles at the centre, plus `circle` (index n − 1)."""
    return [[0.5, 0.5, 0.0]] * (n_of(problem) - 1) + [circle]


@pytest.mark.parametrize(
    "circle,side",
    [
        ([0.1 - 1e-9, 0.5, 0.1], "left"),
        ([0.9 + 1e-9, 0.5, 0.1], "right"),
        ([0.5, 0.1 - 1e-9, 0.1], "bottom"),
        ([0.5, 0.9 + 1e-9, 0.1], "top"),
    ],
)
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_outside_the_square_by_1e9(problem, circle, side):
    n = n_of(problem)
    v = verifier(problem).verify(json.dumps(lone_circle(problem, circle)))
    assert_rejected(v, f"circle {n - 1}", f"{side} side")
    x, y, r = (Fraction(c) for c in circle)
    excess = max(r - x, x + r - 1, r - y, y + r - 1)
    assert f"by {float(excess):.2g}" in v.message


@pytest.mark.parametrize(
    "circle,side",
    [
        ([1.5, 0.5, 0.0], "right"),
        ([-0.25, 0.5, 0.0], "left"),
        ([0.5, math.nextafter(1.0, 2), 0.0], "top"),
        ([0.5, -5e-324, 0.0], "bottom"),
    ],
)
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_centre_outside_with_zero_radius(problem, circle, side):
    v = verifier(problem).verify(json.dumps(lone_circle(problem, circle)))
    assert_rejected(v, f"circle {n_of(problem) - 1}", f"{side} side")


def tangent_packing(problem: str) -> list[list[float]]:
    """Rows 0–2 of the grid (24 circles of r = 1/16, tangent to each other and to three sides) and two
    circles of r = 1/4 at (1/4, 3/4) and (3/4, 3/4), tangent to each other and to three sides; CP32 adds
    six zero-radius circles on the boundary and between the big circles. Σr = 24/16 + 1/2 = 2."""
    circles = [[(2 * i + 1) / 16, (2 * j + 1) / 16, 1 / 16] for j in range(3) for i in range(8)]
    circles += [[0.25, 0.75, 0.25], [0.75, 0.75, 0.25]]
    if problem == "cp32":
        circles += [
            [0.0, 1.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.5, 1.0, 0.0],
            [0.0, 0.5, 0.0],
            [1.0, 0.5, 0.0],
            [0.5, 0.5, 0.0],
        ]
    return circles


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_exactly_tangent_dyadic_circles_accepted(problem):
    v = verifier(problem).verify(json.dumps(tangent_packing(problem)))
    H.assert_exact_score(v, Fraction(2), up=False)
    assert v.score == 2.0
    assert v.details["min_pair_gap"] == 0.0
    assert v.details["min_boundary_slack"] == 0.0


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_grid_initial_state_accepted(problem):
    v = verifier(problem).verify(json.dumps(grid(n_of(problem))))
    H.assert_exact_score(v, H.BASE_SCORE[problem], up=False)


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_duplicate_circle(problem):
    n = n_of(problem)
    circles = grid(n)
    circles[n - 1] = list(circles[0])
    assert_rejected(verifier(problem).verify(json.dumps(circles)), f"circles 0 and {n - 1} overlap")


def grid_5x5(problem: str) -> list[list[float]]:
    """The 5 × 5 grid with r = 0.1 at 0.1, 0.3, …, 0.9, plus small circles in the gaps to make n."""
    coords = (0.1, 0.3, 0.5, 0.7, 0.9)
    circles = [[x, y, 0.1] for x in coords for y in coords]
    gaps = [[x, y, 0.01] for x in (0.2, 0.4, 0.6, 0.8) for y in (0.2, 0.4, 0.6, 0.8)]
    return circles + gaps[: n_of(problem) - 25]


def worst_violations(circles) -> tuple[Fraction, Fraction]:
    F = [[Fraction(v) for v in c] for c in circles]
    overlap = max(overlap_depth(a, b) for i, a in enumerate(F) for b in F[i + 1 :] if a[2] + b[2] > 0)
    out = max(max(r - x, x + r - 1, r - y, y + r - 1) for x, y, r in F)
    return overlap, out


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_float_grid_5x5_rejected(problem):
    circles = grid_5x5(problem)
    overlap, out = worst_violations(circles)
    assert Fraction(1, 10**16) < overlap < Fraction(12, 10**17)  # neighbours overlap by 1.1e-16
    assert Fraction(27, 10**18) < out < Fraction(29, 10**18)  # fl(0.9) + fl(0.1) − 1 = 2.8e-17
    v = verifier(problem).verify(json.dumps(circles))
    assert_rejected(v, "exact check, no tolerance")


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_message_names_the_worst_violation_the_overlap(problem):
    # The worst violation is the 1.1e-16 overlap, not the 2.8e-17 containment excess (spec
    # docs/math.md#circle-packing): it must come first in the message.
    v = verifier(problem).verify(json.dumps(grid_5x5(problem)))
    assert_rejected(v, "overlap by 1.1e-16", "shrink radii")
    assert v.message.index("overlap") < v.message.find("sticks out") or "sticks out" not in v.message


@pytest.mark.parametrize("circle", [[0.5, 0.5, 1e308], [1e308, 0.5, 0.0], [0.5, 0.5, 5e-324 + 0.5000000000000001]])
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_huge_radius_or_centre(problem, circle):
    v = verifier(problem).verify(json.dumps(lone_circle(problem, circle)))
    assert_rejected(v, f"circle {n_of(problem) - 1}", "sticks out")
