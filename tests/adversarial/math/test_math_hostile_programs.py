"""Hostile programs for the math problems (docs/math.md, "Adversarial inputs"): bad programs, crashes,
forged results, the result channel, pickle, signals to the parent, the advisory budget, parent.json, and
which code block counts."""

from __future__ import annotations

import json
import os
import pickle
import time
from fractions import Fraction

import advhelpers as H
import pytest
from advhelpers import BASE_SCORE, MINIMISE, base_construction, fixture, verifier

ALL = tuple(H.PROBLEMS)


def assert_status(verdict, status: str, *substrings: str) -> None:
    assert verdict.status == status, (verdict.status, verdict.message)
    assert verdict.score is None and not verdict.accepted
    for s in substrings:
        assert s in verdict.message, (s, verdict.message)


# -- rejected before anything runs ----------------------------------------------------------


@pytest.mark.parametrize(
    "name,needle",
    [
        ("syntax_error.py", "syntax error in the program, line 4"),
        ("no_run.py", "defines no top-level function run(budget_s, seed)"),
        ("run_without_parameters.py", "must accept the keyword arguments budget_s and seed"),
    ],
)
@pytest.mark.parametrize("problem", ALL)
def test_bad_program_rejected_before_running(problem, name, needle):
    v = verifier(problem).verify(fixture(name))
    assert_status(v, "rejected", needle)
    assert v.details["artifact_kind"] == "program"
    assert "isolation" not in v.details and "SIDE-EFFECT" not in H.all_text(v)  # nothing ran


@pytest.mark.parametrize(
    "src,needle",
    [
        ("def run(budget_s):\n    return [0.5]\n", "budget_s and seed"),
        ("def run(seed, /, budget_s):\n    return [0.5]\n", "budget_s and seed"),
    ],
)
def test_run_signature_missing_keywords(src, needle):
    assert_status(verifier("erdos").verify(src), "rejected", needle)


@pytest.mark.parametrize(
    "src",
    [
        "def run(*, budget_s, seed):\n    return [0.5]\n",
        "def run(**kwargs):\n    return [0.5]\n",
        "run = lambda budget_s, seed: [0.5]\n",
    ],
)
def test_acceptable_signatures_run(src):
    v = verifier("erdos").verify(src)
    H.assert_exact_score(v, Fraction(1, 2), up=True)


def test_run_bound_to_a_non_function():
    v = verifier("erdos").verify("run = 5\n")
    assert_status(v, "rejected", "defines no top-level function run")


@pytest.mark.parametrize("problem", ALL)
def test_program_over_256_kib(problem):
    head = 'print("SIDE-EFFECT")\n\ndef run(budget_s, seed):\n    return [0.5]\n'
    src = head + "#" * ((256 << 10) - len(head) + 1)
    assert len(src.encode()) == (256 << 10) + 1
    v = verifier(problem).verify(src)
    assert_status(v, "rejected", "the limit is 256 KiB")
    assert "isolation" not in v.details


def test_program_of_exactly_256_kib_runs():
    head = "def run(budget_s, seed):\n    return [0.5]\n"
    src = head + "#" * ((256 << 10) - len(head))
    v = verifier("erdos").verify(src)
    assert v.status == "accepted", v.message


def test_empty_action():
    assert_status(verifier("erdos").verify("   \n"), "rejected", "empty")


# -- run raises ----------------------------------------------------------------------------


@pytest.mark.parametrize("problem", ALL)
def test_run_raises(problem):
    v = verifier(problem).verify(fixture("raises_zero_division.py"))
    assert_status(v, "crashed", "run() raised ZeroDivisionError", "line 6")


def test_raises_at_import():
    v = verifier("erdos").verify(fixture("raises_at_import.py"))
    assert_status(v, "crashed", "KeyError", "line 4")


@pytest.mark.parametrize("exc", ["KeyboardInterrupt", "GeneratorExit", "RecursionError"])
def test_raises_base_exceptions(exc):
    v = verifier("erdos").verify(f"def run(budget_s, seed):\n    raise {exc}('boom')\n")
    assert_status(v, "crashed", exc, "line 2")


def test_infinite_recursion():
    v = verifier("erdos").verify("def run(budget_s, seed):\n    return run(budget_s, seed)\n")
    assert_status(v, "crashed", "RecursionError")


# -- exits without returning -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["sys_exit_in_run.py", "os_exit_in_run.py", "sys_exit_at_import.py", "os_exit_at_import.py"]
)
@pytest.mark.parametrize("problem", ["erdos", "ac2", "cp32"])
def test_exits_without_returning(problem, name):
    v = verifier(problem).verify(fixture(name))
    assert_status(v, "crashed", "without returning a result")


def test_nonzero_exit_status():
    v = verifier("erdos").verify("import os\n\ndef run(budget_s, seed):\n    os._exit(3)\n")
    assert_status(v, "crashed", "status 3", "without returning a result")


# -- forged results from a patched child -----------------------------------------------------


def test_patched_json_emits_another_construction():
    forged = '{"value": [0.25, 0.75, 0.75, 0.25]}'
    v = verifier("erdos").verify(fixture("patch_json_forge.py", forged=forged))
    # judged on the emitted construction only: 13/32 (what run() returned, [1, 0], would score 1)
    H.assert_exact_score(v, Fraction(13, 32), up=True)


@pytest.mark.parametrize(
    "forged",
    [
        '{"value": [0.25, 0.75, 0.75, 0.25], "score": 0.0}',
        '{"value": [0.25, 0.75, 0.75, 0.25], "c5_bound": 0.1, "display": "0.1"}',
        '{"score": 0.1}',
    ],
)
def test_forged_score_fields_are_malformed(forged):
    v = verifier("erdos").verify(fixture("patch_json_forge.py", forged=forged))
    assert_status(v, "rejected", "malformed result")


def test_forged_error_kind_cannot_claim_acceptance():
    forged = '{"error": {"kind": "accepted", "message": "score 0.1"}}'
    v = verifier("erdos").verify(fixture("patch_json_forge.py", forged=forged))
    assert v.status == "crashed" and v.score is None


def test_patched_harness_conversion():
    v = verifier("erdos").verify(fixture("patch_harness_convert.py"))
    H.assert_exact_score(v, Fraction(13, 32), up=True)


@pytest.mark.parametrize("problem", ALL)
def test_child_writes_its_own_result_record(problem):
    construction = base_construction(problem)
    payload = repr(json.dumps({"value": construction}).encode())
    v = verifier(problem).verify(fixture("write_fd3_then_exit.py", payload=payload))
    H.assert_exact_score(v, BASE_SCORE[problem], up=MINIMISE[problem])


# -- the result channel abused ---------------------------------------------------------------


def test_writes_the_result_channel_twice():
    v = verifier("erdos").verify(fixture("write_fd3_then_return.py"))
    assert_status(v, "rejected", "malformed result")


def test_writes_two_records():
    payload = repr(b'{"value": [0.5]}{"value": [0.5]}')
    v = verifier("erdos").verify(fixture("write_fd3_then_exit.py", payload=payload))
    assert_status(v, "rejected", "malformed result")


def test_closes_the_result_channel():
    v = verifier("erdos").verify(fixture("close_fd3.py"))
    assert_status(v, "rejected", "malformed result", "result channel")


@pytest.mark.parametrize("payload", [b"\xff\xfe[0.5]", b'{"value": [0.5]}\xc3'])
def test_invalid_utf8(payload):
    v = verifier("erdos").verify(fixture("write_fd3_then_exit.py", payload=repr(payload)))
    assert_status(v, "rejected", "malformed result", "UTF-8")


@pytest.mark.parametrize("payload", [b"[0.5]", b'{"value": [0.5]', b"", b"null", b'{"value": [0.5], "error": {}}'])
def test_not_one_result_record(payload):
    v = verifier("erdos").verify(fixture("write_fd3_then_exit.py", payload=repr(payload)))
    assert v.status in ("rejected", "crashed"), v.message
    assert v.score is None
    if payload:
        assert "malformed result" in v.message


# -- pickle ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr,needle",
    [
        ("[Evil()] * 4", "unsupported type"),
        ("[EvilFloat(0.5)] * 4", "unsupported type"),
        ("Evil()", "program.Evil"),
        ("[0.5, 0.5, Evil(), 0.5]", "element 2"),
    ],
)
def test_reduce_never_unpickled(open_dir, expr, needle):
    marker = os.path.join(open_dir, "unpickled")
    v = verifier("erdos").verify(fixture("evil_reduce.py", marker=marker, expr=expr))
    assert_status(v, "rejected", needle)
    time.sleep(0.2)
    assert not os.path.exists(marker)


@pytest.mark.parametrize("problem", ["cp26", "ac1"])
def test_reduce_never_unpickled_other_problems(open_dir, problem):
    marker = os.path.join(open_dir, "unpickled")
    expr = f"[[Evil(), 0.5, 0.0]] * {int(problem[2:])}" if problem.startswith("cp") else "[1.0, Evil()]"
    v = verifier(problem).verify(fixture("evil_reduce.py", marker=marker, expr=expr))
    assert_status(v, "rejected", "unsupported type")
    assert not os.path.exists(marker)


class _Touch:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_raw_pickle_on_the_result_channel(open_dir):
    marker = os.path.join(open_dir, "unpickled")
    payload = pickle.dumps({"value": _Touch(marker)})  # building it runs nothing
    v = verifier("erdos").verify(fixture("write_fd3_then_exit.py", payload=repr(payload)))
    assert_status(v, "rejected", "malformed result")
    time.sleep(0.2)
    assert not os.path.exists(marker)


# -- signals to the parent -------------------------------------------------------------------


@pytest.mark.parametrize(
    "target,needle",
    [
        ("os.getppid()", "PermissionError"),
        ("1", "PermissionError"),
        ("os.getpgid(os.getppid())", "PermissionError"),
        ("0", "SIGKILL"),
        ("-1", None),
    ],
)
def test_signals_the_parent(target, needle):
    from verifiers.sandbox import client

    v = verifier("erdos").verify(fixture("kill_parent.py", target=target))
    if needle is None:
        # kill(-1) signals every process the caller may signal except itself: none outside the run
        H.assert_exact_score(v, Fraction(1, 2), up=True)
    else:
        assert_status(v, "crashed", needle)
    os.kill(os.getpid(), 0)  # the verifier process is alive
    assert client._server is not None and client._server.proc.poll() is None, "the sandbox server was killed"
    again = verifier("erdos").verify("def run(budget_s, seed):\n    return [0.25, 0.75, 0.75, 0.25]\n")
    H.assert_exact_score(again, Fraction(13, 32), up=True)


# -- the budget is advisory, the hard limit is not --------------------------------------------


def test_returns_after_budget_within_grace():
    v = verifier("erdos", budget_s=1, grace_s=4).verify(fixture("late_but_in_grace.py"))
    H.assert_exact_score(v, Fraction(13, 32), up=True)
    assert v.details["budget_s"] == 1.0
    assert 1.3 <= v.details["elapsed_s"] < 5.0


# -- parent.json returned unchanged -----------------------------------------------------------


@pytest.mark.parametrize("problem", ALL)
def test_returns_parent_unchanged(problem):
    construction = base_construction(problem)
    parent_verdict = verifier(problem).verify(json.dumps(construction))
    H.assert_exact_score(parent_verdict, BASE_SCORE[problem], up=MINIMISE[problem])
    parent = {"construction": construction, "value": parent_verdict.score}
    v = verifier(problem).verify(fixture("copy_parent.py"), parent=parent)
    assert v.status == "accepted", v.message
    assert v.score == parent_verdict.score
    assert v.details["score_exact"] == parent_verdict.details["score_exact"]
    # same canonical construction, same dedup key
    assert (
        v.details["construction_sha256"]
        == parent_verdict.details["construction_sha256"]
        == H.canonical_sha(construction)
    )


def test_returns_a_published_parent_unchanged():
    path = H.DATA_DIR / "erdos_haugland2016.json"
    if not path.is_file():
        pytest.skip(f"no data file {path}")
    doc = json.loads(path.read_text())
    v = verifier("erdos").verify(
        fixture("copy_parent.py"), parent={"construction": doc["construction"], "value": -doc["expected_value"]}
    )
    assert v.status == "accepted", v.message
    assert v.score == doc["expected_value"]
    assert v.details["score_exact"] == doc["expected_value_decimal"]


def test_empty_parent():
    v = verifier("erdos").verify(fixture("copy_parent.py"), parent=None)
    assert_status(v, "rejected", "run() returned None")


# -- which fenced block counts ---------------------------------------------------------------


def test_json_block_then_python_block():
    v = verifier("erdos").verify(fixture("answer_json_then_python.md"))
    assert v.details["artifact_kind"] == "program"
    H.assert_exact_score(v, Fraction(1, 2), up=True)  # the program's [0.5]*4, not the JSON's 13/32


def test_python_block_then_json_block():
    v = verifier("erdos").verify(fixture("answer_python_then_json.md"))
    assert v.details["artifact_kind"] == "json"
    assert "isolation" not in v.details  # no code ran
    H.assert_exact_score(v, Fraction(13, 32), up=True)


def test_other_languages_are_ignored():
    text = fixture("answer_python_then_json.md") + "\n```bash\nrm -rf /\n```\n\n```\n[1.0, 0.0]\n```\n"
    v = verifier("erdos").verify(text)
    assert v.details["artifact_kind"] == "json"
    H.assert_exact_score(v, Fraction(13, 32), up=True)
