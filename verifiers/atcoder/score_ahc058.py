"""AHC058 (production planning): the official tester, reimplemented (docs/atcoder.md#official-scorers).

``score(input_text, output)`` returns the same verdict, score and message as ``tester <in> <out>``:

1. the whole output must be valid UTF-8 (``not utf-8``), even after the 500th action;
2. lines are Rust ``str::lines`` (``\\n`` only), each ``trim``-ed on Unicode White_Space; empty lines
   and lines starting with ``#`` are skipped;
3. an action line is ``-1`` or ``level id``: the level is a Rust ``i32`` in -1..=L-1, the id a
   ``usize`` in 0..N (``Parse error`` / ``Out of range`` / ``Unexpected EOF``); any further token is
   ``Too many tokens: {trimmed line}``; reading stops after T actions, the rest is ignored;
   fewer than T actions: ``Not enough actions: expected T, got k``;
4. the simulation runs in signed 64-bit arithmetic that wraps on overflow (release build), with
   ``Not enough apples at turn t: have a, need c`` and ``Non-positive apples at the end: a``;
5. score = round_half_away_from_zero(100000 * log2(apples as f64)).

Blank and comment lines are skipped with numpy over the bytes (10^6 comment lines, or 64 MiB of
newlines, cost well under a second); only the (at most T + 1) action lines are handled in Python.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator

import numpy as np

from verifiers.atcoder.scoring import (
    I32,
    USIZE,
    WHITESPACE_CHARS,
    CaseScore,
    WrongAnswer,
    ascii_ws_mask,
    iter_tokens,
    normalize_whitespace_bytes,
    read,
    round_half_away_from_zero,
    utf8_bytes,
)

__all__ = ["Ahc058Input", "parse_input", "parse_output", "simulate", "score"]

#: Bytes per line-scanning chunk (tests shrink it to exercise chunk boundaries).
CHUNK_BYTES = 4 << 20

_MASK64 = (1 << 64) - 1
_SIGN64 = 1 << 63


def _wrap(x: int) -> int:
    """Reduce a Python int to a signed 64-bit value (two's complement wrap-around)."""
    x &= _MASK64
    return x - (1 << 64) if x & _SIGN64 else x


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Ahc058Input:
    """One AHC058 case: N machine ids, L levels, T turns, K initial apples, A[N], C[L][N]."""

    n: int
    l: int  # noqa: E741 - the statement's name
    t: int
    k: int
    a: tuple[int, ...]
    c: tuple[tuple[int, ...], ...]


def parse_input(input_text: str) -> Ahc058Input:
    """Parse an AHC058 input file (``N L T K``, A, then L rows of C; trusted text)."""
    return _parse_input_cached(input_text)


@functools.lru_cache(maxsize=16)
def _parse_input_cached(input_text: str) -> Ahc058Input:
    tok = input_text.split()
    n, l, t, k = (int(x) for x in tok[:4])  # noqa: E741 - the statement's names
    vals = [int(x) for x in tok[4 : 4 + n + l * n]]
    if len(vals) != n + l * n:
        raise ValueError(f"AHC058 input: expected {n + l * n} numbers after the header, got {len(vals)}")
    a = tuple(vals[:n])
    c = tuple(tuple(vals[n + i * n : n + (i + 1) * n]) for i in range(l))
    return Ahc058Input(n=n, l=l, t=t, k=k, a=a, c=c)


# ---------------------------------------------------------------------------------------------
# Output parsing
# ---------------------------------------------------------------------------------------------

_WS_BYTES = b" \t\n\r\x0b\x0c"


def _action_lines(norm: bytes) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` byte ranges of the action lines of the output, in order: the lines (split on
    ``\\n``) that are neither empty nor start with ``#`` after trimming; the range runs from the line's
    first non-White_Space byte to its end (before the ``\\n``). ``norm`` is the output after
    ``normalize_whitespace_bytes`` (same offsets as the output, ASCII whitespace only).

    Per chunk, vectorised: among the bytes that are non-White_Space or ``\\n``, a non-White_Space byte
    whose predecessor in that list is a ``\\n`` (or that comes first) is the first character of its
    trimmed line; the line is an action line unless that byte is ``#``.
    """
    n = len(norm)
    pos = 0
    while pos < n:
        end = min(pos + CHUNK_BYTES, n)
        if end < n:
            cut = norm.rfind(b"\n", pos, end)
            if cut < 0:
                cut = norm.find(b"\n", end)
            end = n if cut < 0 else cut + 1
        # The chunk starts at a line start (or at the start of the output).
        if _has_non_ws(norm, pos, end):
            a = np.frombuffer(norm, dtype=np.uint8, count=end - pos, offset=pos)
            newline = a == 10
            interesting = np.flatnonzero(~ascii_ws_mask(a) | newline)
            b = a[interesting]
            is_nl = b == 10
            first = ~is_nl
            first[1:] &= is_nl[:-1]
            first &= b != 35  # '#'
            for f in interesting[first].tolist():
                start = pos + f
                stop = norm.find(b"\n", start, end)
                yield start, (end if stop < 0 else stop)
        pos = end


def _has_non_ws(norm: bytes, start: int, end: int) -> bool:
    return bool(norm[start:end].translate(None, _WS_BYTES))


def parse_output(inp: Ahc058Input, output: str | bytes) -> list[tuple[int, int] | None]:
    """The T actions of ``output`` (None = do nothing, else ``(level, id)``); raises
    :class:`WrongAnswer` with the tester's message."""
    buf = utf8_bytes(output)
    if buf is None:
        raise WrongAnswer("not utf-8")
    norm = normalize_whitespace_bytes(buf)
    actions: list[tuple[int, int] | None] = []
    if inp.t == 0:
        # The tester's loop checks ``len == T`` only after pushing an action, so T = 0 still reads
        # (and may reject) every line. Official inputs always have T = 500.
        limit = None
    else:
        limit = inp.t
    for start, end in _action_lines(norm):
        line = buf[start:end].decode("utf-8").rstrip(WHITESPACE_CHARS)
        tokens = iter_tokens(line)
        first = read(next(tokens, None), I32, -1, inp.l - 1)
        if first == -1:
            actions.append(None)
        else:
            ident = read(next(tokens, None), USIZE, 0, inp.n - 1)
            actions.append((first, ident))
        if next(tokens, None) is not None:
            raise WrongAnswer(f"Too many tokens: {line}")
        if limit is not None and len(actions) == limit:
            break
    if len(actions) < inp.t:
        raise WrongAnswer(f"Not enough actions: expected {inp.t}, got {len(actions)}")
    return actions


# ---------------------------------------------------------------------------------------------
# Simulation
# ---------------------------------------------------------------------------------------------


def simulate(inp: Ahc058Input, actions: list[tuple[int, int] | None]) -> int:
    """Run the T turns in wrapping i64 arithmetic; return the final apples (> 0) or raise
    :class:`WrongAnswer`. Python ints reduced to 64 bits before each comparison and after each turn:
    wrapping is a ring homomorphism, so every compared value equals the Rust one."""
    n, levels = inp.n, inp.l
    A = [_wrap(x) for x in inp.a]
    C = [[_wrap(x) for x in row] for row in inp.c]
    B = [[1] * n for _ in range(levels)]
    P = [[0] * n for _ in range(levels)]
    apples = _wrap(inp.k)
    B0, P0 = B[0], P[0]
    for t in range(inp.t):
        act = actions[t]
        if act is not None:
            lv, j = act
            cost = _wrap(C[lv][j] * (P[lv][j] + 1))
            if apples < cost:
                raise WrongAnswer(f"Not enough apples at turn {t}: have {apples}, need {cost}")
            apples = _wrap(apples - cost)
            P[lv][j] += 1
        # Production: level 0 first (reads this turn's B[0] before level 1 adds to it), then
        # B[level-1] += B[level] * P[level] for level = 1, 2, ... in order.
        apples = _wrap(apples + sum(a * b * p for a, b, p in zip(A, B0, P0) if p))
        for lv in range(1, levels):
            lower, upper, pw = B[lv - 1], B[lv], P[lv]
            for j in range(n):
                if pw[j]:
                    lower[j] = _wrap(lower[j] + upper[j] * pw[j])
    if apples <= 0:
        raise WrongAnswer(f"Non-positive apples at the end: {apples}")
    return apples


def score(input_text: str | Ahc058Input, output: str | bytes) -> CaseScore:
    """Judge ``output`` on an AHC058 input exactly as the official tester does. Never raises."""
    inp = input_text if isinstance(input_text, Ahc058Input) else parse_input(input_text)
    try:
        actions = parse_output(inp, output)
        apples = simulate(inp, actions)
    except WrongAnswer as exc:
        return CaseScore.wa(exc.message)
    return CaseScore.ac(round_half_away_from_zero(100000.0 * math.log2(float(apples))))
