"""The AtCoder scorers against the official testers (docs/atcoder.md#official-scorers).

Golden records come from ../shared/data/atcoder (skipped cleanly when absent); everything else is
self-contained: hand checks, adversarial outputs, and hypothesis fuzzing (never raises; differential
against slow line-by-line transliterations of the Rust testers in ``atc_score_helpers``).
"""

from __future__ import annotations

import contextlib
import math
import random
import time

import atc_score_helpers as H
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from verifiers.atcoder import score_ahc039 as S39
from verifiers.atcoder import score_ahc058 as S58
from verifiers.atcoder import scoring as SC

SCORERS = {"ahc039": S39, "ahc058": S58}
needs_data = pytest.mark.skipif(H.data_dir() is None, reason=f"golden data not found at {H.DATA_DIR}")


def _ids(problem: str) -> list[str]:
    return [r["id"] for r in H.golden_records(problem)] or ["no-data"]


def _record(problem: str, rid: str) -> dict:
    if H.data_dir() is None:
        pytest.skip(f"golden data not found at {H.DATA_DIR}")
    for r in H.golden_records(problem):
        if r["id"] == rid:
            return r
    pytest.skip(f"record {rid} not found")


def _triple(res: SC.CaseScore) -> tuple[str, int, str]:
    return (res.verdict, res.score, res.message)


@contextlib.contextmanager
def _patched(module, **values):
    old = {k: getattr(module, k) for k in values}
    try:
        for k, v in values.items():
            setattr(module, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)


# ---------------------------------------------------------------------------------------------
# Golden records: verdict, score and message, for bytes and (when valid UTF-8) str outputs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", _ids("ahc039"))
def test_golden_ahc039(rid):
    _check_golden("ahc039", _record("ahc039", rid))


@pytest.mark.parametrize("rid", _ids("ahc058"))
def test_golden_ahc058(rid):
    _check_golden("ahc058", _record("ahc058", rid))


def _check_golden(problem: str, rec: dict) -> None:
    mod = SCORERS[problem]
    inp = H.record_input(rec)
    expected = H.expected_triple(rec)
    got = mod.score(inp, H.record_output_bytes(rec))
    assert _triple(got) == expected, rec["description"]
    assert rec["tester_exit_code"] == (0 if expected[0] == "AC" else 1)
    assert rec["tester_stderr"].endswith(
        f"Score = {expected[1]}" if expected[0] == "AC" else f"wrong answer: {expected[2]}"
    )
    if rec["output"] is not None:
        assert mod.score(inp, rec["output"]) == got
        assert mod.score(mod.parse_input(inp), rec["output"]) == got


@needs_data
def test_golden_summary():
    """All records at once, with a count per criterion (verdict / score / message)."""
    report = {}
    for problem, mod in SCORERS.items():
        recs = H.golden_records(problem)
        counts = {"records": len(recs), "verdict": 0, "score": 0, "message": 0}
        for rec in recs:
            exp = H.expected_triple(rec)
            got = _triple(mod.score(H.record_input(rec), H.record_output_bytes(rec)))
            counts["verdict"] += got[0] == exp[0]
            counts["score"] += got[1] == exp[1]
            counts["message"] += got[2] == exp[2]
        report[problem] = counts
    assert report["ahc039"] == {"records": 231, "verdict": 231, "score": 231, "message": 231}, report
    assert report["ahc058"] == {"records": 201, "verdict": 201, "score": 201, "message": 201}, report


@needs_data
def test_golden_python_split_trap_records_exist():
    """The four records that catch str.split() (U+001C / U+001F between tokens) are WA Parse error."""
    for problem, rid in (
        ("ahc039", "ahc039-0101"),
        ("ahc039", "ahc039-0102"),
        ("ahc058", "ahc058-0187"),
        ("ahc058", "ahc058-0191"),
    ):
        rec = _record(problem, rid)
        got = SCORERS[problem].score(H.record_input(rec), H.record_output_bytes(rec))
        assert got.verdict == "WA" and got.message.startswith("Parse error: ")


@needs_data
@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_golden_with_tiny_chunks(chunk):
    """Chunked streaming must not depend on where chunks are cut."""
    with _patched(S39, CHUNK_BYTES=chunk), _patched(S58, CHUNK_BYTES=chunk):
        for problem, mod in SCORERS.items():
            for rec in H.golden_records(problem):
                got = _triple(mod.score(H.record_input(rec), H.record_output_bytes(rec)))
                assert got == H.expected_triple(rec), rec["id"]


@needs_data
def test_golden_without_numpy_fromstring():
    """The pure-numpy fallback parser (used if numpy's text parser is unavailable) agrees too."""
    with _patched(S39, USE_FROMSTRING=False):
        for rec in H.golden_records("ahc039"):
            got = _triple(S39.score(H.record_input(rec), H.record_output_bytes(rec)))
            assert got == H.expected_triple(rec), rec["id"]


@needs_data
def test_reference_transliterations_agree_with_goldens():
    """The slow references used for differential fuzzing agree with the official testers (on the
    records small enough for them)."""
    for rec in H.golden_records("ahc058"):
        assert H.ref_score_ahc058(H.record_input(rec), H.record_output_bytes(rec)) == H.expected_triple(rec)
    for rec in H.golden_records("ahc039"):
        out = H.record_output_bytes(rec)
        if len(out) > 200:
            continue
        assert H.ref_score_ahc039(H.record_input(rec), out) == H.expected_triple(rec), rec["id"]


# ---------------------------------------------------------------------------------------------
# parse_input
# ---------------------------------------------------------------------------------------------


@needs_data
def test_parse_input_ahc039_seed0():
    inp = S39.parse_input(H.input_text("ahc039", 0))
    assert inp.n == 5000 and len(inp.points) == 10000
    assert inp.mackerels[:3] == ((54597, 27197), (21263, 39716), (29087, 37694))
    assert len(inp.sardines) == 5000
    assert inp.xs.shape == (10000,) and int(inp.xs[0]) == 54597 and int(inp.ys[0]) == 27197


@needs_data
def test_parse_input_ahc058_seed0():
    inp = S58.parse_input(H.input_text("ahc058", 0))
    assert (inp.n, inp.l, inp.t, inp.k) == (10, 4, 500, 1)
    assert inp.a == (1, 1, 2, 2, 3, 3, 10, 53, 62, 92)
    assert inp.c[0] == (1, 35, 7, 3, 6, 41, 301, 1508, 81, 410)
    assert len(inp.c) == 4 and all(len(row) == 10 for row in inp.c)


# ---------------------------------------------------------------------------------------------
# Hand checks on self-made inputs
# ---------------------------------------------------------------------------------------------

SMALL39 = "3\n1 1\n5 5\n9 9\n2 2\n6 6\n20 20\n"  # 3 mackerels, 3 sardines
SMALL58 = "10 4 500 1\n1 1 2 2 3 3 10 53 62 92\n" + "\n".join(" ".join(["1"] * 10) for _ in range(4)) + "\n"


def test_empty_output_scores_1():
    for out in ("", b"", "\n", " \t\r\n \n", "\u3000\u2028"):
        assert S39.score(SMALL39, out) == SC.CaseScore("AC", 1, "")


def test_ahc039_hand_computed():
    # Square 0..10: mackerels (1,1),(5,5),(9,9); sardines (2,2),(6,6): 1 + 3 - 2 = 2.
    sq = "4\n0 0\n10 0\n10 10\n0 10\n"
    assert S39.score(SMALL39, sq) == SC.CaseScore.ac(2)
    # Corner exactly on a fish counts as inside: square 5..6 has mackerel (5,5) and sardine (6,6).
    assert S39.score(SMALL39, "4\n5 5\n6 5\n6 6\n5 6\n") == SC.CaseScore.ac(1)
    # Only sardine (20,20) on a corner: 1 - 1 = 0, still AC.
    assert S39.score(SMALL39, "4\n20 20\n30 20\n30 30\n20 30\n") == SC.CaseScore.ac(0)
    # Clamped at 0: two sardines, no mackerel.
    assert S39.score(SMALL39, "4\n2 2\n6 2\n6 6\n2 6\n").score == 0
    # Orientation does not matter.
    assert S39.score(SMALL39, "4\n0 10\n10 10\n10 0\n0 0\n") == SC.CaseScore.ac(2)


@needs_data
def test_ahc058_hand_checks_seed0():
    inp = H.input_text("ahc058", 0)
    assert S58.score(inp, "0 0\n" + "-1\n" * 499) == SC.CaseScore.ac(896578)  # round(1e5*log2(500))
    assert S58.score(inp, "-1\n" * 500) == SC.CaseScore.ac(0)


def test_ahc058_hand_checks_self_made():
    # A_0 = 1, C = 1: strengthen 0 0 on turn 0, then produce 1 apple per turn for 500 turns.
    assert S58.score(SMALL58, "0 0\n" + "-1\n" * 499) == SC.CaseScore.ac(896578)
    assert S58.score(SMALL58, "-1\n" * 500) == SC.CaseScore.ac(0)
    assert S58.score(SMALL58, "-1\n" * 499) == SC.CaseScore.wa("Not enough actions: expected 500, got 499")
    # Spend the single apple on the last turn: final apples 0 is WA.
    assert S58.score(SMALL58, "-1\n" * 499 + "1 3\n") == SC.CaseScore.wa("Non-positive apples at the end: 0")
    # Second strengthening of 0 0 on turn 1 costs 2 with 1 apple in hand.
    assert S58.score(SMALL58, "0 0\n0 0\n" + "-1\n" * 498) == SC.CaseScore.wa(
        "Not enough apples at turn 1: have 1, need 2"
    )


@needs_data
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 100000), st.integers(0, 100000), st.integers(0, 100000), st.integers(0, 100000), st.integers(0, 3)
)
def test_rectangle_score_is_a_direct_count(xa, xb, ya, yb, seed):
    assume(xa != xb and ya != yb)
    x0, x1 = sorted((xa, xb))
    y0, y1 = sorted((ya, yb))
    text = H.input_text("ahc039", seed)
    inp = S39.parse_input(text)
    inside = [x0 <= x <= x1 and y0 <= y <= y1 for x, y in inp.points]
    expected = max(0, 1 + sum(inside[: inp.n]) - sum(inside[inp.n :]))
    out = f"4\n{x0} {y0}\n{x1} {y0}\n{x1} {y1}\n{x0} {y1}\n"
    assert S39.score(text, out) == SC.CaseScore.ac(expected)


# ---------------------------------------------------------------------------------------------
# Shared helpers: whitespace, lines, Rust integers, rounding, wrap
# ---------------------------------------------------------------------------------------------


def test_whitespace_set_is_unicode_white_space():
    assert len(SC.WHITESPACE) == 25
    for c in "\x1c\x1d\x1e\x1f\u200b\u180e\ufeff\x00":
        assert c not in SC.WHITESPACE
    for c in "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000":
        assert c in SC.WHITESPACE
    assert SC.split_whitespace("a\x1fb\u3000c\xa0\x85d") == ["a\x1fb", "c", "d"]
    assert "a\x1fb".split() == ["a", "b"]  # the trap
    assert SC.trim("\x0c -1\x0b\r") == "-1"
    assert SC.trim("\x1f-1") == "\x1f-1"


def test_rust_lines():
    assert SC.rust_lines("") == []
    assert SC.rust_lines("a\n") == ["a"]
    assert SC.rust_lines("a\r\nb") == ["a", "b"]
    assert SC.rust_lines("a\rb\n\nc\u2028d\x0be") == ["a\rb", "", "c\u2028d\x0be"]
    assert SC.rust_lines("\n\n") == ["", ""]


@pytest.mark.parametrize(
    "tok,kind,value",
    [
        ("0", SC.I32, 0),
        ("-0", SC.I32, 0),
        ("+4", SC.I32, 4),
        ("0004", SC.I32, 4),
        ("2147483647", SC.I32, 2**31 - 1),
        ("-2147483648", SC.I32, -(2**31)),
        ("2147483648", SC.I32, None),
        ("4294967300", SC.I32, None),
        ("9223372036854775807", SC.I64, 2**63 - 1),
        ("99999999999999999999", SC.I64, None),
        ("18446744073709551615", SC.USIZE, 2**64 - 1),
        ("18446744073709551616", SC.USIZE, None),
        ("-0", SC.USIZE, None),
        ("-1", SC.USIZE, None),
        ("+7", SC.USIZE, 7),
        ("", SC.I32, None),
        ("+", SC.I32, None),
        ("-", SC.I32, None),
        ("+-1", SC.I64, None),
        ("1e5", SC.I64, None),
        ("0.0", SC.I64, None),
        ("0x10", SC.I64, None),
        ("1_000", SC.I64, None),
        ("\u0663", SC.I64, None),
        ("\uff11", SC.I64, None),
        ("\xb2", SC.I64, None),
        (" 1", SC.I64, None),
        ("0" * 100000 + "7", SC.I64, 7),
        ("1" * 100000, SC.I64, None),
    ],
)
def test_parse_rust_int(tok, kind, value):
    assert SC.parse_rust_int(tok, kind) == value
    assert SC.parse_rust_int(tok.encode("utf-8"), kind) == value


def test_read_messages():
    with pytest.raises(SC.WrongAnswer, match="^Unexpected EOF$"):
        SC.read(None, SC.I32, 4, 1000)
    with pytest.raises(SC.WrongAnswer, match="^Parse error: 4.0$"):
        SC.read("4.0", SC.I32, 4, 1000)
    with pytest.raises(SC.WrongAnswer, match="^Out of range: 3$"):
        SC.read("+003", SC.I32, 4, 1000)


def test_round_half_away_from_zero():
    assert SC.round_half_away_from_zero(0.49999999999999994) == 0
    assert SC.round_half_away_from_zero(2.5) == 3
    assert SC.round_half_away_from_zero(3.5) == 4
    assert SC.round_half_away_from_zero(-2.5) == -3
    assert SC.round_half_away_from_zero(896578.2) == 896578


def test_wrap64():
    assert S58._wrap(2**63) == -(2**63)
    assert S58._wrap(-(2**63) - 1) == 2**63 - 1
    assert S58._wrap(2**64 + 5) == 5


def test_utf8_rules():
    assert SC.utf8_bytes(b"\xef\xbb\xbf4") == b"\xef\xbb\xbf4"  # a BOM is valid UTF-8
    for bad in (b"\xff", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"a\x80"):
        assert SC.utf8_bytes(bad) is None
    assert SC.utf8_bytes("\ud800") is None
    assert SC.utf8_bytes("ok \u3000") == "ok \u3000".encode()
    assert SC.utf8_bytes(bytearray(b"12")) == b"12"


# ---------------------------------------------------------------------------------------------
# AHC039 rules beyond the goldens
# ---------------------------------------------------------------------------------------------

UNIT = ["4", "0", "0", "1", "0", "1", "1", "0", "1"]


@pytest.mark.parametrize("sep", sorted(SC.WHITESPACE))
def test_ahc039_every_white_space_separates(sep):
    assert S39.score(SMALL39, sep.join(UNIT) + sep) == SC.CaseScore.ac(2)  # (1,1) on the corner


@pytest.mark.parametrize("sep", ["\x1c", "\x1d", "\x1e", "\x1f", "\u200b", "\u180e", "\ufeff", "\x00", "\u2060"])
def test_ahc039_lookalikes_do_not_separate(sep):
    res = S39.score(SMALL39, "4\n0" + sep + "0\n1 0\n1 1\n0 1\n")
    assert res == SC.CaseScore.wa(f"Parse error: 0{sep}0")


@pytest.mark.parametrize(
    "out,msg",
    [
        ("4\n0 0\n1 0\n1 1\n0 1\n7", "Unexpected EOF"),
        ("4\n0 0\n1 0\n1 1\n0 -1\n", "Out of range: -1"),
        ("4\n0 0\n1 0\n1 1\n0 -0001\n", "Out of range: -1"),
        ("4\n0 0\n1 0\n1 1\n-0 +1\n", None),
        ("4\n0 0\n1 0\n1 1\n0\n", "Unexpected EOF"),
        ("4\n0 0\n1 0\n1 1\nx\n", "Parse error: x"),
        ("4\n0 0\n1 0\n1 1\n0 100001\n", "Out of range: 100001"),
        ("4\n0 0\n1 0\n1 00000000000000000000000000100000\n0 100000\n", None),
        (
            "4\n0 0\n1 0\n1 1\n0 00000000000000000000000000100000\n",
            "The 2-th edge is not parallel to the axes. ((1, 1) - (0, 100000))",
        ),
        ("4\n0 0\n1 0\n1 1\n0 9223372036854775807\n", "Out of range: 9223372036854775807"),
        ("4\n0 0\n1 0\n1 1\n0 9223372036854775808\n", "Parse error: 9223372036854775808"),
        ("4\n0 0\n1 0\n1 1\n0 -9223372036854775808\n", "Out of range: -9223372036854775808"),
        ("4\n0 0\n1 0\n1 1\n0 -9223372036854775809\n", "Parse error: -9223372036854775809"),
        ("2147483647\n", "Out of range: 2147483647"),
        ("-2147483649\n", "Parse error: -2147483649"),
        ("+1000\n" + "0 0\n" * 1000, "Two consecutive vertices share the same coordinates."),
        ("00004 0 0 1 0 1 1 0 1 4", "Unexpected EOF"),
    ],
)
def test_ahc039_parse_rules(out, msg):
    expected = SC.CaseScore.ac(2) if msg is None else SC.CaseScore.wa(msg)  # AC: (1,1) on the boundary
    assert S39.score(SMALL39, out) == expected
    assert _triple(S39.score(SMALL39, out)) == H.ref_score_ahc039(SMALL39, out.encode())


def test_ahc039_only_last_polygon_validated_but_all_parsed():
    diag = "4\n0 0\n10 10\n0 10\n10 0\n"
    sq = "4\n0 0\n10 0\n10 10\n0 10\n"
    assert S39.score(SMALL39, diag + sq) == SC.CaseScore.ac(2)
    assert S39.score(SMALL39, sq + diag).message == "The 0-th edge is not parallel to the axes. ((0, 0) - (10, 10))"
    assert S39.score(SMALL39, "4\n0 0\n10 0\n10 10\n0 1x\n" + sq) == SC.CaseScore.wa("Parse error: 1x")


# ---------------------------------------------------------------------------------------------
# AHC058 rules beyond the goldens
# ---------------------------------------------------------------------------------------------

ACTS = ["0 0"] + ["-1"] * 499


@pytest.mark.parametrize("sep", sorted(SC.WHITESPACE - {"\n"}))
def test_ahc058_every_non_newline_white_space_separates_tokens(sep):
    out = "\n".join(a.replace(" ", sep) for a in ACTS) + "\n"
    assert S58.score(SMALL58, out) == SC.CaseScore.ac(896578)


@pytest.mark.parametrize("sep", sorted(SC.WHITESPACE - {"\n"}))
def test_ahc058_only_newline_breaks_lines(sep):
    out = "0 0" + sep + "-1\n" + "\n".join(ACTS[2:]) + "\n"
    assert S58.score(SMALL58, out) == SC.CaseScore.wa(f"Too many tokens: 0 0{sep}-1")


def test_ahc058_comments_blank_and_trailing_garbage():
    out = "\n".join(["# plan", "  #indented", "#", "", " \t ", "\u3000"] + ACTS + ["foo", "9 9 9"])
    assert S58.score(SMALL58, out) == SC.CaseScore.ac(896578)
    assert S58.score(SMALL58, out.encode() + b"\xff") == SC.CaseScore.wa("not utf-8")
    assert S58.score(SMALL58, "\n".join(ACTS[:10] + ["0 0 # c"] + ACTS[11:])) == SC.CaseScore.wa(
        "Too many tokens: 0 0 # c"
    )


@pytest.mark.parametrize(
    "line,msg",
    [
        ("0", "Unexpected EOF"),
        ("4 0", "Out of range: 4"),
        ("-2", "Out of range: -2"),
        ("0 10", "Out of range: 10"),
        ("0 -0", "Parse error: -0"),
        ("0 +0", None),
        ("-0 9", None),
        ("-01", None),
        ("0 18446744073709551615", "Out of range: 18446744073709551615"),
        ("0 18446744073709551616", "Parse error: 18446744073709551616"),
        ("2147483648 0", "Parse error: 2147483648"),
        ("-2147483648 0", "Out of range: -2147483648"),
        ("-1 0", "Too many tokens: -1 0"),
        ("- 1", "Parse error: -"),
        ("#x", None),
        ("\ufeff-1", "Parse error: \ufeff-1"),
        ("-1\x00", "Parse error: -1\x00"),
    ],
)
def test_ahc058_action_rules(line, msg):
    out = "\n".join(["-1"] * 10 + [line] + ["-1"] * 489) + "\n"
    got = S58.score(SMALL58, out)
    assert _triple(got) == H.ref_score_ahc058(SMALL58, out.encode())
    if msg is None:
        assert got.verdict == "AC" or got.message.startswith(("Not enough", "Non-positive"))
    else:
        assert got == SC.CaseScore.wa(msg)


def test_ahc058_wraps_in_signed_64_bits():
    # A_j = 10^18: the first production overflows i64 (reference: the goldens' overflow records).
    text = (
        "10 4 500 1\n"
        + " ".join(["1000000000000000000"] * 10)
        + "\n"
        + "\n".join(" ".join(["1"] * 10) for _ in range(4))
        + "\n"
    )
    out = "0 0\n" + "-1\n" * 499
    got = S58.score(text, out)
    assert _triple(got) == H.ref_score_ahc058(text, out.encode())
    apples = (1 - 1 + 500 * 10**18) % 2**64
    apples = apples - 2**64 if apples >= 2**63 else apples
    assert apples > 0
    assert got == SC.CaseScore.ac(SC.round_half_away_from_zero(100000.0 * math.log2(float(apples))))


# ---------------------------------------------------------------------------------------------
# Adversarial outputs
# ---------------------------------------------------------------------------------------------


def _comb_1000() -> str:
    """A valid 1000-vertex polygon: 499 columns of width 200, alternating heights 50000 / 49900."""
    k, w = 499, 200
    pts = [(0, 0), (k * w, 0)]
    for c in range(k - 1, -1, -1):
        h = 50000 if c % 2 == 0 else 49900
        pts += [(c * w + w, h), (c * w, h)]
    assert len(pts) == 1000
    return "1000\n" + "".join(f"{x} {y}\n" for x, y in pts)


@needs_data
def test_1000_vertex_polygon_well_under_a_second():
    text = H.input_text("ahc039", 0)
    S39.parse_input(text)
    out = _comb_1000()
    t = time.perf_counter()
    got = S39.score(text, out)
    elapsed = time.perf_counter() - t
    assert got.verdict == "AC"
    inp = S39.parse_input(text)
    inside = [y <= (50000 if (x // 200) % 2 == 0 or x % 200 == 0 else 49900) and x <= 99800 for x, y in inp.points]
    assert got.score == max(0, 1 + sum(inside[: inp.n]) - sum(inside[inp.n :]))
    assert elapsed < 1.0, elapsed


@pytest.mark.slow
@needs_data
def test_60_mib_of_valid_polygons_in_bounded_time():
    text = H.input_text("ahc039", 1)
    strong = H.record_output_bytes(_record("ahc039", "ahc039-0002"))
    tail = b"4\n0 0\n100000 0\n100000 100000\n0 100000\n"
    out = strong * ((60 << 20) // len(strong)) + tail
    t = time.perf_counter()
    got = S39.score(text, out)
    elapsed = time.perf_counter() - t
    assert got == SC.CaseScore.ac(1)
    assert elapsed < 30.0, elapsed
    # Many tiny polygons (3.5 million), then a bad token at the very end.
    tiny = b"4 0 0 1 0 1 1 0 1\n" * ((60 << 20) // 18)
    t = time.perf_counter()
    assert S39.score(text, tiny) == SC.CaseScore.ac(1)
    assert S39.score(text, tiny + b"+-1") == SC.CaseScore.wa("Parse error: +-1")
    assert time.perf_counter() - t < 60.0


@pytest.mark.parametrize("where", ["m", "x", "y"])
def test_huge_digit_tokens_ahc039(where):
    big = "1" * 100_000
    toks = list(UNIT)
    toks[{"m": 0, "x": 3, "y": 4}[where]] = big
    got = S39.score(SMALL39, " ".join(toks))
    assert got == SC.CaseScore.wa(f"Parse error: {big}")
    zeros = "0" * 100_000
    toks = list(UNIT)
    toks[{"m": 0, "x": 3, "y": 4}[where]] = zeros + toks[{"m": 0, "x": 3, "y": 4}[where]]
    assert S39.score(SMALL39, " ".join(toks)) == SC.CaseScore.ac(2)


@pytest.mark.parametrize("line,token", [("1" * 100_000 + " 0", "1" * 100_000), ("0 " + "9" * 100_000, "9" * 100_000)])
def test_huge_digit_tokens_ahc058(line, token):
    out = line + "\n" + "-1\n" * 499
    assert S58.score(SMALL58, out) == SC.CaseScore.wa(f"Parse error: {token}")
    padded = "0 " + "0" * 100_000 + "1\n" + "-1\n" * 499  # a valid id 1 with 100,000 leading zeros
    assert _triple(S58.score(SMALL58, padded)) == H.ref_score_ahc058(SMALL58, padded.encode()) == ("AC", 896578, "")


def test_nul_surrogates_bom_cr_only():
    unit = " ".join(UNIT)
    # NUL inside a token / as a separator
    assert S39.score(SMALL39, unit.replace(" ", "\x00", 1)) == SC.CaseScore.wa("Parse error: 4\x000")
    # a lone surrogate encoded as bytes (CESU-style) is invalid UTF-8; so is a str holding one
    assert S39.score(SMALL39, unit.encode() + b" \xed\xa0\x80") == SC.CaseScore.wa("not utf-8")
    assert S39.score(SMALL39, unit + " \ud800") == SC.CaseScore.wa("not utf-8")
    assert S58.score(SMALL58, "\n".join(ACTS).encode() + b"\n\xed\xb0\x80") == SC.CaseScore.wa("not utf-8")
    assert S58.score(SMALL58, "\n".join(ACTS) + "\udc80") == SC.CaseScore.wa("not utf-8")
    # BOM
    assert S39.score(SMALL39, "\ufeff" + unit) == SC.CaseScore.wa("Parse error: \ufeff4")
    assert S58.score(SMALL58, "\ufeff" + "\n".join(ACTS)) == SC.CaseScore.wa("Parse error: \ufeff0")
    # CR-only line endings: whitespace for AHC039, one long line for AHC058
    assert S39.score(SMALL39, "\r".join(UNIT) + "\r") == SC.CaseScore.ac(2)
    got = S58.score(SMALL58, "\r".join(ACTS) + "\r")
    assert got == SC.CaseScore.wa("Too many tokens: " + "\r".join(ACTS))


def test_ahc058_a_million_comment_lines_in_bounded_time():
    out = "# thinking about apples\n" * 1_000_000 + "\n".join(ACTS) + "\n"
    t = time.perf_counter()
    assert S58.score(SMALL58, out) == SC.CaseScore.ac(896578)
    assert S58.score(SMALL58, out.encode()) == SC.CaseScore.ac(896578)
    assert time.perf_counter() - t < 10.0


def test_ahc058_floods_in_bounded_time():
    t = time.perf_counter()
    for prefix in (b"\n" * (8 << 20), b"#\n" * (4 << 20), b" \r\n" * (2 << 20), "\u3000\n".encode() * (2 << 20)):
        assert S58.score(SMALL58, prefix + "\n".join(ACTS).encode()) == SC.CaseScore.ac(896578)
    assert time.perf_counter() - t < 20.0


# ---------------------------------------------------------------------------------------------
# Fuzzing: never raises; differential against the reference transliterations
# ---------------------------------------------------------------------------------------------


def _sane(res) -> None:
    assert isinstance(res, SC.CaseScore)
    assert res.verdict in ("AC", "WA")
    assert isinstance(res.score, int) and res.score >= 0
    if res.verdict == "WA":
        assert res.score == 0 and res.message
    else:
        assert res.message == ""


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_bytes_never_raise(data):
    for mod, inp in ((S39, SMALL39), (S58, SMALL58)):
        _sane(mod.score(inp, data))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_text_never_raise(text):
    for mod, inp in ((S39, SMALL39), (S58, SMALL58)):
        _sane(mod.score(inp, text))


_SEPS = sorted(SC.WHITESPACE) + ["\x1c", "\x1f", "\u200b", "\ufeff", "\x00"]
_WEIRD = [
    "+",
    "-",
    "+-1",
    "1e5",
    "0x10",
    "1_0",
    "\u0663",
    "#",
    "x",
    "4.0",
    "99999999999999999999",
    "2147483648",
    "-2147483649",
    "18446744073709551616",
    "0" * 30 + "5",
]


@st.composite
def _spelled_int(draw, value: int) -> str:
    s = str(abs(value))
    if draw(st.integers(0, 5)) == 0:
        s = "0" * draw(st.integers(1, 25)) + s
    if value < 0:
        return "-" + s
    sign = draw(st.sampled_from(["", "", "", "+", "-" if value == 0 else ""]))
    return sign + s


@st.composite
def _ahc039_outputs(draw) -> str:
    """Token soups built from near-valid polygons: histogram polygons on a 0..40 grid (valid), random
    vertex lists, then spelled with odd separators and spellings and lightly mutated."""
    polys = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 2))
        if kind == 0:
            cols = draw(st.integers(1, 6))
            w = draw(st.integers(1, 6))
            x0 = draw(st.integers(0, 10))
            y0 = draw(st.integers(0, 10))
            hs = [draw(st.integers(1, 25)) for _ in range(cols)]
            pts = [(x0, y0), (x0 + cols * w, y0)]
            for c in range(cols - 1, -1, -1):
                pts += [(x0 + c * w + w, y0 + hs[c]), (x0 + c * w, y0 + hs[c])]
        elif kind == 1:
            a, b = sorted(draw(st.lists(st.integers(0, 40), min_size=2, max_size=2, unique=True)))
            c, d = sorted(draw(st.lists(st.integers(0, 40), min_size=2, max_size=2, unique=True)))
            pts = [(a, c), (b, c), (b, d), (a, d)]
        else:
            pts = draw(st.lists(st.tuples(st.integers(-1, 41), st.integers(-1, 41)), min_size=3, max_size=8))
        if draw(st.booleans()):
            pts = pts[::-1]
        toks = [draw(_spelled_int(len(pts)))]
        for x, y in pts:
            toks += [draw(_spelled_int(x)), draw(_spelled_int(y))]
        polys.append(toks)
    toks = [t for p in polys for t in p]
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.integers(0, 2))
        if op == 0 and toks:
            del toks[draw(st.integers(0, len(toks) - 1))]
        elif op == 1:
            toks.insert(draw(st.integers(0, len(toks))), draw(st.sampled_from(_WEIRD)))
        elif toks:
            toks[draw(st.integers(0, len(toks) - 1))] = str(draw(st.integers(-2, 100001)))
    out = draw(st.sampled_from(["", " ", "\n"]))
    for t in toks:
        out += t + draw(st.sampled_from(_SEPS[:25] * 3 + _SEPS))
    return out


_FUZZ39_INPUT = None


def _fuzz39_input() -> str:
    global _FUZZ39_INPUT
    if _FUZZ39_INPUT is None:
        rnd = random.Random(39)
        pts = rnd.sample([(x, y) for x in range(0, 45) for y in range(0, 45)], 120)
        _FUZZ39_INPUT = "60\n" + "".join(f"{x} {y}\n" for x, y in pts)
    return _FUZZ39_INPUT


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ahc039_outputs(), st.sampled_from([None, 1, 5, 16]), st.booleans())
def test_fuzz_ahc039_differential(out, chunk, use_fromstring):
    inp = _fuzz39_input()
    data = out.encode("utf-8", errors="surrogatepass")
    expected = H.ref_score_ahc039(inp, data)
    with _patched(S39, CHUNK_BYTES=chunk or S39.CHUNK_BYTES, USE_FROMSTRING=use_fromstring):
        got = S39.score(inp, data)
    assert _triple(got) == expected


@st.composite
def _ahc058_outputs(draw) -> str:
    """Action lists around T = 500 lines with a per-example noise level: odd lines (comments, blank,
    malformed actions) and odd separators (CR, U+2028, NBSP, ...)."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    noise = draw(st.sampled_from([0.0, 0.0, 0.001, 0.01, 0.1]))
    n_lines = draw(st.sampled_from([0, 1, 499, 500, 500, 500, 501, 510, rnd.randrange(0, 520)]))
    buy = rnd.choice([0.02, 0.1, 0.3])
    lines = []
    for _ in range(n_lines):
        r = rnd.random()
        if r < noise / 2:
            lines.append(rnd.choice(["# c", "", "  ", "\t#", "\u3000"]))
        elif r < noise:
            lines.append(
                rnd.choice(
                    [
                        "0",
                        "4 0",
                        "-2",
                        "0 10",
                        "0 -0",
                        "+0 +1",
                        "-0 1",
                        "-01",
                        "- 1",
                        "0 0 0",
                        "-1 0",
                        "x",
                        "0\x1f0",
                        "\ufeff-1",
                        "0\xa01",
                        "0\x0b0",
                        "0 18446744073709551615",
                        "2147483648 0",
                        "0" * 30 + "0 1",
                    ]
                )
            )
        elif r < noise + buy:
            lines.append(f"{rnd.choice([0, 0, 0, 1, 2, 3])} {rnd.randrange(10)}")
        else:
            lines.append("-1")
    out = ""
    for line in lines:
        sep = "\n" if rnd.random() >= noise else rnd.choice(["\r\n", "\r", "\u2028", "\x0b\n", " \n"])
        if rnd.random() < noise:
            line = line.replace(" ", rnd.choice(["\t", "\xa0", "\u2000", "\x1f"]))
        out += line + sep
    if draw(st.booleans()) and out.endswith("\n"):
        out = out[:-1]
    return out


# Crafted input outside the official constraints (as in the goldens' overflow records): apples wrap.
WRAP58 = "10 4 500 1\n1" + " 1000000" * 9 + "\n" + "\n".join(" ".join(["1"] * 10) for _ in range(4)) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ahc058_outputs(), st.sampled_from([None, 1, 3, 64]), st.sampled_from([SMALL58, WRAP58]))
def test_fuzz_ahc058_differential(out, chunk, inp):
    data = out.encode("utf-8")
    expected = H.ref_score_ahc058(inp, data)
    with _patched(S58, CHUNK_BYTES=chunk or S58.CHUNK_BYTES):
        got = S58.score(inp, data)
    assert _triple(got) == expected


@needs_data
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_golden_mutations_never_raise(data):
    """Byte-level mutations of golden outputs: never raise, always AC or WA."""
    problem = data.draw(st.sampled_from(["ahc039", "ahc058"]))
    recs = H.golden_records(problem)
    rec = recs[data.draw(st.integers(0, len(recs) - 1))]
    out = bytearray(H.record_output_bytes(rec))
    for _ in range(data.draw(st.integers(1, 4))):
        if not out:
            break
        i = data.draw(st.integers(0, len(out) - 1))
        op = data.draw(st.integers(0, 2))
        if op == 0:
            out[i] = data.draw(st.integers(0, 255))
        elif op == 1:
            del out[i]
        else:
            out[i:i] = data.draw(st.binary(min_size=1, max_size=4))
    _sane(SCORERS[problem].score(H.record_input(rec), bytes(out)))
