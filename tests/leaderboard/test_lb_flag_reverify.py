"""Operators: flagging removes an entry from the ranking but keeps it visible; a verifier version
bump re-verifies every entry and keeps the history (rule 8)."""

import pytest
from lb_helpers import cp26_grid

import leaderboards
from verifiers.math.circle_packing import CirclePackingVerifier

CP = "CirclePacking26-v0"


def _three(db_url):
    return [leaderboards.submit(CP, cp26_grid(s), submitter=f"s{s}", db=db_url) for s in (0, 5, 9)]


def test_flag_removes_from_ranking_but_keeps_visible(db_url):
    a, b, c = _three(db_url)
    assert [e.rank for e in (a, b, c)] == [1, 2, 3]
    flagged = leaderboards.flag(a.id, "hacked", "reads the verifier's memory", operator="op", db=db_url)
    assert flagged.flag == "hacked" and flagged.rank is None and flagged.beats == []
    assert flagged.flag_reason == "reads the verifier's memory" and flagged.flagged_by == "op"
    board = leaderboards.board(CP, db=db_url)
    assert [(e.id, e.rank, e.flag) for e in board] == [(b.id, 1, None), (c.id, 2, None), (a.id, None, "hacked")]
    assert [e.id for e in leaderboards.board(CP, include_flagged=False, db=db_url)] == [b.id, c.id]
    rows = leaderboards.boards(CP, db=db_url)[0].rows
    assert rows[-1].entry.id == a.id  # shown last, as flagged
    leaderboards.flag(c.id, "withdrawn", "submitter asked", operator="op2", db=db_url)
    assert [e.rank for e in leaderboards.board(CP, include_flagged=False, db=db_url)] == [1]
    # clearing restores the rank; the log keeps all three changes
    leaderboards.flag(a.id, "clear", "false alarm", operator="op", db=db_url)
    assert leaderboards.entry(a.id, db=db_url).rank == 1
    log = leaderboards.entry(a.id, db=db_url).flag_history
    assert [(x["flag"], x["operator"]) for x in log] == [("hacked", "op"), (None, "op")]


def test_flag_validation(db_url):
    (a, *_) = _three(db_url)
    with pytest.raises(leaderboards.LeaderboardError, match="flag must be"):
        leaderboards.flag(a.id, "cheater", "x", operator="op", db=db_url)
    with pytest.raises(leaderboards.LeaderboardError, match="reason"):
        leaderboards.flag(a.id, "hacked", " ", operator="op", db=db_url)
    with pytest.raises(leaderboards.LeaderboardError, match="operator"):
        leaderboards.flag(a.id, "hacked", "x", operator="", db=db_url)
    with pytest.raises(leaderboards.EntryNotFound):
        leaderboards.flag(999, "hacked", "x", operator="op", db=db_url)
    assert leaderboards.entry(a.id, db=db_url).flag is None


def test_reverify_after_a_version_bump(db_url, monkeypatch):
    a, b, c = _three(db_url)
    rejected = leaderboards.submit(CP, "[]", submitter="r", db=db_url)
    leaderboards.flag(c.id, "withdrawn", "x", operator="op", db=db_url)
    old = CirclePackingVerifier.version
    monkeypatch.setattr(CirclePackingVerifier, "version", old + ".1-test")
    summary = leaderboards.reverify(CP, db=db_url, operator="ops")
    assert summary["entries"] == summary["reverified"] == 4
    assert summary["unchanged"] == 4 and summary["changed"] == 0
    assert summary["verifiers"] == [f"circle_packing@{old}.1-test"]
    for e in (a, b, c, rejected):
        full = leaderboards.entry(e.id, db=db_url)
        assert full.verifier == f"circle_packing@{old}.1-test"
        assert [ev["kind"] for ev in full.evaluations] == ["submit", "reverify"]
        assert [ev["verifier"] for ev in full.evaluations] == [f"circle_packing@{old}", f"circle_packing@{old}.1-test"]
        assert full.evaluations[1]["requested_by"] == "ops" and full.evaluation_count == 2
    assert leaderboards.entry(c.id, db=db_url).flag == "withdrawn"  # flags survive re-verification


def test_reverify_applies_a_changed_verdict(db_url, monkeypatch):
    """A (simulated) stricter verifier v2 that rejects packings whose radii are not all equal to
    1/16: the shrunk ones become rejected and leave the ranking; the history keeps v1's verdicts."""
    a, b, c = _three(db_url)
    original = CirclePackingVerifier._check_and_score

    def stricter(self, data, details):
        verdict = original(self, data, details)
        if verdict.accepted and any(float(r) != 1 / 16 for *_, r in data):
            from verifiers.verdict import Verdict

            return Verdict.reject("v2: radii must all be 1/16", details=details)
        return verdict

    monkeypatch.setattr(CirclePackingVerifier, "_check_and_score", stricter)
    monkeypatch.setattr(CirclePackingVerifier, "version", "2-test")
    summary = leaderboards.reverify(CP, db=db_url)
    assert (summary["changed"], summary["newly_rejected"], summary["unchanged"]) == (2, 2, 1)
    assert {x["id"] for x in summary["changes"]} == {b.id, c.id}
    board = leaderboards.board(CP, db=db_url)
    assert [e.id for e in board] == [a.id] and board[0].rank == 1
    lost = leaderboards.entry(b.id, db=db_url)
    assert lost.status == "rejected" and lost.rank is None and "v2" in lost.message
    assert [ev["status"] for ev in lost.evaluations] == ["accepted", "rejected"]
    # a resubmission of the same artifact returns the re-verified entry
    again = leaderboards.submit(CP, cp26_grid(5), submitter="z", db=db_url)
    assert again.id == b.id and again.status == "rejected"
