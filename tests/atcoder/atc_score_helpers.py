"""Helpers for the AtCoder scorer tests: golden data access and slow reference transliterations.

The reference scorers below are line-by-line transliterations of the official Rust testers
(``tools/src/lib.rs``: ``read``, ``parse_output``, ``compute_score_details``), written independently of
``verifiers.atcoder`` (own whitespace set, own integer regex, per-fish loop with ``break``, wrap after
every i64 operation). They are slow and only meant for differential tests on small outputs.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "atcoder"


def data_dir() -> Path | None:
    return DATA_DIR if DATA_DIR.is_dir() else None


@functools.cache
def golden_records(problem: str) -> tuple[dict, ...]:
    path = DATA_DIR / problem / "golden_scorer.jsonl"
    if not path.is_file():
        return ()
    with path.open(encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


@functools.cache
def input_text(problem: str, input_id: int) -> str:
    return (DATA_DIR / problem / "in" / f"{input_id:04d}.txt").read_text(encoding="utf-8")


def record_input(rec: dict) -> str:
    if rec.get("input") is not None:
        return rec["input"]
    return input_text(rec["problem"], rec["input_id"])


def record_output_bytes(rec: dict) -> bytes:
    if rec["output"] is not None:
        return rec["output"].encode("utf-8")
    return base64.b64decode(rec["output_b64"])


def expected_triple(rec: dict) -> tuple[str, int, str]:
    e = rec["expected"]
    if e["verdict"] == "AC":
        return ("AC", int(e["score"]), "")
    return ("WA", 0, e["message"])


# ---------------------------------------------------------------------------------------------
# Reference transliterations (slow)
# ---------------------------------------------------------------------------------------------

_REF_WS = (
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_REF_SPLIT = re.compile("[" + re.escape(_REF_WS) + "]+")
_REF_INT_SIGNED = re.compile(r"[+-]?[0-9]+\Z")
_REF_INT_UNSIGNED = re.compile(r"\+?[0-9]+\Z")


class _RefErr(Exception):
    pass


def _ref_split_whitespace(s: str) -> list[str]:
    return [t for t in _REF_SPLIT.split(s) if t]


def _ref_parse(tok: str, lo_type: int, hi_type: int, signed: bool) -> int | None:
    if not (_REF_INT_SIGNED if signed else _REF_INT_UNSIGNED).match(tok):
        return None
    digits = tok.lstrip("+-").lstrip("0") or "0"
    if len(digits) > 25:
        return None
    v = int(digits)
    if tok.startswith("-"):
        v = -v
    return v if lo_type <= v <= hi_type else None


def _ref_read(tok: str | None, kind: str, lo: int, hi: int) -> int:
    if tok is None:
        raise _RefErr("Unexpected EOF")
    bounds = {"i32": (-(2**31), 2**31 - 1, True), "i64": (-(2**63), 2**63 - 1, True), "usize": (0, 2**64 - 1, False)}[
        kind
    ]
    v = _ref_parse(tok, *bounds)
    if v is None:
        raise _RefErr(f"Parse error: {tok}")
    if not lo <= v <= hi:
        raise _RefErr(f"Out of range: {v}")
    return v


def ref_score_ahc039(input_text: str, output: bytes) -> tuple[str, int, str]:
    tok = input_text.split()
    n = int(tok[0])
    ps = [(int(tok[1 + 2 * i]), int(tok[2 + 2 * i])) for i in range(2 * n)]
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError:
        return ("WA", 0, "not utf-8")
    it = iter(_ref_split_whitespace(text))
    polys = []
    try:
        for m_tok in it:
            m = _ref_read(m_tok, "i32", 4, 1000)
            poly = []
            for _ in range(m):
                x = _ref_read(next(it, None), "i64", 0, 100000)
                y = _ref_read(next(it, None), "i64", 0, 100000)
                poly.append((x, y))
            polys.append(poly)
    except _RefErr as e:
        return ("WA", 0, str(e))
    out = polys[-1] if polys else []
    m = len(out)
    length = 0
    for i in range(m):
        p, q, r = out[i], out[(i + 1) % m], out[(i + 2) % m]
        if p == q:
            return ("WA", 0, "Two consecutive vertices share the same coordinates.")
        elif p[0] == q[0]:
            length += abs(p[1] - q[1])
            if q[0] == r[0] and (p[1] - q[1]) * (r[1] - q[1]) > 0:
                return ("WA", 0, "The polygon is self-intersecting.")
        elif p[1] == q[1]:
            length += abs(p[0] - q[0])
            if q[1] == r[1] and (p[0] - q[0]) * (r[0] - q[0]) > 0:
                return ("WA", 0, "The polygon is self-intersecting.")
        else:
            return ("WA", 0, f"The {i}-th edge is not parallel to the axes. (({p[0]}, {p[1]}) - ({q[0]}, {q[1]}))")
    for i in range(m):
        for k in range(2, m - 1):
            j = (i + k) % m
            p1, p2, q1, q2 = out[i], out[(i + 1) % m], out[j], out[(j + 1) % m]
            if max(min(p1[0], p2[0]), min(q1[0], q2[0])) <= min(max(p1[0], p2[0]), max(q1[0], q2[0])):
                if max(min(p1[1], p2[1]), min(q1[1], q2[1])) <= min(max(p1[1], p2[1]), max(q1[1], q2[1])):
                    return ("WA", 0, "The polygon is self-intersecting.")
    if length > 400000:
        return ("WA", 0, f"The length is too long: {length}.")
    score = 1
    for i in range(2 * n):
        rx, ry = ps[i]
        inside = False
        for j in range(m):
            p, q = out[j], out[(j + 1) % m]
            x0, x1 = min(p[0], q[0]), max(p[0], q[0])
            y0, y1 = min(p[1], q[1]), max(p[1], q[1])
            if x0 <= rx <= x1 and y0 <= ry <= y1:
                inside = True
                break
            if p[1] == q[1] and p[1] > ry and x0 <= rx < x1:
                inside = not inside
        if inside:
            score += 1 if i < n else -1
    return ("AC", max(0, score), "")


def _w(x: int) -> int:
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


def _ref_lines(text: str) -> list[str]:
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def ref_score_ahc058(input_text: str, output: bytes) -> tuple[str, int, str]:
    tok = input_text.split()
    N, L, T, K = (int(x) for x in tok[:4])
    A = [int(x) for x in tok[4 : 4 + N]]
    C = [[int(x) for x in tok[4 + N + i * N : 4 + N + (i + 1) * N]] for i in range(L)]
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError:
        return ("WA", 0, "not utf-8")
    actions = []
    try:
        for line in _ref_lines(text):
            line = line.strip(_REF_WS)
            if len(line) == 0 or line.startswith("#"):
                continue
            tokens = iter(_ref_split_whitespace(line))
            first = _ref_read(next(tokens, None), "i32", -1, L - 1)
            if first == -1:
                actions.append(None)
            else:
                ident = _ref_read(next(tokens, None), "usize", 0, N - 1)
                actions.append((first, ident))
            if next(tokens, None) is not None:
                raise _RefErr(f"Too many tokens: {line}")
            if len(actions) == T:
                break
        if len(actions) < T:
            raise _RefErr(f"Not enough actions: expected {T}, got {len(actions)}")
    except _RefErr as e:
        return ("WA", 0, str(e))
    B = [[1] * N for _ in range(L)]
    P = [[0] * N for _ in range(L)]
    apples = _w(K)
    for t in range(T):
        act = actions[t]
        if act is not None:
            lv, i = act
            cost = _w(C[lv][i] * _w(P[lv][i] + 1))
            if apples < cost:
                return ("WA", 0, f"Not enough apples at turn {t}: have {apples}, need {cost}")
            apples = _w(apples - cost)
            P[lv][i] = _w(P[lv][i] + 1)
        for lv in range(L):
            for i in range(N):
                if lv == 0:
                    apples = _w(apples + _w(_w(A[i] * B[lv][i]) * P[lv][i]))
                else:
                    B[lv - 1][i] = _w(B[lv - 1][i] + _w(B[lv][i] * P[lv][i]))
    if apples <= 0:
        return ("WA", 0, f"Non-positive apples at the end: {apples}")
    x = 100000.0 * math.log2(float(apples))
    f = math.floor(x)
    return ("AC", int(f + 1 if x - f >= 0.5 else f), "")
