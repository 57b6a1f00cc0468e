"""Malformed constructions for the math problems: strict JSON, shapes, sizes, element types, and scores a
submission reports about itself (docs/math.md, "Adversarial inputs"). A test written for one problem
runs for the others too where it applies (parametrized over the five problems).
"""

from __future__ import annotations

import json
import time
from fractions import Fraction

import advhelpers as H
import pytest
from advhelpers import (
    BASE_SCORE,
    CP_PROBLEMS,
    MINIMISE,
    PROBLEM_IDS,
    RESULT_CAPS,
    SEQUENCE_PROBLEMS,
    base_construction,
    fixture,
    grid,
    returning,
    verifier,
)

ALL = tuple(H.PROBLEMS)


def n_of(problem: str) -> int:
    return int(problem[2:]) if problem in CP_PROBLEMS else 4


def with_token(problem: str, token: str, index: int = 2, component: int = 2) -> tuple[str, str]:
    """JSON text of a valid-shaped construction with one number replaced by `token` (raw JSON text),
    and the name the message must use for that position."""
    if problem in SEQUENCE_PROBLEMS:
        items = ["0.5"] * 4
        items[index] = token
        return "[" + ", ".join(items) + "]", f"[{index}]"
    circles = [[repr(v) for v in c] for c in grid(n_of(problem))]
    circles[index][component] = token
    return "[" + ", ".join("[" + ", ".join(c) + "]" for c in circles) + "]", f"circle {index}"


GRID_SRC = "[[(2 * i + 1) / 16, (2 * j + 1) / 16, 1 / 16] for j in range(4) for i in range(8)][:{n}]"


def program_with(
    problem: str, value_expr: str, index: int = 2, component: int = 2, imports: str = "import numpy as np"
) -> str:
    """A program returning a valid-shaped construction with one element replaced by `value_expr`."""
    if problem in SEQUENCE_PROBLEMS:
        body = f"h = [0.5] * 4\n    h[{index}] = {value_expr}\n    return h"
    else:
        body = f"g = {GRID_SRC.format(n=n_of(problem))}\n    g[{index}][{component}] = {value_expr}\n    return g"
    return f"{imports}\n\ndef run(budget_s, seed):\n    {body}\n"


def assert_rejected(verdict, *substrings: str) -> None:
    assert verdict.status == "rejected", (verdict.status, verdict.message)
    assert verdict.score is None and not verdict.accepted
    for s in substrings:
        assert s in verdict.message, (s, verdict.message)


# -- non-finite JSON tokens ------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("problem", ALL)
def test_nonfinite_json_tokens(problem, token):
    text, where = with_token(problem, token)
    v = verifier(problem).verify(text)
    assert_rejected(v, "non-finite", where, token)
    assert v.details["artifact_kind"] == "json"


def test_nonfinite_token_fixture_file():
    v = verifier("erdos").verify(fixture("erdos_nan_tokens.json"))
    assert_rejected(v, "non-finite", "h[2]")


# -- programs returning non-finite values ----------------------------------------------------------


@pytest.mark.parametrize("expr", ['float("nan")', 'float("inf")', '-float("inf")', "np.nan", "np.float32('inf')"])
@pytest.mark.parametrize("problem", ALL)
def test_program_returns_nonfinite(problem, expr):
    v = verifier(problem).verify(program_with(problem, expr))
    assert v.details["artifact_kind"] == "program"
    assert_rejected(v, "non-finite", "[2]" if problem in SEQUENCE_PROBLEMS else "circle 2")


@pytest.mark.parametrize("problem", SEQUENCE_PROBLEMS)
def test_program_returns_nonfinite_numpy_array(problem):
    v = verifier(problem).verify(returning("np.array([0.5, 0.5, 0.5, np.nan])"))
    assert_rejected(v, "non-finite", "[3]")


# -- overflowing literals --------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["1e400", "-1e400", "1e99999999"])
@pytest.mark.parametrize("problem", ALL)
def test_overflowing_literal(problem, token):
    text, where = with_token(problem, token)
    assert_rejected(verifier(problem).verify(text), "non-finite", where)


# -- NaN circle centres ----------------------------------------------------------------------------


@pytest.mark.parametrize("component", [0, 1])
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_circle_nan_centre_json(problem, component):
    # openevolve#285: a NaN centre makes "x - r < 0" false, so a naive check lets it through.
    text, where = with_token(problem, "NaN", index=7, component=component)
    assert_rejected(verifier(problem).verify(text), "non-finite", "circle 7")


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_circle_nan_centre_program(problem):
    v = verifier(problem).verify(program_with(problem, 'float("nan")', index=7, component=0))
    assert_rejected(v, "non-finite", "circle 7")


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_all_nan_centres_with_big_radii(problem):
    n = n_of(problem)
    text = "[" + ", ".join(["[NaN, NaN, 0.5]"] * n) + "]"
    assert_rejected(verifier(problem).verify(text), "non-finite", "circle 0")


# -- elements of the wrong type --------------------------------------------------------------------


@pytest.mark.parametrize("token,kind", [('"0.5"', "string"), ("null", "null"), ("{}", "object")])
@pytest.mark.parametrize("problem", ALL)
def test_element_wrong_type(problem, token, kind):
    text, where = with_token(problem, token)
    assert_rejected(verifier(problem).verify(text), kind, where)


# -- booleans --------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["true", "false"])
@pytest.mark.parametrize("problem", ALL)
def test_json_booleans(problem, token):
    text, where = with_token(problem, token)
    assert_rejected(verifier(problem).verify(text), "booleans are not numbers", where)


@pytest.mark.parametrize(
    "expr", ["np.array([True, False, True, True])", "[np.bool_(True)] * 4", "[True, 1.0, 0.0, 1.0]"]
)
@pytest.mark.parametrize("problem", SEQUENCE_PROBLEMS)
def test_program_booleans(problem, expr):
    assert_rejected(verifier(problem).verify(returning(expr)), "booleans are not numbers")


@pytest.mark.parametrize("expr", ["True", "np.bool_(False)"])
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_program_booleans_in_circle(problem, expr):
    assert_rejected(
        verifier(problem).verify(program_with(problem, expr, index=4, component=2)), "booleans are not numbers"
    )


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_numpy_bool_array_circles(problem):
    expr = f"np.ones(({n_of(problem)}, 3), dtype=bool)"
    assert_rejected(verifier(problem).verify(returning(expr)), "booleans are not numbers")


# -- nested lists where numbers belong -------------------------------------------------------------


@pytest.mark.parametrize("problem", SEQUENCE_PROBLEMS)
def test_nested_list_in_flat_sequence(problem):
    assert_rejected(verifier(problem).verify("[[0.5], [0.5]]"), "expected a flat list", "[0]")
    assert_rejected(verifier(problem).verify(returning("[[0.5], [0.5]]")), "expected a flat list")
    assert_rejected(verifier(problem).verify(returning("np.array([[0.5], [0.5]])")), "dimensions")


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_nested_list_inside_circle(problem):
    text, where = with_token(problem, "[0.5]", index=3, component=0)
    assert_rejected(verifier(problem).verify(text), "array", where)


# -- deep nesting ----------------------------------------------------------------------------------

DEPTH = 100_000


@pytest.mark.parametrize("shape", ["arrays", "objects", "mixed_in_construction"])
@pytest.mark.parametrize("problem", ALL)
def test_deep_nesting(problem, shape):
    # 100,000 levels where the problem's size cap allows it; 8,000 (far past the interpreter's
    # recursion limit) under circle packing's 64 KiB cap, so that the depth check is what answers.
    depth = DEPTH if problem in SEQUENCE_PROBLEMS else 8_000
    if shape == "arrays":
        text = "[" * depth + "]" * depth
    elif shape == "objects":
        text = '{"construction": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    else:
        text = '{"construction": [0.5, ' + "[" * depth + "]" * depth + "]}"
    assert len(text) <= RESULT_CAPS[problem]
    v = verifier(problem).verify(text)  # must not raise RecursionError
    assert_rejected(v, "nesting too deep")


@pytest.mark.parametrize("problem", ["erdos", "ac1", "cp26"])
def test_deep_nesting_in_program_result(problem):
    depth = DEPTH if problem in SEQUENCE_PROBLEMS else 8_000
    payload = f"b'{{\"value\": ' + b'[' * {depth} + b']' * {depth} + b'}}'"
    v = verifier(problem).verify(fixture("write_fd3_then_exit.py", payload=payload))
    assert_rejected(v, "nesting too deep")


# -- integers a float cannot hold ------------------------------------------------------------------


@pytest.mark.parametrize(
    "token,needle",
    [
        ("1" * 5000, "too long"),
        ("-" + "9" * 5000, "too long"),
        (str(2**60 + 1), "not exactly representable"),
        (str(2**53 + 1), "not exactly representable"),
    ],
)
@pytest.mark.parametrize("problem", ALL)
def test_unrepresentable_integers(problem, token, needle):
    text, where = with_token(problem, token)
    assert_rejected(verifier(problem).verify(text), needle, where)


@pytest.mark.parametrize(
    "expr,needle",
    [
        ("2**60 + 1", "not exactly representable"),
        ("10**400", "too large"),
        ("np.int64(2**60 + 1)", "not exactly representable"),
        ("np.uint64(2**64 - 1)", "not exactly representable"),
    ],
)
@pytest.mark.parametrize("problem", ALL)
def test_program_returns_unrepresentable_integer(problem, expr, needle):
    assert_rejected(verifier(problem).verify(program_with(problem, expr)), needle)


def test_integer_array_with_unrepresentable_value():
    v = verifier("ac1").verify(returning("np.array([1, 2**60 + 1], dtype=np.int64)"))
    assert_rejected(v, "not exactly representable")


# -- duplicate keys and trailing data --------------------------------------------------------------


def test_duplicate_key():
    assert_rejected(verifier("erdos").verify(fixture("duplicate_key.json")), "duplicate key", "construction")


@pytest.mark.parametrize("problem", ALL)
def test_duplicate_key_all_problems(problem):
    c = json.dumps(base_construction(problem))
    text = f'{{"construction": {c}, "construction": {c}}}'
    assert_rejected(verifier(problem).verify(text), "duplicate key")


def test_trailing_data():
    assert_rejected(verifier("erdos").verify(fixture("trailing_data.json")), "trailing data")


@pytest.mark.parametrize("suffix", [" x", " []", ", 0.5", "]"])
@pytest.mark.parametrize("problem", ALL)
def test_trailing_data_all_problems(problem, suffix):
    text = json.dumps(base_construction(problem)) + suffix
    v = verifier(problem).verify(text)
    assert v.status == "rejected", v.message
    assert "trailing data" in v.message or "invalid JSON" in v.message


# -- objects without a construction, or for another problem ----------------------------------------


@pytest.mark.parametrize("problem", ALL)
def test_object_without_construction(problem):
    text = json.dumps({"constructions": base_construction(problem), "problem": PROBLEM_IDS[problem]})
    assert_rejected(verifier(problem).verify(text), 'no "construction" key')


@pytest.mark.parametrize("problem", ALL)
def test_problem_names_another_id(problem):
    other = "AutocorrelationAC2-v0" if problem != "ac2" else "ErdosMinOverlap-v0"
    text = json.dumps({"problem": other, "construction": base_construction(problem)})
    assert_rejected(verifier(problem).verify(text), "for problem", other)
    # the matching id is accepted (the data files are actions as they stand)
    ok = verifier(problem).verify(
        json.dumps({"problem": PROBLEM_IDS[problem], "construction": base_construction(problem)})
    )
    assert ok.status == "accepted", ok.message


def test_cp26_file_given_to_cp32():
    text = json.dumps({"problem": "CirclePacking26-v0", "construction": grid(26)})
    assert_rejected(verifier("cp32").verify(text), "CirclePacking26-v0")


# -- empty lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize("problem", SEQUENCE_PROBLEMS)
def test_empty_list(problem):
    assert_rejected(verifier(problem).verify("[]"), "n must be ≥ 1")
    assert_rejected(verifier(problem).verify('{"construction": []}'), "n must be ≥ 1")
    assert_rejected(verifier(problem).verify(returning("[]")), "n must be ≥ 1")


@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_empty_list_circles(problem):
    n = n_of(problem)
    assert_rejected(verifier(problem).verify("[]"), "got 0 circles", f"n = {n}")
    assert_rejected(verifier(problem).verify(returning("[]")), "0 circles", f"n = {n}")


# -- wrong lengths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "problem,n,limit", [("erdos", 10_001, "10,000"), ("ac1", 100_001, "100,000"), ("ac2", 100_001, "100,000")]
)
def test_sequence_too_long(problem, n, limit):
    text = "[" + ",".join(["0.5"] * n) + "]"
    assert_rejected(verifier(problem).verify(text), f"{n:,}", limit)
    # the same through a program (the harness refuses it before serialising)
    v = verifier(problem).verify(returning(f"[0.5] * {n}"))
    assert v.status == "rejected", v.message
    assert str(n) in v.message.replace(",", "") and limit.replace(",", "") in v.message.replace(",", "")


@pytest.mark.parametrize(
    "problem,count", [("cp26", 25), ("cp26", 27), ("cp26", 32), ("cp32", 26), ("cp32", 31), ("cp32", 33)]
)
def test_wrong_number_of_circles(problem, count):
    n = n_of(problem)
    circles = (grid(32) * 2)[:count]
    assert_rejected(verifier(problem).verify(json.dumps(circles)), f"{count} circles", f"n = {n}")
    v = verifier(problem).verify(returning(json.dumps(circles)))
    assert v.status == "rejected", v.message
    assert str(count) in v.message and str(n) in v.message


@pytest.mark.parametrize("problem", ["erdos", "ac1"])
def test_boundary_length_accepted(problem):
    n = 10_000 if problem == "erdos" else 100_000
    v = verifier(problem).verify("[" + ",".join(["0.5"] * n) + "]")
    assert v.status == "accepted", v.message
    assert v.details["n"] == n


# -- actions and results over the size caps --------------------------------------------------------

CAP_TEXT = {"erdos": "1 MiB", "ac1": "8 MiB", "ac2": "8 MiB", "cp26": "64 KiB", "cp32": "64 KiB"}


def padded(problem: str, size: int) -> str:
    """A valid construction padded with inner whitespace to exactly `size` bytes."""
    body = json.dumps(base_construction(problem))
    return body[:-1] + " " * (size - len(body)) + "]"


@pytest.mark.parametrize("problem", ALL)
def test_json_action_just_over_the_cap(problem):
    cap = RESULT_CAPS[problem]
    over = padded(problem, cap + 1)
    assert len(over.encode()) == cap + 1
    assert_rejected(verifier(problem).verify(over), "larger than the", CAP_TEXT[problem])
    at_cap = verifier(problem).verify(padded(problem, cap))
    assert at_cap.status == "accepted", at_cap.message
    assert at_cap.score == H.round_float(BASE_SCORE[problem], MINIMISE[problem])


@pytest.mark.parametrize("problem", ALL)
def test_program_returns_1e8_numbers(problem):
    expr = "[0.5] * 10**8" if problem in SEQUENCE_PROBLEMS else "[[0.5, 0.5, 0.0]] * 10**8"
    t0 = time.monotonic()
    v = verifier(problem, budget_s=10).verify(returning(expr))
    assert v.status == "rejected", v.message
    assert "100000000" in v.message.replace(",", "")
    assert time.monotonic() - t0 < 8


@pytest.mark.parametrize("problem", ALL)
def test_program_writes_past_the_cap_on_the_result_channel(problem, monkeypatch):
    from verifiers import sandbox

    cap = RESULT_CAPS[problem]
    seen = []
    real_run = sandbox.run

    def spy(**kw):
        res = real_run(**kw)
        seen.append(res)
        return res

    monkeypatch.setattr(sandbox, "run", spy)
    payload = f"b'[' + b'0.5,' * {cap // 4 + 1000} + b'0.5]'"
    v = verifier(problem).verify(fixture("write_fd3_then_exit.py", payload=payload))
    assert_rejected(v, "larger than the", CAP_TEXT[problem])
    assert seen and seen[0].status == "result_too_large"
    assert len(seen[0].result) <= cap + 1  # nothing larger than cap + 1 bytes is kept


# -- circles of the wrong arity --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [[0.5, 0.5], [0.5, 0.5, 0.01, 0.0], [], [0.5]])
@pytest.mark.parametrize("problem", CP_PROBLEMS)
def test_circle_with_wrong_arity(problem, bad):
    circles = grid(n_of(problem))
    circles[5] = bad
    assert_rejected(verifier(problem).verify(json.dumps(circles)), "circle 5", "exactly 3 numbers")
    v = verifier(problem).verify(returning(json.dumps(circles)))
    assert_rejected(v, "5", "exactly 3 numbers")


# -- reported scores are ignored -------------------------------------------------------------------


def test_reported_score_is_ignored_erdos():
    v = verifier("erdos").verify(fixture("erdos_reported_score.json"))
    H.assert_exact_score(v, Fraction(13, 32), up=True)
    assert v.score != 0.1


def test_reported_sum_is_ignored_cp26():
    v = verifier("cp26").verify(fixture("cp26_reported_sum.json"))
    H.assert_exact_score(v, Fraction(13, 8), up=False)


@pytest.mark.parametrize("problem", ["ac1", "ac2"])
def test_reported_score_is_ignored_ac(problem):
    v = verifier(problem).verify(fixture("ac_reported_score.json"))
    H.assert_exact_score(v, BASE_SCORE[problem], up=MINIMISE[problem])


@pytest.mark.parametrize("problem", ALL)
def test_reference_style_tuple(problem):
    if problem in SEQUENCE_PROBLEMS:
        exprs = [f"({base_construction(problem)!r}, 0.1, 4)", f"(np.array({base_construction(problem)!r}), 0.1)"]
    else:
        g = grid(n_of(problem))
        centers, radii = [c[:2] for c in g], [c[2] for c in g]
        exprs = [f"({centers!r}, {radii!r}, 4.01)", f"(np.array({centers!r}), np.array({radii!r}))"]
    for expr in exprs:
        v = verifier(problem).verify(returning(expr))
        assert_rejected(v, "return only the construction")


# -- deep nesting (continued): the depth pre-check must itself be cheap --------------------------------------------


@pytest.mark.parametrize("problem", ["erdos"])
def test_depth_check_runs_in_linear_time(problem):
    text = '["' + '\\"' * 12_000 + "]"  # 24 KB: an unterminated string full of escaped quotes
    t0 = time.monotonic()
    v = verifier(problem).verify(text)
    elapsed = time.monotonic() - t0
    assert v.status == "rejected", v.message
    assert elapsed < 0.5, f"{len(text)} bytes took {elapsed:.2f} s"


# -- messages quote the submission, but only a bounded part of it -----------------


@pytest.mark.parametrize(
    "text",
    [
        "[1e" + "9" * 200_000 + "]",
        "[0." + "1" * 200_000 + "e999]",
        '{"' + "k" * 200_000 + '": 1, "' + "k" * 200_000 + '": 2}',
        '{"problem": "' + "p" * 200_000 + '", "construction": [0.5]}',
    ],
    ids=["inf_literal", "long_mantissa", "duplicate_key", "problem_id"],
)
def test_messages_stay_bounded(text):
    v = verifier("erdos").verify(text)
    assert v.status == "rejected"
    assert len(v.message) <= 2000, len(v.message)
