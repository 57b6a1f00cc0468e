"""AtCoder boards: only full case sets are taken (docs/atcoder.md#case-sets-and-modes), rows are per CPU model
(timed problems), resubmissions are re-timings of the same entry, and only contest-mode totals over
the official cases get an estimated rank and performance (docs/atcoder.md#rank-and-performance)."""

import shutil

import pytest

import leaderboards
from leaderboards import store
from leaderboards.db import get_engine
from tttd_envs.cli import main

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
AHC = "AHC039-v0"
EMPTY = "int main() { return 0; }\n"  # empty output: score 1 per case (AHC039 statement)


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return ""


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"case_set": "lite"}, "'lite'"),
        ({"case_set": "public50"}, "'public50'"),
        ({"mode": "ale"}, "'public50'"),  # ALE-Bench feedback set
    ],
)
def test_partial_case_sets_are_refused(db_url, kwargs, needle):
    with pytest.raises(leaderboards.SubmissionRefused, match="only full case sets") as info:
        leaderboards.submit(AHC, EMPTY, submitter="a", verifier_kwargs=kwargs, db=db_url)
    assert needle in str(info.value)
    assert store.entry_rows(get_engine(db_url)) == []


def test_ahc058_contest_mode_is_refused_in_one_sentence(db_url):
    with pytest.raises(leaderboards.SubmissionRefused, match="no official cases"):
        leaderboards.submit("AHC058-v0", EMPTY, submitter="a", verifier_kwargs={"mode": "contest"}, db=db_url)


def test_cli_refusal(db_url, tmp_path, capsys):
    f = tmp_path / "main.cpp"
    f.write_text(EMPTY)
    assert main(["submit", AHC, str(f), "--name", "a", "-o", "case_set=lite", "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "only full case sets" in err and "tttd eval" in err and "Traceback" not in err


def test_compile_error_is_stored_rejected(db_url):
    e = leaderboards.submit(AHC, "this is not C++", submitter="a", db=db_url)
    assert e.status == "rejected" and e.message.startswith("CE:") and e.rank is None
    assert e.case_set == "public150"


@pytest.mark.slow
def test_full_public_set_entry_is_per_cpu_and_retimed(db_url):
    e = leaderboards.submit(AHC, EMPTY, submitter="a", db=db_url)
    assert e.accepted and e.score == 150 and e.display == "150"  # 150 cases × 1
    assert e.hardware_key == _cpu_model() and e.hardware["cpu_model"] == _cpu_model()
    assert e.case_set == "public150" and not e.comparable
    assert e.estimated_rank is None and e.estimated_performance is None and e.beats == []
    assert e.rank == 1 and e.outcome == "created"
    again = leaderboards.submit(AHC, EMPTY, submitter="b", db=db_url)
    assert again.id == e.id and again.outcome == "appended" and again.evaluation_count == 2
    full = leaderboards.entry(e.id, db=db_url)
    assert [ev["kind"] for ev in full.evaluations] == ["submit", "retime"]
    assert [ev["requested_by"] for ev in full.evaluations] == ["a", "b"]
    assert len(full.details["cases"]) == 150 and full.details["total"] == 150


@pytest.mark.slow
def test_contest_mode_official_total_gets_estimated_standings(db_url):
    e = leaderboards.submit(AHC, EMPTY, submitter="a", verifier_kwargs={"mode": "contest"}, db=db_url)
    assert e.accepted and e.score == 150 and e.case_set == "official" and e.comparable
    # docs/atcoder.md#rank-and-performance: a total of 150 ties the 40-way block at ranks 640–679: rank 640,
    # performance 639
    assert (e.estimated_rank, e.estimated_performance) == (640, 639)
    assert e.beats == []  # far below every reference total
    boards = leaderboards.boards(AHC, db=db_url)
    assert [(b.case_set, b.comparable) for b in boards] == [("official", True)]
    rows = boards[0].rows
    assert [r.kind for r in rows] == ["reference"] * 3 + ["entry"]
    assert [r.reference.published for r in rows[:3]] == ["567,062", "566,997", "558,026"]
