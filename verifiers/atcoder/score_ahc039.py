"""AHC039 "Purse Seine Fishing": the official tester, reimplemented (docs/atcoder.md#official-scorers).

``score(input_text, output)`` returns the same verdict, score and message as ``tester <in> <out>``:

1. the output must be valid UTF-8 (``not utf-8``);
2. tokens are split on Unicode White_Space;
3. polygons are read until the tokens run out: ``m`` (Rust ``i32``, 4..=1000), then ``m`` vertices
   ``x y`` (Rust ``i64``, 0..=100000), ``x`` fully checked before ``y`` is read; every polygon must
   parse (``Parse error: {token}`` / ``Out of range: {value}`` / ``Unexpected EOF``);
4. no polygon at all scores 1 (AC);
5. only the last polygon is validated: consecutive duplicates, axis-parallel edges, collinear
   backtracking, non-adjacent edges sharing a point, total length <= 400000;
6. score = max(0, 1 + mackerels inside - sardines inside), boundary counting as inside.

Parsing is linear and streams over the output in chunks with numpy (a 64 MiB output of valid
polygons is parsed in about a second, in bounded memory); only the last polygon is kept. Validation
and scoring are vectorised (m <= 1000 edges, 2N = 10,000 fish).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import numpy as np

from verifiers.atcoder.scoring import (
    I32,
    I64,
    CaseScore,
    WrongAnswer,
    ascii_ws_mask,
    normalize_whitespace_bytes,
    read,
    utf8_bytes,
)

__all__ = ["Ahc039Input", "parse_input", "parse_output", "validate_polygon", "score", "D", "MAX_LENGTH"]

D = 100_000
MAX_LENGTH = 4 * D
M_MIN, M_MAX = 4, 1000

#: Bytes per parsing chunk (tests shrink it to exercise chunk boundaries).
CHUNK_BYTES = 4 << 20


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Ahc039Input:
    """One AHC039 case: ``n`` mackerels then ``n`` sardines, as ``(x, y)`` integer points."""

    n: int
    points: tuple[tuple[int, int], ...]
    xs: np.ndarray = dataclasses.field(init=False, repr=False, compare=False)
    ys: np.ndarray = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        arr = np.array(self.points, dtype=np.int32).reshape(-1, 2)
        xs, ys = arr[:, 0].copy(), arr[:, 1].copy()
        xs.setflags(write=False)
        ys.setflags(write=False)
        object.__setattr__(self, "xs", xs)
        object.__setattr__(self, "ys", ys)

    @property
    def mackerels(self) -> tuple[tuple[int, int], ...]:
        return self.points[: self.n]

    @property
    def sardines(self) -> tuple[tuple[int, int], ...]:
        return self.points[self.n :]


def parse_input(input_text: str) -> Ahc039Input:
    """Parse an AHC039 input file (``N`` then 2N lines ``x y``; trusted text)."""
    return _parse_input_cached(input_text)


@functools.lru_cache(maxsize=8)
def _parse_input_cached(input_text: str) -> Ahc039Input:
    tokens = input_text.split()
    n = int(tokens[0])
    vals = [int(t) for t in tokens[1 : 1 + 4 * n]]
    if len(vals) != 4 * n:
        raise ValueError(f"AHC039 input: expected {4 * n} coordinates, got {len(vals)}")
    points = tuple(zip(vals[0::2], vals[1::2]))
    return Ahc039Input(n=n, points=points)


# ---------------------------------------------------------------------------------------------
# Output parsing (streaming, vectorised)
# ---------------------------------------------------------------------------------------------


_DIGITS_AND_WS = b"0123456789 \t\n\r\x0b\x0c"
_SHORT = 7  # tokens of at most this many bytes are handled by the vectorised fallback parser

#: numpy's text parser (``np.fromstring(..., sep=" ")``, C ``strtoll`` semantics) is the fast path; its
#: results are only trusted for tokens made of ASCII digits (after the sign is masked), its token count
#: is checked, and every value outside 0..=100000 (including its saturated overflows) is re-read in
#: Python from the token text. Tests switch it off to check the pure-numpy fallback.
USE_FROMSTRING = hasattr(np, "fromstring")


def _token_bounds(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """White_Space mask and token ``starts``/``ends`` (local byte offsets) of a normalised chunk."""
    ws = ascii_ws_mask(a)
    nws = ~ws
    st = nws.copy()
    st[1:] &= ws[:-1]
    en = nws
    en[:-1] &= ws[1:]
    return ws, np.flatnonzero(st), np.flatnonzero(en) + 1


def _fromstring(chunk: bytes, ntok: int) -> np.ndarray | None:
    """Values of the tokens of ``chunk`` (all made of ASCII digits), or None if numpy disagrees on the
    token count (never expected; the caller then uses the fallback)."""
    if ntok == 0:
        return np.empty(0, dtype=np.int64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            vals = np.fromstring(chunk, dtype=np.int64, sep=" ")
    except Exception:  # noqa: BLE001 - any malformed number (a warning turned error, a ValueError) is "not integers"
        return None
    return vals if vals.size == ntok else None


def _values_fallback(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Pure-numpy values: a plain integer token (optional sign, digits) of at most 7 bytes gets its
    value, every other token -1."""
    v = np.full(starts.size, -1, dtype=np.int64)
    cand = np.flatnonzero(ends - starts <= _SHORT)
    if cand.size == 0:
        return v
    s = starts[cand]
    e = ends[cand]
    c0 = a[s]
    neg = c0 == 45  # '-'
    ds = s + (neg | (c0 == 43))  # skip one '+' or '-'
    nd = e - ds
    good = nd >= 1
    val = np.zeros(cand.size, dtype=np.int64)
    last = a.size - 1
    for k in range(_SHORT):
        has = nd > k
        if not has.any():
            break
        c = a[np.minimum(ds + k, last)].astype(np.int64) - 48
        good &= ~has | ((c >= 0) & (c <= 9))
        val = np.where(has, val * 10 + c, val)
    v[cand[good]] = np.where(neg, -val, val)[good]
    return v


def _chunk_values(chunk: bytes, a: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """``(v, bounds)`` for one chunk: ``v[i]`` is token i's value when it is a valid coordinate
    (0..=100000), else -1 ("re-read this token in Python"); ``bounds`` is ``(starts, ends)`` when it
    was computed (else the caller computes it lazily, only to quote a bad token)."""
    ws = ascii_ws_mask(a)
    st = ~ws
    st[1:] &= ws[:-1]
    ntok = int(np.count_nonzero(st))
    vals = None
    bounds = None
    if USE_FROMSTRING and not chunk.translate(None, _DIGITS_AND_WS):
        # Only digits and whitespace: numpy parses every token.
        vals = _fromstring(chunk, ntok)
    if vals is None:
        _, starts, ends = _token_bounds(a)
        bounds = (starts, ends)
        vals = None
        if USE_FROMSTRING and ntok:
            # Mask every non-digit byte to '0', parse, then keep only tokens that were all digits or
            # one leading sign followed by at least one digit.
            nd = ~ws & (np.subtract(a, 48, dtype=np.uint8) > 9)
            cs = np.cumsum(nd, dtype=np.int64)
            count = cs[ends - 1] - cs[starts] + nd[starts]
            first = a[starts]
            sign = (first == 43) | (first == 45)
            plain = (count == 0) | ((count == 1) & sign & (ends - starts >= 2))
            masked = a.copy()
            masked[nd] = 48
            parsed = _fromstring(masked.tobytes(), ntok)
            if parsed is not None:
                parsed = np.where(first == 45, -parsed, parsed)
                vals = np.where(plain, parsed, -1)
        if vals is None:
            vals = _values_fallback(a, starts, ends)
    v = np.where((vals >= 0) & (vals <= D), vals, -1)
    return v, bounds


def _chunk_end(buf: bytes, pos: int, size: int) -> int:
    """End of the chunk starting at ``pos``: just after the last whitespace byte within ``size`` bytes
    (so no token is cut), or the end of the output."""
    n = len(buf)
    end = pos + size
    if end >= n:
        return n
    cut = max(buf.rfind(c, pos, end) for c in _WS_BYTES)
    if cut >= 0:
        return cut + 1
    # One token longer than a chunk: extend to the first whitespace after it.
    found = [i for i in (buf.find(c, end) for c in _WS_BYTES) if i >= 0]
    return min(found) + 1 if found else n


_WS_BYTES = (b" ", b"\n", b"\t", b"\r", b"\x0b", b"\x0c")


def _parse_last_polygon(buf: bytes) -> list[tuple[int, int]] | None:
    """Parse every polygon of the (valid UTF-8, normalised) output; return the last one, or None when
    there is none. Raises :class:`WrongAnswer` with the tester's message at the first bad token."""
    n = len(buf)
    pos = 0
    base = 0  # global index of the chunk's first token
    next_m = 0  # global index of the next polygon's m token
    last_m = -1  # vertex count of the last polygon
    while pos < n:
        end = _chunk_end(buf, pos, CHUNK_BYTES)
        chunk = buf[pos:end]
        a = np.frombuffer(chunk, dtype=np.uint8)
        v, bounds = _chunk_values(chunk, a)
        hi = base + v.size

        def text(li: int, chunk: bytes = chunk, a: np.ndarray = a) -> str:
            nonlocal bounds
            if bounds is None:
                _, s, e = _token_bounds(a)
                bounds = (s, e)
            # Token boundaries are character boundaries of valid UTF-8: this never fails.
            return chunk[int(bounds[0][li]) : int(bounds[1][li])].decode("utf-8")

        bad = np.flatnonzero(v < 0).tolist()
        vv = memoryview(v)  # type: ignore[arg-type]  # numpy declares ndarray.__buffer__ only for Python >= 3.12
        bi = 0
        nbad = len(bad)
        while True:
            # Tokens before min(next_m, hi) are coordinates of the current polygon.
            lim = min(next_m, hi) - base
            while bi < nbad and bad[bi] < lim:
                read(text(bad[bi]), I64, 0, D)  # raises unless an unusual valid spelling
                bi += 1
            if next_m >= hi:
                break
            if bi == nbad:
                # Fast walk: no unusual token left in this chunk.
                li = next_m - base
                size = hi - base
                prev = li
                while li < size:
                    m = vv[li]
                    if not M_MIN <= m <= M_MAX:
                        raise WrongAnswer(f"Out of range: {m}")
                    prev = li
                    li += 1 + 2 * m
                last_m = vv[prev]
                next_m = base + li
                continue
            li = next_m - base
            m = vv[li]
            if m < 0:
                m = read(text(li), I32, M_MIN, M_MAX)
                bi += 1  # this token was the next entry of ``bad``
            elif m < M_MIN or m > M_MAX:
                raise WrongAnswer(f"Out of range: {m}")
            last_m = m
            next_m += 1 + 2 * m
        base = hi
        pos = end
    if last_m < 0:
        return None
    if next_m > base:
        raise WrongAnswer("Unexpected EOF")
    # The last polygon is the last 1 + 2m tokens; every one of them has been checked already.
    coords = [read(t.decode("ascii"), I64, 0, D) for t in buf.rsplit(None, 2 * last_m)[1:]]
    return list(zip(coords[0::2], coords[1::2]))


def parse_output(output: str | bytes) -> list[tuple[int, int]] | None:
    """The last polygon of ``output`` (None when there is none); raises :class:`WrongAnswer`."""
    buf = utf8_bytes(output)
    if buf is None:
        raise WrongAnswer("not utf-8")
    return _parse_last_polygon(normalize_whitespace_bytes(buf))


# ---------------------------------------------------------------------------------------------
# Validation and score
# ---------------------------------------------------------------------------------------------


def validate_polygon(poly: list[tuple[int, int]]) -> int:
    """Step 5 of the tester on the last polygon: return its length or raise :class:`WrongAnswer`."""
    m = len(poly)
    length = 0
    for i in range(m):
        p = poly[i]
        q = poly[(i + 1) % m]
        r = poly[(i + 2) % m]
        if p == q:
            raise WrongAnswer("Two consecutive vertices share the same coordinates.")
        if p[0] == q[0]:
            length += abs(p[1] - q[1])
            if q[0] == r[0] and (p[1] - q[1]) * (r[1] - q[1]) > 0:
                raise WrongAnswer("The polygon is self-intersecting.")
        elif p[1] == q[1]:
            length += abs(p[0] - q[0])
            if q[1] == r[1] and (p[0] - q[0]) * (r[0] - q[0]) > 0:
                raise WrongAnswer("The polygon is self-intersecting.")
        else:
            raise WrongAnswer(f"The {i}-th edge is not parallel to the axes. (({p[0]}, {p[1]}) - ({q[0]}, {q[1]}))")
    if m:
        x0, x1, y0, y1 = _edge_boxes(poly)
        # Edges i and j = i + k (mod m), k = 2..m-2: every pair of non-adjacent edges. Closed boxes
        # overlapping on both axes <=> the axis-parallel segments share a point.
        ox = np.maximum(x0[:, None], x0[None, :]) <= np.minimum(x1[:, None], x1[None, :])
        oy = np.maximum(y0[:, None], y0[None, :]) <= np.minimum(y1[:, None], y1[None, :])
        idx = np.arange(m)
        k = (idx[None, :] - idx[:, None]) % m
        if np.any(ox & oy & (k >= 2) & (k <= m - 2)):
            raise WrongAnswer("The polygon is self-intersecting.")
    if length > MAX_LENGTH:
        raise WrongAnswer(f"The length is too long: {length}.")
    return length


def _edge_boxes(poly: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    P = np.array(poly, dtype=np.int32).reshape(-1, 2)  # coordinates are in 0..=100000
    Q = np.roll(P, -1, axis=0)
    return (
        np.minimum(P[:, 0], Q[:, 0]),
        np.maximum(P[:, 0], Q[:, 0]),
        np.minimum(P[:, 1], Q[:, 1]),
        np.maximum(P[:, 1], Q[:, 1]),
    )


def inside_mask(inp: Ahc039Input, poly: list[tuple[int, int]]) -> np.ndarray:
    """Which fish the tester counts as inside ``poly`` (a validated polygon): on the boundary (in the
    closed box of an edge), or an odd number of horizontal edges strictly above with
    ``min(x) <= fx < max(x)``."""
    inside = np.zeros(inp.xs.size, dtype=bool)
    if not poly:
        return inside
    x0, x1, y0, y1 = _edge_boxes(poly)
    # Fish outside the polygon's closed bounding box are outside for the tester too: no edge box holds
    # them, and the number of horizontal edges with min(x) <= fx < max(x) strictly above them is 0 or
    # (below the box) the number of crossings of the vertical line x = fx + 1/2 with a closed polygon,
    # which is even. So only the fish in the box are examined.
    sel = np.flatnonzero((inp.xs >= x0.min()) & (inp.xs <= x1.max()) & (inp.ys >= y0.min()) & (inp.ys <= y1.max()))
    fx, fy = inp.xs[sel], inp.ys[sel]
    horizontal = y0 == y1
    hx0, hx1, hy = x0[horizontal], x1[horizontal], y0[horizontal]
    block = 2048  # bounded temporaries: block x m booleans
    for s in range(0, fx.size, block):
        bx = fx[s : s + block, None]
        by = fy[s : s + block, None]
        on_edge = ((x0 <= bx) & (bx <= x1) & (y0 <= by) & (by <= y1)).any(axis=1)
        crossings = np.count_nonzero((hy > by) & (hx0 <= bx) & (bx < hx1), axis=1)
        inside[sel[s : s + block]] = on_edge | (crossings & 1).astype(bool)
    return inside


def score(input_text: str | Ahc039Input, output: str | bytes) -> CaseScore:
    """Judge ``output`` on an AHC039 input exactly as the official tester does. Never raises."""
    inp = input_text if isinstance(input_text, Ahc039Input) else parse_input(input_text)
    try:
        poly = parse_output(output)
        if poly is None:
            return CaseScore.ac(1)
        validate_polygon(poly)
    except WrongAnswer as exc:
        return CaseScore.wa(exc.message)
    inside = inside_mask(inp, poly)
    mackerels = int(np.count_nonzero(inside[: inp.n]))
    sardines = int(np.count_nonzero(inside[inp.n :]))
    return CaseScore.ac(max(0, 1 + mackerels - sardines))
