"""The math verifiers through their public API: published data, hand cases, properties, fuzz."""

import json
import math
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifiers import get_verifier
from verifiers.math.base import static_program_check

VERIFIERS = {
    "ErdosMinOverlap-v0": get_verifier("erdos_min_overlap"),
    "AutocorrelationAC1-v0": get_verifier("autocorrelation_ac1"),
    "AutocorrelationAC2-v0": get_verifier("autocorrelation_ac2"),
    "CirclePacking26-v0": get_verifier("circle_packing", n=26),
    "CirclePacking32-v0": get_verifier("circle_packing", n=32),
}
ERDOS, AC1, AC2 = (VERIFIERS[k] for k in ("ErdosMinOverlap-v0", "AutocorrelationAC1-v0", "AutocorrelationAC2-v0"))
CP26, CP32 = VERIFIERS["CirclePacking26-v0"], VERIFIERS["CirclePacking32-v0"]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _files(math_data):
    return sorted(math_data.glob("*.json"))


def test_every_published_construction_matches_its_expected_value(math_data):
    files = _files(math_data)
    assert len(files) == 14
    for f in files:
        text = f.read_text()
        doc = json.loads(text)
        v = VERIFIERS[doc["problem"]].verify(text)
        assert v.accepted, (f.name, v.message)
        assert v.score == doc["expected_value"], f.name  # bit for bit
        assert v.details["score_exact"] == doc["expected_value_decimal"], f.name
        assert v.details["display"] == doc["expected_display"], f.name
        assert v.details["artifact_kind"] == "json"
        assert v.details["float64_rel_diff"] < 1e-12
        # the bare construction gives the same verdict and the same canonical hash
        bare = VERIFIERS[doc["problem"]].verify(json.dumps(doc["construction"]))
        assert bare.score == v.score and bare.details["construction_sha256"] == v.details["construction_sha256"]


def _exact_score(v, construction):
    return v.verify(json.dumps(construction))


@pytest.mark.parametrize(
    "h,expected",
    [
        ([0.5] * 7, Fraction(1, 2)),
        ([0.5], Fraction(1, 2)),
        ([1, 0], Fraction(1)),
        ([0, 1, 1, 0], Fraction(1, 2)),
        ([0.5, 1, 0.5, 0], Fraction(5, 8)),
        ([0.25, 0.75, 0.75, 0.25], Fraction(13, 32)),
        ([1, 1, 0, 0], Fraction(1)),
    ],
)
def test_erdos_hand_cases(h, expected):
    v = _exact_score(ERDOS, h)
    assert v.accepted and Fraction(v.score) == expected  # all dyadic: exactly representable


@pytest.mark.parametrize(
    "verifier,a,expected",
    [
        (AC1, [3.0] * 5, Fraction(2)),
        (AC1, [1, 0], Fraction(4)),
        (AC1, [1, 0, 1], Fraction(3)),
        (AC1, [1, 2], Fraction(16, 9)),
        (AC1, [1, 1, 0, 1], Fraction(16, 9)),
        (AC1, [2, 1, 1], Fraction(15, 8)),
        (AC1, [0, 0, 1, 0], Fraction(8)),
        (AC2, [0.7] * 6, Fraction(2, 3)),
        (AC2, [1, 0, 1], Fraction(1, 2)),
        (AC2, [1, 2], Fraction(43, 54)),
        (AC2, [1, 1, 0, 1], Fraction(20, 27)),
        (AC2, [2, 1, 1], Fraction(43, 60)),
        (AC2, [0, 0, 1, 0], Fraction(2, 3)),
    ],
)
def test_autocorrelation_hand_cases(verifier, a, expected):
    v = _exact_score(verifier, a)
    assert v.accepted
    s = Fraction(v.score)
    # rounded outward: up for AC1 (a minimised upper bound), down for AC2, by less than one ulp
    if verifier is AC1:
        assert expected <= s < expected + Fraction(math.ulp(float(expected)))
    else:
        assert expected - Fraction(math.ulp(float(expected))) < s <= expected


def test_erdos_tolerance_case_by_hand():
    eps = Fraction(1, 2**45)
    h = [0.5 + 2.0**-45] + [0.5] * 99
    v = _exact_score(ERDOS, h)
    exact = Fraction(1, 2) + (eps - eps * eps) / 50
    assert v.accepted
    assert Fraction(v.score) >= exact and Fraction(v.score) - exact < Fraction(math.ulp(0.5))
    # 20 significant digits, rounded up, computed here with integer arithmetic
    digits = -(-exact.numerator * 10**20 // exact.denominator)  # ceil(exact · 1e20)
    assert v.details["score_exact"] == "0." + str(digits)[:20]
    assert v.details["argmax_lag"] == 0


def _grid(nx, ny, r, count):
    return [[(2 * i + 1) * r, (2 * j + 1) * r, r] for j in range(ny) for i in range(nx)][:count]


def test_cp_grids_by_hand():
    assert Fraction(_exact_score(CP26, _grid(8, 4, 1 / 16, 26)).score) == Fraction(13, 8)
    assert Fraction(_exact_score(CP32, _grid(8, 4, 1 / 16, 32)).score) == Fraction(2)
    # 6 × 5 grid of r = 1/12 (30 circles, first 26): neighbours overlap by ~5.6e-17 in float64
    bad = _exact_score(CP26, _grid(6, 5, 1 / 12, 26))
    assert bad.status == "rejected" and "overlap" in bad.message and "shrink" in bad.message
    good = [[x, y, r - 1e-12] for x, y, r in _grid(6, 5, 1 / 12, 26)]
    v = _exact_score(CP26, good)
    assert v.accepted and v.details["min_pair_gap"] > 0 and v.details["min_boundary_slack"] > 0


@FAST
@given(st.integers(0, 2**32 - 1), st.sampled_from([26, 32]))
def test_cp_random_shrunk_packings_accepted_and_grown_rejected(seed, n):
    import numpy as np

    rng = np.random.default_rng(seed)
    pts, radii = [], []
    while len(pts) < n:  # a point outside every earlier circle, then its largest radius
        x, y = rng.uniform(0.01, 0.99, size=2)
        r = min(x, 1 - x, y, 1 - y)
        for (x2, y2), r2 in zip(pts, radii):
            r = min(r, math.hypot(x - x2, y - y2) - r2)
        if r <= 1e-9:
            continue
        pts.append((x, y))
        radii.append((r - 1e-12) * 0.999)
    circles = [[float(x), float(y), float(r)] for (x, y), r in zip(pts, radii)]
    verifier = CP26 if n == 26 else CP32
    v = _exact_score(verifier, circles)
    assert v.accepted, v.message
    assert v.score <= math.sqrt(n / math.pi)
    assert Fraction(v.score) <= sum(Fraction(c[2]) for c in circles)
    # grow the largest circle until it touches something: then strictly beyond is rejected
    k = int(np.argmax(radii))
    grown = [c[:] for c in circles]
    grown[k][2] = circles[k][2] + 0.5
    assert _exact_score(verifier, grown).status == "rejected"


def test_canonical_round_trip(math_data):
    text = (math_data / "cp32_alphaevolve2025.json").read_text()
    v1 = CP32.verify(text)
    canonical = json.dumps(v1.details["construction"], separators=(",", ":"))
    v2 = CP32.verify(canonical)
    assert v2.score == v1.score and v2.details["construction_sha256"] == v1.details["construction_sha256"]


def test_reported_score_is_ignored():
    v = ERDOS.verify(json.dumps({"construction": [0.5] * 4, "c5_bound": 0.1, "expected_value": 0.01}))
    assert v.accepted and v.score == 0.5


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@FAST
@given(json_values)
def test_fuzz_json_never_raises(value):
    text = json.dumps(value)
    for v in VERIFIERS.values():
        verdict = v.verify(text)
        assert verdict.status in ("accepted", "rejected")
        assert (verdict.score is None) == (not verdict.accepted)


@FAST
@given(st.text(max_size=200))
def test_fuzz_text_never_raises(text):
    verdict = ERDOS.verify(text)
    assert verdict.status in ("accepted", "rejected", "crashed", "timeout", "memory")


@pytest.mark.parametrize(
    "source,needle",
    [
        ("def run(budget_s, seed)\n    return []", "syntax error"),
        ("x = 1\n", "defines no top-level function run"),
        ("def run():\n    return [0.5]\n", "must accept the keyword arguments budget_s and seed"),
        ("def run(budget_s, seed):\n    return [0.5]\n" + "#" * (256 << 10), "limit is 256 KiB"),
        ("", "empty"),
    ],
)
def test_static_program_checks(source, needle):
    assert needle in static_program_check(source)
    assert needle in ERDOS.verify(source).message


def test_static_check_allows_kwargs_and_other_bindings():
    assert static_program_check("def run(**kw):\n    return [0.5]\n") is None
    assert static_program_check("def make():\n    return lambda budget_s, seed: [0.5]\nrun = make()\n") is None


def test_same_score_across_processes():
    import subprocess
    import sys

    code = (
        "import json; from verifiers import get_verifier; "
        "print(get_verifier('autocorrelation_ac2').verify(json.dumps([0.3, 1.7, 0.2, 5e-324, 0.9]))"
        ".details['score_exact'])"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(outs) == 1
    assert outs.pop().strip() == AC2.verify(json.dumps([0.3, 1.7, 0.2, 5e-324, 0.9])).details["score_exact"]


finite = st.floats(allow_nan=False, allow_infinity=False)


@FAST
@given(st.lists(st.tuples(finite, finite, finite), min_size=26, max_size=26))
def test_cp_any_finite_triples_give_a_verdict_not_an_error(circles):
    v = CP26.verify(json.dumps([list(c) for c in circles]))
    assert v.status in ("accepted", "rejected"), v.message
    if v.accepted:
        assert v.score <= math.sqrt(26 / math.pi)


@FAST
@given(st.lists(finite, min_size=1, max_size=50))
def test_sequences_of_any_finite_floats_give_a_verdict_not_an_error(values):
    for verifier in (ERDOS, AC1, AC2):
        v = verifier.verify(json.dumps(values))
        assert v.status in ("accepted", "rejected"), v.message


def test_circle_overlap_advice_fits_its_size():
    """A real overlap (0.3) is told to move the circles apart too; a rounding one (~1e-13) to shrink by ~1e-12."""
    import json

    import gymnasium as gym

    import tttd_envs  # noqa: F401

    env = gym.make("CirclePacking26-v0")
    env.reset(seed=0)
    rest = [[0.1 + 0.15 * (k % 6), 0.65 + 0.1 * (k // 6), 0.01] for k in range(24)]
    big = env.step(json.dumps({"construction": [[0.3, 0.3, 0.2], [0.5, 0.3, 0.2]] + rest}))[4]["verdict"].message
    assert "overlap by 0.3" in big and "move the circles apart" in big and "1e-12" not in big
    env.reset(seed=0)
    tiny = env.step(json.dumps({"construction": [[0.3, 0.3, 0.1], [0.5 - 1e-13, 0.3, 0.1]] + rest}))[4][
        "verdict"
    ].message
    assert "overlap by" in tiny and "shrink radii by about 1e-12" in tiny
