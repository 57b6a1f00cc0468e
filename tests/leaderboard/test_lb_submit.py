"""Submitting: re-verify, never trust (rule 1), deduplication (rule 2), provenance and exact
artifacts (rule 7), refusals that store nothing."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from lb_helpers import cp26_grid, cp26_sum, sig

import leaderboards
from leaderboards import store
from leaderboards.db import get_engine

CP = "CirclePacking26-v0"


def _count(db_url):
    return len(store.entry_rows(get_engine(db_url)))


def test_client_score_is_ignored(db_url):
    e = leaderboards.submit(CP, cp26_grid(), submitter="mallory", client_score=9.99, db=db_url)
    assert e.accepted and e.score == 1.625  # 26 × 1/16, not the 9.99 sent
    assert Decimal(e.display) == sig(cp26_sum(0), 10, up=False)
    assert e.client_score_ignored
    assert e.rank == 1 and e.beats == []  # below every reference (≥ 2.634)
    again = leaderboards.entry(e.id, db=db_url)
    assert again.score == 1.625 and again.client_score_ignored
    # the claimed score is nowhere in what the board shows
    assert all(x.score != 9.99 for x in leaderboards.board(CP, db=db_url))


def test_a_json_construction_with_a_score_field_is_scored_by_us(db_url):
    import json

    doc = {"construction": json.loads(cp26_grid(3)), "score": 3.5, "expected_value": 3.5}
    e = leaderboards.submit(CP, json.dumps(doc), submitter="m", db=db_url)
    assert e.accepted and Decimal(e.score_exact) == sig(cp26_sum(3), 20, up=False)


def test_rejected_is_stored_with_reason_and_never_ranked(db_url):
    bad = leaderboards.submit(CP, cp26_grid(count=25), submitter="bob", db=db_url)
    assert bad.status == "rejected" and not bad.accepted and bad.score is None and bad.rank is None
    assert "26" in bad.message  # the verifier's reason is kept
    overlapping = leaderboards.submit(CP, cp26_grid(shrink=-(2**20)), submitter="bob", db=db_url)
    assert overlapping.status == "rejected" and overlapping.rank is None
    good = leaderboards.submit(CP, cp26_grid(), submitter="alice", db=db_url)
    assert good.rank == 1
    assert [e.id for e in leaderboards.board(CP, db=db_url)] == [good.id]
    everything = leaderboards.board(CP, include_rejected=True, db=db_url)
    assert {e.id for e in everything} == {good.id, bad.id, overlapping.id}
    assert [e.rank for e in everything if not e.accepted] == [None, None]
    assert leaderboards.history(CP, db=db_url) == [(good.created_at, 1.625)]
    stored = leaderboards.entry(bad.id, db=db_url)
    assert stored.status == "rejected" and stored.message == bad.message


def test_garbage_is_rejected_not_an_exception(db_url):
    for junk in ("", "{", "print('hi')", "\x00\x01", "[[1e999, 0, 0]]"):
        e = leaderboards.submit(CP, junk, submitter="fuzz", db=db_url)
        assert not e.accepted and e.rank is None
    assert _count(db_url) == 5


def test_same_artifact_twice_is_one_entry(db_url):
    text = cp26_grid(7)
    first = leaderboards.submit(CP, text, submitter="alice", notes="first", db=db_url)
    second = leaderboards.submit(CP, text, submitter="bob", notes="copy", client_score=1, db=db_url)
    assert first.outcome == "created" and second.outcome == "existing"
    assert second.id == first.id and second.submitter == "alice" and second.notes == "first"
    assert not second.client_score_ignored  # bob's claim did not touch alice's entry
    assert _count(db_url) == 1
    assert len(leaderboards.entry(first.id, db=db_url).evaluations) == 1
    # a raw answer wrapping the same construction is a different artifact (its own hash): a second
    # entry with the same canonical construction
    wrapped = leaderboards.submit(CP, f"here:\n```json\n{text}\n```\n", submitter="carol", db=db_url)
    assert wrapped.id != first.id and wrapped.construction_sha256 == first.construction_sha256
    assert _count(db_url) == 2


def test_rejected_artifact_twice_is_one_entry(db_url):
    a = leaderboards.submit(CP, "[]", submitter="x", db=db_url)
    b = leaderboards.submit(CP, "[]", submitter="y", db=db_url)
    assert a.id == b.id and b.outcome == "existing" and _count(db_url) == 1


def test_provenance(db_url):
    before = dt.datetime.now(dt.UTC)
    text = cp26_grid(1)
    e = leaderboards.entry(
        leaderboards.submit(CP, text, submitter="alice / puct-run-7", notes="n1", run_id="run-42", db=db_url).id,
        db=db_url,
    )
    after = dt.datetime.now(dt.UTC)
    assert e.submitter == "alice / puct-run-7" and e.notes == "n1" and e.run_id == "run-42"
    assert e.created_at.tzinfo is not None and e.created_at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=1) <= e.created_at <= after + dt.timedelta(seconds=1)
    assert e.artifact_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert e.artifact_kind == "json" and e.artifact_size == len(text.encode())
    from verifiers.math.circle_packing import CirclePackingVerifier

    assert e.verifier == f"circle_packing@{CirclePackingVerifier.version}"
    from importlib.metadata import version

    assert e.tttd_version == version("tttd")
    assert e.hardware_key == "" and e.case_set == ""  # untimed: one board
    assert e.details_complete and e.details["n"] == 26 and e.details["score_exact"] == e.score_exact
    assert "construction" not in e.details  # recomputable from the artifact
    assert e.evaluations[0]["kind"] == "submit" and e.evaluations[0]["requested_by"] == "alice / puct-run-7"
    assert leaderboards.artifact(e.id, db=db_url) == text


def test_program_artifacts_keep_their_construction(db_url):
    prog = f"import json\ndef run(budget_s, seed):\n    return json.loads({cp26_grid(2)!r})\n"
    e = leaderboards.submit(CP, prog, submitter="p", verifier_kwargs={"budget_s": 20}, db=db_url)
    assert e.accepted and e.artifact_kind == "program"
    full = leaderboards.entry(e.id, db=db_url)
    assert len(full.details["construction"]) == 26  # a program's output is evidence
    assert full.evaluations[0]["verifier_kwargs"] == {"budget_s": 20}
    assert leaderboards.artifact(e.id, db=db_url) == prog


@pytest.mark.parametrize("text", ["x\x00y\r\n\ttab", "caf\u00e9 \U0001f600 \udc80 lone surrogate", "\r" * 3 + "z"])
def test_artifact_comes_back_byte_for_byte(db_url, text):
    e = leaderboards.submit(CP, text, submitter="s\x00x", notes="nul\x00here", db=db_url)
    assert leaderboards.artifact(e.id, db=db_url) == text
    assert e.artifact_sha256 == hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def test_bytes_artifacts(db_url):
    text = cp26_grid(4)
    e = leaderboards.submit(CP, text.encode(), submitter="b", db=db_url)
    assert e.accepted and leaderboards.artifact(e.id, db=db_url) == text
    with pytest.raises(leaderboards.SubmissionRefused, match="not UTF-8"):
        leaderboards.submit(CP, b"\xff\xfe[1]", submitter="b", db=db_url)


def test_refusals_store_nothing(db_url):
    with pytest.raises(leaderboards.SubmissionRefused, match="no verifier option"):
        leaderboards.submit(CP, cp26_grid(), submitter="a", verifier_kwargs={"n": 25}, db=db_url)
    with pytest.raises(leaderboards.SubmissionRefused, match="submitter"):
        leaderboards.submit(CP, cp26_grid(), submitter="  ", db=db_url)
    with pytest.raises(leaderboards.SubmissionRefused, match="MiB"):
        leaderboards.submit(CP, "[" + "0," * (9 << 20) + "0]", submitter="a", db=db_url)
    with pytest.raises(KeyError, match="unknown problem id"):
        leaderboards.submit("CirclePacking27-v0", cp26_grid(), submitter="a", db=db_url)
    assert _count(db_url) == 0


def test_unknown_entry(db_url):
    with pytest.raises(leaderboards.EntryNotFound):
        leaderboards.entry(12345, db=db_url)
    with pytest.raises(leaderboards.EntryNotFound):
        leaderboards.artifact(12345, db=db_url)
