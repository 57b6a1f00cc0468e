"""Exact rational scoring primitives for the math problems (docs/math.md#exact-scoring,
docs/math.md#erdős-minimum-overlap, docs/math.md#autocorrelation-inequalities-ac1-and-ac2).

Why exact: a score is a certified bound that must be bit-for-bit reproducible and must err only in
the safe direction, so it may not depend on FFT or summation order. Every float64 is a dyadic
rational, so a construction scales to non-negative integers over one power of two
(:func:`int_scale`). The convolutions then become integer convolutions, computed by Kronecker
substitution (:func:`convolve_int`): the integers are packed into one huge number with fixed-width
decimal slots, multiplied once with :mod:`decimal` (libmpdec multiplies huge operands with a
number-theoretic transform, much faster than CPython's Karatsuba), and read back slot by slot.
The formulas are then evaluated with Python ints and :class:`fractions.Fraction`.

Nothing here checks ranges: the verifiers validate first and pass lists of finite floats that
satisfy the problem's constraints. The float64 estimates at the end are cheap consistency checks
only; they never decide a score.
"""

from __future__ import annotations

import decimal
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = [
    "int_scale",
    "convolve_int",
    "autoconvolve_int",
    "round_outward",
    "format_sig",
    "ErdosExact",
    "erdos_exact",
    "AutocorrExact",
    "ac1_exact",
    "ac2_exact",
    "erdos_float64",
    "ac1_float64",
    "ac2_float64",
]

# Below this many elementary products (len(a) * len(b)) a schoolbook double loop is cheaper than
# building and parsing the packed operands.
_DIRECT_MAX_PRODUCT = 256

# Slots wider than this many decimal digits could hit CPython's int<->str digit limit (default 4300,
# sys.set_int_max_str_digits). The verifiers never get there (their slots are < 1,000 digits), but
# convolve_int accepts any ints, so wider slots use a binary packing with int.to_bytes/from_bytes,
# which has no such limit and needs no change to the interpreter-wide setting.
_DECIMAL_MAX_SLOT_DIGITS = 4000

_LOG10_2 = math.log10(2.0)


# --------------------------------------------------------------------------------------------
# Integer scaling
# --------------------------------------------------------------------------------------------


def int_scale(values: Sequence[float]) -> tuple[list[int], int]:
    """Return ``(ints, e)`` with ``values[i] == ints[i] * 2**e`` exactly.

    ``ints`` are non-negative Python ints (``-0.0`` gives 0) and ``e`` is as large as possible: the
    common power of two is removed, which keeps the packed slots as narrow as the data allow.
    All-zero (or empty) input gives ``([0, ...], 0)``. Negative values raise ValueError (the slot
    packing would silently give wrong results); inf/nan raise from ``float.as_integer_ratio``.
    """
    nums: list[int] = []
    twos: list[int] = []  # value = num / 2**two, two >= 0
    for v in values:
        p, q = float(v).as_integer_ratio()
        if p < 0:
            raise ValueError(f"int_scale needs non-negative values, got {v!r}")
        nums.append(p)
        twos.append(q.bit_length() - 1)
    if not any(nums):
        return [0] * len(nums), 0
    t_max = max(t for p, t in zip(nums, twos) if p)
    ints = [p << (t_max - t) if p else 0 for p, t in zip(nums, twos)]
    common = 0
    for x in ints:
        common |= x
    tz = (common & -common).bit_length() - 1  # trailing zero bits shared by every entry
    if tz:
        ints = [x >> tz for x in ints]
    return ints, tz - t_max


# --------------------------------------------------------------------------------------------
# Exact integer convolution by Kronecker substitution
# --------------------------------------------------------------------------------------------


def _decimal_context() -> decimal.Context:
    """A private context in which every product is exact; any rounding would raise."""
    return decimal.Context(
        prec=decimal.MAX_PREC,
        Emax=decimal.MAX_EMAX,
        Emin=decimal.MIN_EMIN,
        traps=[
            decimal.InvalidOperation,
            decimal.DivisionByZero,
            decimal.Overflow,
            decimal.Underflow,
            decimal.Inexact,
            decimal.Rounded,
        ],
    )


def _slot_digits(bound: int) -> int:
    """Decimal digits that surely hold every integer 0 <= x <= bound (an upper bound, from bits)."""
    return int(bound.bit_length() * _LOG10_2) + 2


def _pack_decimal(a: Sequence[int], width: int) -> decimal.Decimal:
    # Most significant slot first. Each str() is of one short int; the big number is built from a
    # digit string, which is linear, whereas Decimal(huge_int) would be quadratic.
    return decimal.Decimal("".join([str(x).zfill(width) for x in reversed(a)]))


def _unpack_decimal(product: decimal.Decimal, count: int, width: int) -> list[int]:
    digits = str(product)  # exponent 0, so plain digits (linear time)
    total = count * width
    if len(digits) < total:
        digits = digits.zfill(total)
    elif len(digits) > total:  # cannot happen: every coefficient fits its slot
        raise AssertionError("Kronecker product overflowed its slots")
    out = [int(digits[i : i + width]) for i in range(0, total, width)]
    out.reverse()
    return out


def _pack_binary(a: Sequence[int], nbytes: int) -> int:
    return int.from_bytes(b"".join([x.to_bytes(nbytes, "little") for x in a]), "little")


def _unpack_binary(product: int, count: int, nbytes: int) -> list[int]:
    raw = product.to_bytes(count * nbytes, "little")
    return [int.from_bytes(raw[i : i + nbytes], "little") for i in range(0, count * nbytes, nbytes)]


def _convolve_direct(a: Sequence[int], b: Sequence[int]) -> list[int]:
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return out


def _kronecker(a: Sequence[int], b: Sequence[int] | None) -> list[int]:
    """Kronecker product of a and b (b=None: square a, reusing the packed operand)."""
    same = b is None
    bb = a if b is None else b
    count = len(a) + len(bb) - 1
    max_a = max(a)
    max_b = max_a if same else max(bb)
    if max_a == 0 or max_b == 0:
        return [0] * count
    # Largest possible coefficient: min(len) terms, each at most max(a)*max(b).
    bound = min(len(a), len(bb)) * max_a * max_b
    width = _slot_digits(bound)
    if width <= _DECIMAL_MAX_SLOT_DIGITS:
        ctx = _decimal_context()
        da = _pack_decimal(a, width)
        db = da if same else _pack_decimal(bb, width)
        return _unpack_decimal(ctx.multiply(da, db), count, width)
    nbytes = (bound.bit_length() + 7) // 8
    ia = _pack_binary(a, nbytes)
    ib = ia if same else _pack_binary(bb, nbytes)
    return _unpack_binary(ia * ib, count, nbytes)


def convolve_int(a: list[int], b: list[int]) -> list[int]:
    """Exact convolution of non-negative ints: ``len(a) + len(b) - 1`` entries ([] if one is empty).

    Kronecker substitution with decimal slots multiplied at ``prec=MAX_PREC`` (see module doc);
    tiny inputs use a direct double loop. The slot width comes from the actual maxima, so it is
    always wide enough; the product is checked not to spill over its slots.
    """
    if not a or not b:
        return []
    if len(a) * len(b) <= _DIRECT_MAX_PRODUCT:
        return _convolve_direct(a, b)
    return _kronecker(a, b)


def autoconvolve_int(a: list[int]) -> list[int]:
    """Exact ``a * a`` (``2*len(a) - 1`` entries); packs the operand once and squares it."""
    if not a:
        return []
    if len(a) * len(a) <= _DIRECT_MAX_PRODUCT:
        return _convolve_direct(a, a)
    return _kronecker(a, None)


# --------------------------------------------------------------------------------------------
# Outward rounding and formatting
# --------------------------------------------------------------------------------------------


def round_outward(x: Fraction, up: bool) -> float:
    """The float nearest to x on the safe side: ``>= x`` if up, ``<= x`` otherwise.

    Correctly rounded ``float(x)`` (Fraction divides its integers with correct rounding), then one
    ``math.nextafter`` step if that landed on the wrong side. The returned float is itself a valid
    bound, which is why scores are stored this way.
    """
    x = Fraction(x)
    f = float(x)
    if up:
        if f < x:
            f = math.nextafter(f, math.inf)
    elif f > x:
        f = math.nextafter(f, -math.inf)
    return f


def _floor_log10(x: Fraction) -> int:
    """k with 10**k <= x < 10**(k+1), for x > 0 (estimated from bit lengths, then corrected)."""
    k = math.floor((x.numerator.bit_length() - x.denominator.bit_length()) * _LOG10_2)
    while x >= Fraction(10) ** (k + 1):
        k += 1
    while x < Fraction(10) ** k:
        k -= 1
    return k


def format_sig(x: Fraction, digits: int, up: bool) -> str:
    """x rounded outward (up or down) to ``digits`` significant digits, in positional notation.

    Trailing zeros are kept so the string shows its precision (``'0.38087532321771880000'``).
    Numbers of ``10**digits`` or more print as integers whose low digits are zeros; 0 prints as
    ``'0.'`` followed by ``digits - 1`` zeros. Outward rounding keeps the string a valid bound.
    """
    if digits < 1:
        raise ValueError("digits must be >= 1")
    x = Fraction(x)
    if x < 0:
        raise ValueError("format_sig needs x >= 0")
    if x == 0:
        return "0." + "0" * (digits - 1) if digits > 1 else "0"
    k = _floor_log10(x)
    shift = digits - 1 - k  # x * 10**shift lies in [10**(digits-1), 10**digits)
    num, den = x.numerator, x.denominator
    if shift >= 0:
        num *= 10**shift
    else:
        den *= 10 ** (-shift)
    q, r = divmod(num, den)
    if up and r:
        q += 1
        if q == 10**digits:  # carry into a new leading digit: 9.99…95 -> 10.0…0
            q //= 10
            shift -= 1
    s = str(q)
    if shift <= 0:
        return s + "0" * (-shift)
    int_digits = digits - shift  # digits before the decimal point (may be <= 0)
    if int_digits > 0:
        return s[:int_digits] + "." + s[int_digits:]
    return "0." + "0" * (-int_digits) + s


# --------------------------------------------------------------------------------------------
# Erdős minimum overlap (spec docs/math.md#erdős-minimum-overlap)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErdosExact:
    """Exact Erdős quantities of one construction h_0..h_{n-1}."""

    overlap: Fraction  # M(h) = 2 * max_m c_m / n
    sum_deviation: Fraction  # sum(h) - n/2, signed
    delta: Fraction  # |2 * sum(h) / n - 1|
    score: Fraction  # overlap + delta: a valid upper bound on C5 (spec docs/math.md#erdős-minimum-overlap)
    argmax_lag: int  # lag m* in -(n-1)..n-1 of the maximal c_m (ties: smallest |m|, then smallest m)


def erdos_exact(h: Sequence[float]) -> ErdosExact:
    """Exact M(h), δ and score = M(h) + δ, with c_m = Σ_i h_i (1 − h_{i+m}).

    With H_i = h_i·2^E and G_i = 2^E − H_i (both non-negative ints), 4^E·c_m is the integer
    cross-correlation of H and G, i.e. the convolution of H with G reversed; entry k of that
    convolution is the lag m = n − 1 − k. Ties in max c_m are broken by the smallest |m|, then the
    smallest m, so the reported lag does not depend on the orientation of the list scan.
    """
    n = len(h)
    if n == 0:
        raise ValueError("erdos_exact needs at least one value")
    H, e = int_scale(h)
    big_e = -e  # h_i <= 1, so e <= 0 and 2**big_e is an integer
    one = 1 << max(big_e, 0)
    if big_e < 0 or max(H) > one:
        raise ValueError("erdos_exact needs 0 <= h_i <= 1")
    G_rev = [one - x for x in reversed(H)]
    corr = convolve_int(H, G_rev)
    best = max(corr)
    lag = min((n - 1 - k for k, c in enumerate(corr) if c == best), key=lambda m: (abs(m), m))
    scale = 1 << (2 * big_e)  # 4**E
    overlap = Fraction(2 * best, n * scale)
    total = Fraction(sum(H), one)
    sum_deviation = total - Fraction(n, 2)
    delta = abs(2 * total / n - 1)
    return ErdosExact(
        overlap=overlap,
        sum_deviation=sum_deviation,
        delta=delta,
        score=overlap + delta,
        argmax_lag=lag,
    )


# --------------------------------------------------------------------------------------------
# Autocorrelation inequalities AC1 / AC2 (spec docs/math.md#autocorrelation-inequalities-ac1-and-ac2)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutocorrExact:
    """Exact AC1 or AC2 score of one construction a_0..a_{n-1}."""

    score: Fraction
    argmax: int  # index k of the maximal c_k (the first one on ties)
    n: int


def _autoconv_checked(a: Sequence[float]) -> tuple[list[int], int]:
    """Integer autoconvolution c of a (scaled) and S = Σ A_i, checked by Σc == S² (a bug if not)."""
    if len(a) == 0:
        raise ValueError("needs at least one value")
    A, _ = int_scale(a)  # both scores are scale invariant: the power of two cancels
    S = sum(A)
    if S == 0:
        raise ValueError("the sequence is identically zero")
    c = autoconvolve_int(A)
    if sum(c) != S * S:
        raise AssertionError("exact autoconvolution failed its check sum(c) == S**2")
    return c, S


def _first_argmax(c: list[int]) -> tuple[int, int]:
    best = max(c)
    return best, c.index(best)


def ac1_exact(a: Sequence[float]) -> AutocorrExact:
    """AC1 upper bound 2n·max_k c_k / S², with c = a * a and S = Σa (exact for the step function)."""
    c, S = _autoconv_checked(a)
    best, k = _first_argmax(c)
    n = len(a)
    return AutocorrExact(score=Fraction(2 * n * best, S * S), argmax=k, n=n)


def ac2_exact(a: Sequence[float]) -> AutocorrExact:
    """AC2 lower bound (2·Σc_k² + Σc_k·c_{k+1}) / (3·S²·max_k c_k), the exact ‖f*f‖₂²/(‖f*f‖₁‖f*f‖∞)."""
    c, S = _autoconv_checked(a)
    best, k = _first_argmax(c)
    squares = sum(map(operator.mul, c, c))
    neighbours = sum(map(operator.mul, c, c[1:]))
    return AutocorrExact(score=Fraction(2 * squares + neighbours, 3 * S * S * best), argmax=k, n=len(a))


# --------------------------------------------------------------------------------------------
# float64 estimates (consistency checks only)
# --------------------------------------------------------------------------------------------

# Up to this length a direct numpy convolution is cheap and more accurate than an FFT.
_FLOAT_DIRECT_MAX = 256


def _convolve_f64(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if min(len(x), len(y)) <= _FLOAT_DIRECT_MAX:
        return np.convolve(x, y)
    count = len(x) + len(y) - 1
    size = 1 << (count - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(y, size), size)[:count]


def _normalised(a: Sequence[float]) -> np.ndarray:
    """a scaled by a power of two so that max(a) is in [0.5, 1): avoids float64 underflow of the
    products of tiny (even subnormal) inputs; the AC scores are scale invariant."""
    x = np.asarray(a, dtype=np.float64)
    _, ex = math.frexp(float(x.max()))
    return np.ldexp(x, -ex)


def erdos_float64(h: Sequence[float]) -> float:
    """float64 estimate of M(h) + δ (FFT cross-correlation for long inputs)."""
    x = np.asarray(h, dtype=np.float64)
    n = len(x)
    corr = _convolve_f64(x, (1.0 - x)[::-1])
    return float(2.0 * corr.max() / n + abs(2.0 * math.fsum(x.tolist()) / n - 1.0))


def ac1_float64(a: Sequence[float]) -> float:
    """float64 estimate of the AC1 score."""
    x = _normalised(a)
    c = _convolve_f64(x, x)
    s = math.fsum(x.tolist())
    return float(2.0 * len(x) * c.max() / (s * s))


def ac2_float64(a: Sequence[float]) -> float:
    """float64 estimate of the AC2 score."""
    x = _normalised(a)
    c = _convolve_f64(x, x)
    s = math.fsum(x.tolist())
    num = 2.0 * np.dot(c, c) + np.dot(c[:-1], c[1:])
    return float(num / (3.0 * s * s * c.max()))
