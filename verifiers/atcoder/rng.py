"""Bit-exact Python port of the Rust RNG stack the AtCoder generators pin (docs/atcoder.md#generators).

The official AHC039 / AHC058 input generators (``tools/src/lib.rs``) use
``rand_chacha::ChaCha20Rng::seed_from_u64(seed)`` from rand 0.8.5, rand_core 0.6.4, rand_chacha 0.3.1
and rand_distr 0.4.3. This module reproduces exactly the parts they use:

* :func:`seed_from_u64`: rand_core 0.6.4 ``SeedableRng::seed_from_u64`` (a PCG32 stream expands the u64
  into the 32-byte key, docs/atcoder.md#generators);
* :class:`ChaCha20Rng`: rand_chacha 0.3.1, 20 rounds, 64-bit block counter, stream 0, ``next_u32`` /
  ``next_u64`` with rand_core's ``BlockRng`` semantics (docs/atcoder.md#generators);
* :class:`RustRng`: the ``Rng`` / distribution calls, named after the Rust ones: ``gen_range`` on integers
  (``UniformInt::sample_single_inclusive``, docs/atcoder.md#generators) and floats (``UniformFloat``,
  docs/atcoder.md#generators), ``gen_f64`` (``gen::<f64>()``), ``open01`` (``Open01``), ``choose_weighted``
  (``WeightedIndex``, docs/atcoder.md#generators), ``standard_normal`` / ``normal`` (rand_distr's ziggurat,
  docs/atcoder.md#generators);
* :func:`rust_round` (``f64::round``, half away from zero) and :func:`f64_as_i64` (``as i64``),
  docs/atcoder.md#generators

Floating-point expressions are evaluated in the same order as in Rust, one IEEE-754 rounding per
operation (CPython never fuses a multiply and an add). ``exp``, ``ln`` and ``powf`` go to the C library
as they do in Rust, so on glibc the results are identical; other C libraries may differ by one ulp on
rare arguments (the generators' sha256 manifests are the guard).

Ziggurat tables
---------------
:data:`ZIG_NORM_X` and :data:`ZIG_NORM_F` are rand_distr 0.4.3's ``ZIG_NORM_X`` / ``ZIG_NORM_F``
(``src/ziggurat_tables.rs``, https://github.com/rust-random/rand, tag ``rand_distr-0.4.3``), which the
crate generates with ``utils/ziggurat_tables.py`` (Doornik's ZIGNOR recipe). This module recomputes them
with that recipe, rounds each value through the crate's ``%.18f`` decimal literal, and applies the one
documented correction (F[94], whose crate literal is one ulp away from a glibc regeneration).
:data:`ZIG_NORM_X_SHA256` / :data:`ZIG_NORM_F_SHA256` are the checksums of the crate's tables (257
little-endian f64 each); tests assert them.

    Copyright 2018 Developers of the Rand project.
    Copyright 2013 The Rust Project Developers.
    The tables (and the algorithms ported here) are licensed under the Apache License, Version 2.0
    <https://www.apache.org/licenses/LICENSE-2.0> or the MIT license
    <https://opensource.org/licenses/MIT>, at your option (MIT OR Apache-2.0).
"""

from __future__ import annotations

import math
import struct
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Literal, Self, overload

try:  # numpy is a project dependency; the pure-Python block function is the fallback and reference.
    import numpy as _np
except ImportError:  # pragma: no cover - exercised only without numpy
    _np = None  # type: ignore[assignment]  # mypy cannot type an optional module import

__all__ = [
    "MASK32",
    "MASK64",
    "ChaCha20Rng",
    "RustRng",
    "UniformFloat",
    "WeightedIndex",
    "ZIG_NORM_F",
    "ZIG_NORM_F_SHA256",
    "ZIG_NORM_R",
    "ZIG_NORM_X",
    "ZIG_NORM_X_SHA256",
    "chacha20_block",
    "f64_as_i64",
    "f64_from_bits",
    "f64_to_bits",
    "into_float_with_exponent",
    "pcg32_key_words",
    "rust_round",
    "seed_from_u64",
    "ziggurat_tables",
]

MASK32 = 0xFFFF_FFFF
MASK64 = 0xFFFF_FFFF_FFFF_FFFF


# --------------------------------------------------------------------------------------------------
# f64 helpers
# --------------------------------------------------------------------------------------------------


def f64_from_bits(bits: int) -> float:
    """``f64::from_bits``."""
    x: float = struct.unpack("<d", struct.pack("<Q", bits & MASK64))[0]
    return x


def f64_to_bits(x: float) -> int:
    """``f64::to_bits``."""
    bits: int = struct.unpack("<Q", struct.pack("<d", x))[0]
    return bits


def into_float_with_exponent(v: int, exponent: int) -> float:
    """rand's ``IntoFloat::into_float_with_exponent`` for f64: bits ``((1023 + e) << 52) | v``, v < 2^52."""
    if not 0 <= v < (1 << 52):
        raise ValueError("mantissa must be in [0, 2^52)")
    return f64_from_bits(((1023 + exponent) << 52) | v)


def rust_round(x: float) -> float:
    """Rust ``f64::round``: round half away from zero (``-0.4`` gives ``-0.0``; NaN/inf unchanged).

    Not Python's ``round`` (half to even) and not ``floor(x + 0.5)`` (wrong for 0.49999999999999994).
    ``abs(x) - floor(abs(x))`` is exact in binary floating point, so the comparison with 0.5 is exact.
    """
    if x != x or x in (math.inf, -math.inf):
        return x
    a = abs(x)
    r = float(math.floor(a))
    if a - r >= 0.5:
        r += 1.0
    return math.copysign(r, x)


def f64_as_i64(x: float) -> int:
    """Rust ``x as i64``: truncate toward zero, saturate at the i64 bounds, NaN gives 0."""
    if x != x:
        return 0
    if x >= 9223372036854775807.0:  # 2^63 as f64
        return (1 << 63) - 1
    if x <= -9223372036854775808.0:
        return -(1 << 63)
    return int(x)


# --------------------------------------------------------------------------------------------------
# rand_core 0.6.4 SeedableRng::seed_from_u64
# --------------------------------------------------------------------------------------------------

_PCG_MUL = 6364136223846793005
_PCG_INC = 11634580027462260723


def _check_u64(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed <= MASK64:
        raise ValueError(f"seed must be a u64 (0 <= seed < 2^64), got {seed}")
    return seed


def pcg32_key_words(seed: int, n_words: int = 8) -> list[int]:
    """The PCG32 outputs rand_core uses to expand a u64 seed (state advanced before each output)."""
    state = _check_u64(seed)
    words = []
    for _ in range(n_words):
        state = (state * _PCG_MUL + _PCG_INC) & MASK64
        xorshifted = (((state >> 18) ^ state) >> 27) & MASK32
        rot = state >> 59
        words.append(((xorshifted >> rot) | (xorshifted << ((32 - rot) & 31))) & MASK32)
    return words


def seed_from_u64(seed: int) -> bytes:
    """rand_core 0.6.4 ``SeedableRng::seed_from_u64`` for a 32-byte seed: the ChaCha20 key bytes."""
    return struct.pack("<8I", *pcg32_key_words(seed, 8))


# --------------------------------------------------------------------------------------------------
# ChaCha20 (rand_chacha 0.3.1)
# --------------------------------------------------------------------------------------------------

_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"
_DOUBLE_ROUND = (
    (0, 4, 8, 12),
    (1, 5, 9, 13),
    (2, 6, 10, 14),
    (3, 7, 11, 15),  # columns
    (0, 5, 10, 15),
    (1, 6, 11, 12),
    (2, 7, 8, 13),
    (3, 4, 9, 14),  # diagonals
)


def chacha20_block(key_words: Sequence[int], counter: int, stream: int = 0) -> list[int]:
    """One ChaCha20 block (20 rounds) as 16 u32 words, pure Python.

    State: the 4 constants, the 8 key words, the 64-bit block counter (low word first) and the 64-bit
    stream id (rand_chacha's layout; stream 0 makes it IETF ChaCha20 with a zero nonce).
    """
    init = [*_SIGMA, *key_words, counter & MASK32, (counter >> 32) & MASK32, stream & MASK32, (stream >> 32) & MASK32]
    x = list(init)
    for _ in range(10):
        for a, b, c, d in _DOUBLE_ROUND:
            xa, xb, xc, xd = x[a], x[b], x[c], x[d]
            xa = (xa + xb) & MASK32
            xd ^= xa
            xd = ((xd << 16) | (xd >> 16)) & MASK32
            xc = (xc + xd) & MASK32
            xb ^= xc
            xb = ((xb << 12) | (xb >> 20)) & MASK32
            xa = (xa + xb) & MASK32
            xd ^= xa
            xd = ((xd << 8) | (xd >> 24)) & MASK32
            xc = (xc + xd) & MASK32
            xb ^= xc
            xb = ((xb << 7) | (xb >> 25)) & MASK32
            x[a], x[b], x[c], x[d] = xa, xb, xc, xd
    return [(x[i] + init[i]) & MASK32 for i in range(16)]


def _chacha20_blocks_numpy(key_words: Sequence[int], counter: int, n_blocks: int, stream: int = 0) -> list[int]:
    """``n_blocks`` consecutive ChaCha20 blocks starting at ``counter``, computed in 32-bit numpy lanes.

    Returns the keystream words in order (block after block), as Python ints.
    """
    np = _np
    u32 = np.uint32
    ctr = np.arange(counter, counter + n_blocks, dtype=np.uint64)
    init = [np.full(n_blocks, w, dtype=u32) for w in (*_SIGMA, *key_words)]
    init.append((ctr & np.uint64(MASK32)).astype(u32))
    init.append((ctr >> np.uint64(32)).astype(u32))
    init.append(np.full(n_blocks, stream & MASK32, dtype=u32))
    init.append(np.full(n_blocks, (stream >> 32) & MASK32, dtype=u32))
    x = [w.copy() for w in init]
    s16, s12, s8, s7 = u32(16), u32(12), u32(8), u32(7)
    r16, r20, r24, r25 = u32(16), u32(20), u32(24), u32(25)
    for _ in range(10):
        for a, b, c, d in _DOUBLE_ROUND:
            xa, xb, xc, xd = x[a], x[b], x[c], x[d]
            xa = xa + xb
            xd = xd ^ xa
            xd = (xd << s16) | (xd >> r16)
            xc = xc + xd
            xb = xb ^ xc
            xb = (xb << s12) | (xb >> r20)
            xa = xa + xb
            xd = xd ^ xa
            xd = (xd << s8) | (xd >> r24)
            xc = xc + xd
            xb = xb ^ xc
            xb = (xb << s7) | (xb >> r25)
            x[a], x[b], x[c], x[d] = xa, xb, xc, xd
    out = np.empty((n_blocks, 16), dtype=u32)
    for i in range(16):
        out[:, i] = x[i] + init[i]
    return out.ravel().tolist()


class ChaCha20Rng:
    """rand_chacha 0.3.1 ``ChaCha20Rng`` (stream 0) with rand_core's ``BlockRng`` ``next_u32``/``next_u64``.

    The crate buffers 4 blocks (64 words); ``next_u64`` takes the low half from the current word and the
    high half from the next one, refilling in between when it straddles the buffer end. The result is
    exactly the little-endian u32 keystream consumed in order with no skipped words, which is what this
    class does. It fills its buffer with a growing number of blocks (computed in bulk with numpy when
    available, else with the pure-Python block function); the buffer size never changes the output.
    """

    __slots__ = ("_key", "_stream", "_counter", "_buf", "_idx", "_consumed_before", "_chunk")

    _MAX_CHUNK_BLOCKS = 1024

    def __init__(self, key: bytes, stream: int = 0):
        if len(key) != 32:
            raise ValueError("ChaCha20 key must be 32 bytes")
        self._key = struct.unpack("<8I", key)
        self._stream = stream
        self._counter = 0  # next block to compute
        self._buf: list[int] = []
        self._idx = 0
        self._consumed_before = 0  # words in buffers already discarded
        self._chunk = 4  # rand_chacha's buffer is 4 blocks; grows on later refills

    @classmethod
    def from_seed(cls, seed: bytes) -> Self:
        """``SeedableRng::from_seed`` (the 32-byte key)."""
        return cls(bytes(seed))

    @classmethod
    def seed_from_u64(cls, seed: int) -> Self:
        """``ChaCha20Rng::seed_from_u64(seed)``."""
        return cls(seed_from_u64(seed))

    @property
    def key(self) -> bytes:
        return struct.pack("<8I", *self._key)

    @property
    def words_consumed(self) -> int:
        """How many u32 keystream words have been consumed so far."""
        return self._consumed_before + self._idx

    def _refill(self) -> None:
        n = self._chunk
        if _np is not None and n >= 8:
            words = _chacha20_blocks_numpy(self._key, self._counter, n, self._stream)
        else:
            words = []
            for k in range(n):
                words.extend(chacha20_block(self._key, self._counter + k, self._stream))
        self._counter += n
        self._consumed_before += len(self._buf)
        # Keep any unread words (only possible when a caller refills early; normally none are left).
        self._buf = self._buf[self._idx :] + words
        self._consumed_before -= len(self._buf) - len(words)
        self._idx = 0
        self._chunk = min(self._chunk * 4, self._MAX_CHUNK_BLOCKS)

    def next_u32(self) -> int:
        if self._idx >= len(self._buf):
            self._refill()
        w = self._buf[self._idx]
        self._idx += 1
        return w

    def next_u64(self) -> int:
        i = self._idx
        buf = self._buf
        if i + 1 >= len(buf):
            self._refill()
            i = self._idx
            buf = self._buf
        self._idx = i + 2
        return buf[i] | (buf[i + 1] << 32)

    def keystream_words(self, n: int) -> list[int]:
        """The next ``n`` u32 words (consumes them)."""
        return [self.next_u32() for _ in range(n)]


# --------------------------------------------------------------------------------------------------
# Ziggurat tables (rand_distr 0.4.3, see the module docstring for the licence notice)
# --------------------------------------------------------------------------------------------------

ZIG_TABLE_LEN = 256
ZIG_NORM_X_SHA256 = "7bc388aa829fd6869fb9b705f4b6d2879d0b220b3bc1cb7e7c1a4d1bfb0dfbb2"
ZIG_NORM_F_SHA256 = "cbce58dfa577bcd3c28186b603071fcf3bdbea24c32db14811133312ce7697f9"
# The one entry whose crate literal differs from a regeneration with Python 3 on glibc (by one ulp).
_ZIG_NORM_F_CORRECTIONS = {94: "0.206405406398679298"}


def ziggurat_tables() -> tuple[float, list[float], list[float]]:
    """Recompute (R, ZIG_NORM_X, ZIG_NORM_F) with rand's ``utils/ziggurat_tables.py`` recipe.

    Each value goes through the crate's ``%.18f`` decimal literal (Rust parses it to the nearest f64),
    then F[94] is set to the crate's literal.
    """
    r = 3.6541528853610088
    v = 0.00492867323399

    def f(x: float) -> float:
        return math.exp(-x * x / 2.0)

    def f_inv(y: float) -> float:
        return math.sqrt(-2.0 * math.log(y))

    xs = [0.0] * (ZIG_TABLE_LEN + 1)
    xs[0] = v / f(r)
    xs[1] = r
    for i in range(2, ZIG_TABLE_LEN):
        last = xs[i - 1]
        xs[i] = f_inv(v / last + f(last))
    xs[ZIG_TABLE_LEN] = 0.0
    fs = [f(x) for x in xs]

    def literal(x: float) -> float:
        return float(f"{x:.18f}")

    x_tab = [literal(x) for x in xs]
    f_tab = [literal(y) for y in fs]
    for i, lit in _ZIG_NORM_F_CORRECTIONS.items():
        f_tab[i] = float(lit)
    return literal(r), x_tab, f_tab


ZIG_NORM_R, _X, _F = ziggurat_tables()
ZIG_NORM_X: tuple[float, ...] = tuple(_X)
ZIG_NORM_F: tuple[float, ...] = tuple(_F)
del _X, _F


# --------------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------------

_MAX_RAND = 1.0 - 2.0**-52  # (u64::MAX >> 12).into_float_with_exponent(0) - 1.0
_TWO_M52 = 2.0**-52
_TWO_M51 = 2.0**-51
_TWO_M53 = 2.0**-53
_OPEN01_SUB = 1.0 - 2.0**-53  # 1.0 - EPSILON / 2.0


def _next_down(x: float) -> float:
    """``decrease_masked`` for a positive finite f64: the bits minus one."""
    return f64_from_bits(f64_to_bits(x) - 1)


class UniformFloat:
    """rand 0.8.5 ``UniformFloat<f64>``: ``new`` / ``new_inclusive`` / ``sample`` (docs/atcoder.md#generators)."""

    __slots__ = ("low", "scale")

    def __init__(self, low: float, scale: float):
        self.low = low
        self.scale = scale

    @classmethod
    def new(cls, low: float, high: float) -> UniformFloat:
        low, high = float(low), float(high)
        if not low < high:
            raise ValueError("UniformSampler::new: low >= high")
        scale = high - low
        if not math.isfinite(scale):
            raise ValueError("UniformSampler::new: range overflow")
        while scale * _MAX_RAND + low >= high:
            scale = _next_down(scale)
        return cls(low, scale)

    @classmethod
    def new_inclusive(cls, low: float, high: float) -> UniformFloat:
        low, high = float(low), float(high)
        if not low <= high:
            raise ValueError("UniformSampler::new_inclusive: low > high")
        scale = (high - low) / _MAX_RAND
        if not math.isfinite(scale):
            raise ValueError("UniformSampler::new_inclusive: range overflow")
        while scale * _MAX_RAND + low > high:
            scale = _next_down(scale)
        return cls(low, scale)

    def sample(self, rng: RustRng) -> float:
        # into_float_with_exponent(next_u64 >> 12, 0) - 1.0 is exactly (next_u64 >> 12) * 2^-52.
        u = (rng.next_u64() >> 12) * _TWO_M52
        return u * self.scale + self.low  # two roundings, never fused


class WeightedIndex:
    """rand 0.8.5 ``WeightedIndex<f64>`` (what ``SliceRandom::choose_weighted`` builds), docs/atcoder.md#generators"""

    __slots__ = ("cumulative", "total", "_uniform")

    def __init__(self, weights: Sequence[float]):
        it = iter(weights)
        try:
            total = float(next(it))
        except StopIteration:
            raise ValueError("WeightedError::NoItem") from None
        if not total >= 0.0:
            raise ValueError("WeightedError::InvalidWeight")
        cumulative = []
        for w in it:
            w = float(w)
            if not w >= 0.0:
                raise ValueError("WeightedError::InvalidWeight")
            cumulative.append(total)
            total += w
        if total == 0.0:
            raise ValueError("WeightedError::AllWeightsZero")
        self.cumulative = cumulative
        self.total = total
        self._uniform = UniformFloat.new(0.0, total)

    def sample(self, rng: RustRng) -> int:
        u = self._uniform
        chosen = ((rng.next_u64() >> 12) * _TWO_M52) * u.scale + u.low
        # binary_search_by(|w| if *w <= chosen {Less} else {Greater}).unwrap_err()
        return bisect_right(self.cumulative, chosen)


_INT_TYPES = {
    # name: (bits, signed, width of the sampling word: 32 -> next_u32, 64 -> next_u64)
    "i8": (8, True, 32),
    "u8": (8, False, 32),
    "i16": (16, True, 32),
    "u16": (16, False, 32),
    "i32": (32, True, 32),
    "u32": (32, False, 32),
    "i64": (64, True, 64),
    "u64": (64, False, 64),
    "isize": (64, True, 64),
    "usize": (64, False, 64),  # 64-bit targets
}


class RustRng(ChaCha20Rng):
    """A ``ChaCha20Rng`` with the ``rand::Rng`` / rand_distr calls the generators make.

    Usage mirrors Rust: ``rng = RustRng.seed_from_u64(seed)``; ``rng.gen_range(10, 25, inclusive=True)``
    is ``rng.gen_range(10..=25)`` on i32; ``rng.gen_f64()`` is ``rng.gen::<f64>()``;
    ``rng.choose_weighted(w)`` is ``w.choose_weighted(&mut rng, |&x| x)`` returning the index;
    ``rng.standard_normal()`` is ``rng.sample(StandardNormal)``.
    """

    __slots__ = ()

    # -- Standard ---------------------------------------------------------------------------------

    def gen_u32(self) -> int:
        """``gen::<u32>()``."""
        return self.next_u32()

    def gen_u64(self) -> int:
        """``gen::<u64>()``."""
        return self.next_u64()

    def gen_f64(self) -> float:
        """``gen::<f64>()`` (Standard): ``(next_u64 >> 11) * 2^-53``, in [0, 1)."""
        return (self.next_u64() >> 11) * _TWO_M53

    def open01(self) -> float:
        """``sample(Open01)``: ``into_float_with_exponent(next_u64 >> 12, 0) - (1 - 2^-53)``, in (0, 1)."""
        return (1.0 + (self.next_u64() >> 12) * _TWO_M52) - _OPEN01_SUB

    # -- gen_range --------------------------------------------------------------------------------

    @overload
    def gen_range(self, low: float, high: float, *, inclusive: bool = ..., ty: Literal["f64"]) -> float: ...

    @overload
    def gen_range(self, low: int, high: int, *, inclusive: bool = ..., ty: str = ...) -> int: ...

    def gen_range(self, low: Any, high: Any, *, inclusive: bool = False, ty: str = "i32") -> float:
        """``gen_range(low..high)`` or, with ``inclusive=True``, ``gen_range(low..=high)``.

        ``ty`` is the Rust type: an integer type (``i32`` by default, also ``u32``, ``i64``, ``u64``,
        ``usize``, ``i8``/``u8``/``i16``/``u16``) or ``f64``.
        """
        if ty == "f64":
            if inclusive:
                return UniformFloat.new_inclusive(low, high).sample(self)
            return self._uniform_f64_single(float(low), float(high))
        if ty not in _INT_TYPES:
            raise ValueError(f"unsupported type {ty!r}")
        if inclusive:
            return self._int_single_inclusive(low, high, ty)
        if not low < high:
            raise ValueError("UniformSampler::sample_single: low >= high")
        return self._int_single_inclusive(low, high - 1, ty)

    def _int_single_inclusive(self, low: int, high: int, ty: str) -> int:
        """rand 0.8.5 ``UniformInt::sample_single_inclusive`` (docs/atcoder.md#generators)."""
        bits, signed, word = _INT_TYPES[ty]
        lo_bound = -(1 << (bits - 1)) if signed else 0
        hi_bound = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        if not (lo_bound <= low <= hi_bound and lo_bound <= high <= hi_bound):
            raise ValueError(f"bounds out of range for {ty}")
        if not low <= high:
            raise ValueError("UniformSampler::sample_single_inclusive: low > high")
        wmask = (1 << word) - 1
        range_ = (high - low + 1) & ((1 << bits) - 1)  # wrapping, as $unsigned, widened to $u_large
        if range_ == 0:  # the whole type: any value will do
            v = self.next_u32() if word == 32 else self.next_u64()
            v &= (1 << bits) - 1
            return v - (1 << bits) if signed and v >> (bits - 1) else v
        if bits <= 16:  # modulus zone for the small types
            ints_to_reject = (wmask - range_ + 1) % range_
            zone = wmask - ints_to_reject
        else:
            zone = ((range_ << (word - range_.bit_length())) - 1) & wmask
        nxt = self.next_u32 if word == 32 else self.next_u64
        while True:
            m = nxt() * range_
            if (m & wmask) <= zone:
                return low + (m >> word)

    def _uniform_f64_single(self, low: float, high: float) -> float:
        """rand 0.8.5 ``UniformFloat::sample_single`` (float ``gen_range(a..b)``)."""
        if not low < high:
            raise ValueError("UniformSampler::sample_single: low >= high")
        scale = high - low
        if not math.isfinite(scale):
            raise ValueError("UniformSampler::sample_single: range overflow")
        while True:
            value0_1 = (self.next_u64() >> 12) * _TWO_M52
            res = value0_1 * scale + low
            if res < high:  # else retry (the scale is finite here, so rand's scale fix-up never applies)
                return res

    # -- choose_weighted -------------------------------------------------------------------------

    def choose_weighted(self, weights: Sequence[float]) -> int:
        """``weights.choose_weighted(&mut rng, |&w| w)``, returning the chosen index (one u64)."""
        return WeightedIndex(weights).sample(self)

    # -- normal distributions (rand_distr 0.4.3) ---------------------------------------------------

    def standard_normal(self) -> float:
        """``sample(StandardNormal)``: rand_distr's symmetric ziggurat with ZIG_NORM_X/F
        (docs/atcoder.md#generators)."""
        x_tab = ZIG_NORM_X
        f_tab = ZIG_NORM_F
        exp = math.exp
        while True:
            bits = self.next_u64()
            i = bits & 0xFF
            # into_float_with_exponent(bits >> 12, 1) - 3.0, exactly (bits >> 12) * 2^-51 - 1.0
            u = (bits >> 12) * _TWO_M51 - 1.0
            x = u * x_tab[i]
            if abs(x) < x_tab[i + 1]:
                return x
            if i == 0:
                return self._normal_tail(u)
            if f_tab[i + 1] + (f_tab[i] - f_tab[i + 1]) * self.gen_f64() < exp(-x * x / 2.0):
                return x

    def _normal_tail(self, u: float) -> float:
        r = ZIG_NORM_R
        log = math.log
        x = 1.0
        y = 0.0
        while -2.0 * y < x * x:
            x_ = self.open01()
            y_ = self.open01()
            x = log(x_) / r
            y = log(y_)
        return x - r if u < 0.0 else r - x

    def normal(self, mean: float, std_dev: float) -> float:
        """``Normal::new(mean, std_dev).sample``: ``mean + std_dev * StandardNormal``."""
        return mean + std_dev * self.standard_normal()
