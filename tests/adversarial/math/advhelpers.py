"""Shared helpers for the adversarial math tests (docs/math.md#adversarial-inputs).

Every expected number here is computed independently of the code under test: direct O(n²) sums over
Python integers / Fractions, and the `decimal` module's own directed rounding.
"""

from __future__ import annotations

import decimal
import json
import math
import textwrap
import time
from fractions import Fraction
from pathlib import Path

from proc_helpers import live_pids_with_uid

from verifiers import get_verifier

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
REPO = HERE.parents[2]
DATA_DIR = (REPO / ".." / "shared" / "data" / "math").resolve()

#: problem key -> (registry name, kwargs)
PROBLEMS = {
    "erdos": ("erdos_min_overlap", {}),
    "ac1": ("autocorrelation_ac1", {}),
    "ac2": ("autocorrelation_ac2", {}),
    "cp26": ("circle_packing", {"n": 26}),
    "cp32": ("circle_packing", {"n": 32}),
}
SEQUENCE_PROBLEMS = ("erdos", "ac1", "ac2")
CP_PROBLEMS = ("cp26", "cp32")
PROBLEM_IDS = {
    "erdos": "ErdosMinOverlap-v0",
    "ac1": "AutocorrelationAC1-v0",
    "ac2": "AutocorrelationAC2-v0",
    "cp26": "CirclePacking26-v0",
    "cp32": "CirclePacking32-v0",
}
RESULT_CAPS = {"erdos": 1 << 20, "ac1": 8 << 20, "ac2": 8 << 20, "cp26": 64 << 10, "cp32": 64 << 10}


def verifier(problem: str, budget_s: float = 2.0, grace_s: float = 1.0, **kw):
    name, base = PROBLEMS[problem]
    return get_verifier(name, budget_s=budget_s, grace_s=grace_s, **base, **kw)


def prog(src: str) -> str:
    return textwrap.dedent(src).lstrip("\n")


def fixture(fixture_name: str, **subst: object) -> str:
    text = (FIXTURES / fixture_name).read_text()
    for key, value in subst.items():
        text = text.replace(f"__{key.upper()}__", str(value))
    return text


def returning(expr: str, imports: str = "import numpy as np") -> str:
    """A program whose run() returns `expr`."""
    return f"{imports}\n\ndef run(budget_s, seed):\n    return {expr}\n"


# ------------------------------------------------------------------------------------------------
# Valid base constructions with hand-computed exact scores (spec docs/math.md#adversarial-inputs)
# ------------------------------------------------------------------------------------------------


def grid(n: int) -> list[list[float]]:
    """The `grid` initial state: radius 1/16 at ((2i+1)/16, (2j+1)/16), row by row, first n of 8×4."""
    return [[(2 * i + 1) / 16, (2 * j + 1) / 16, 1 / 16] for j in range(4) for i in range(8)][:n]


def base_construction(problem: str):
    if problem == "erdos":
        return [0.25, 0.75, 0.75, 0.25]
    if problem in ("ac1", "ac2"):
        return [1.0, 2.0]
    return grid(int(problem[2:]))


#: hand-computed exact scores of base_construction (spec docs/math.md#adversarial-inputs)
BASE_SCORE = {
    "erdos": Fraction(13, 32),
    "ac1": Fraction(16, 9),
    "ac2": Fraction(43, 54),
    "cp26": Fraction(13, 8),
    "cp32": Fraction(2),
}
MINIMISE = {"erdos": True, "ac1": True, "ac2": False, "cp26": False, "cp32": False}


# ------------------------------------------------------------------------------------------------
# Independent exact scoring (direct sums over integers) and outward rounding
# ------------------------------------------------------------------------------------------------


def _to_ints(values: list[float]) -> tuple[list[int], int]:
    """Exact integers I_i and an exponent K with values[i] == I_i / 2**K."""
    ratios = [Fraction(v) for v in values]
    k = max(r.denominator.bit_length() - 1 for r in ratios)
    return [int(r * (1 << k)) for r in ratios], k


def erdos_exact(h: list[float]) -> tuple[Fraction, Fraction]:
    """(M(h), δ) with c_m = Σ_i h_i (1 − h_{i+m}), by direct sums."""
    n = len(h)
    H, k = _to_ints(h)
    one = 1 << k
    best = max(sum(H[i] * (one - H[i + m]) for i in range(n) if 0 <= i + m < n) for m in range(-(n - 1), n))
    overlap = Fraction(2 * best, n * one * one)
    delta = abs(Fraction(2 * sum(H), n * one) - 1)
    return overlap, delta


def autoconv(a: list[float]) -> tuple[list[int], int]:
    A, k = _to_ints(a)
    n = len(A)
    return [sum(A[i] * A[s - i] for i in range(max(0, s - n + 1), min(s, n - 1) + 1)) for s in range(2 * n - 1)], k


def ac1_exact(a: list[float]) -> Fraction:
    c, _ = autoconv(a)
    S2 = sum(c)  # Σc = S²
    return Fraction(2 * len(a) * max(c), S2)


def ac2_exact(a: list[float]) -> Fraction:
    c, _ = autoconv(a)
    S2 = sum(c)
    num = 2 * sum(x * x for x in c) + sum(c[i] * c[i + 1] for i in range(len(c) - 1))
    return Fraction(num, 3 * S2 * max(c))


def round_float(x: Fraction, up: bool) -> float:
    f = x.numerator / x.denominator  # int true division is correctly rounded
    if up and Fraction(f) < x:
        f = math.nextafter(f, math.inf)
    if not up and Fraction(f) > x:
        f = math.nextafter(f, -math.inf)
    return f


def round_decimal(x: Fraction, digits: int, up: bool) -> decimal.Decimal:
    ctx = decimal.Context(
        prec=digits, rounding=decimal.ROUND_CEILING if up else decimal.ROUND_FLOOR, Emax=10**6, Emin=-(10**6)
    )
    return ctx.divide(decimal.Decimal(x.numerator), decimal.Decimal(x.denominator))


def assert_exact_score(verdict, exact: Fraction, up: bool) -> None:
    assert verdict.status == "accepted", verdict.message
    assert verdict.score == round_float(exact, up), (verdict.score, float(exact))
    assert decimal.Decimal(verdict.details["score_exact"]) == round_decimal(exact, 20, up)
    assert decimal.Decimal(verdict.details["display"]) == round_decimal(exact, 10, up)


def canonical_sha(construction) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(construction, separators=(",", ":"), allow_nan=False).encode()).hexdigest()


# ------------------------------------------------------------------------------------------------
# Processes of a run (the sandbox child runs under a private uid reported in the Verdict)
# ------------------------------------------------------------------------------------------------


def run_uid(verdict) -> int | None:
    user = (verdict.details.get("isolation") or {}).get("user", "")
    return int(user.split()[1]) if isinstance(user, str) and user.startswith("uid ") else None


pids_with_uid = live_pids_with_uid


def assert_no_survivors(verdict, settle_s: float = 0.5) -> None:
    """No process of the run (its private uid) exists once the Verdict is back."""
    uid = run_uid(verdict)
    assert uid is not None, f"no private uid reported: {verdict.details.get('isolation')}"
    deadline = time.monotonic() + settle_s
    while True:
        left = pids_with_uid(uid)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert left == [], f"processes of the run survived: {left}"


def all_text(verdict) -> str:
    """Everything a Verdict carries, as one string (for leak checks)."""
    return verdict.message + "\n" + verdict.to_json()
