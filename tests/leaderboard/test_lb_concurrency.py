"""Several processes submitting at once (spec: "safe under concurrent submits from several
processes") and processes killed mid-submission ("a crash or kill during a submission leaves either
no row or a complete row")."""

import hashlib
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import leaderboards
from leaderboards import store
from leaderboards.db import get_engine

HERE = Path(__file__).resolve().parent
CP = "CirclePacking26-v0"


def check_integrity(url: str) -> dict:
    """Every entry is complete: its evaluations (count matches), exactly one artifact whose bytes hash
    to the entry's sha256, and a current verdict equal to its newest applied evaluation."""
    engine = get_engine(url)
    with engine.connect() as conn:
        if url.startswith("sqlite"):
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        entries = conn.execute(
            text("SELECT id, artifact_sha256, status, evaluation_count, score_exact FROM entries")
        ).all()
        evals = conn.execute(text("SELECT entry_id, status, score_exact, applied FROM evaluations ORDER BY id")).all()
        arts = conn.execute(text("SELECT entry_id, sha256, content FROM artifacts")).all()
    by_entry: dict[int, list] = {}
    for ev in evals:
        by_entry.setdefault(ev.entry_id, []).append(ev)
    art = {}
    for a in arts:
        assert a.entry_id not in art
        art[a.entry_id] = a
    ids = {e.id for e in entries}
    assert set(by_entry) == ids and set(art) == ids  # no orphans, nothing missing
    for e in entries:
        assert len(by_entry[e.id]) == e.evaluation_count
        last = [ev for ev in by_entry[e.id] if ev.applied][-1]
        assert (last.status, last.score_exact) == (e.status, e.score_exact)
        assert hashlib.sha256(bytes(art[e.id].content)).hexdigest() == art[e.id].sha256 == e.artifact_sha256
    return {"entries": len(entries), "evaluations": len(evals)}


def test_concurrent_submissions_lose_nothing_and_duplicate_nothing(db_url):
    """8 spawned processes on a database nobody has created yet (they also race on the migration):
    overlapping ranges of packings, one packing all of them submit, and one rejected artifact."""
    from lb_worker import submit_many

    n = 8
    plan = [list(range(1 + 6 * w, 13 + 6 * w)) + [5000, -1] for w in range(n)]
    for items in plan:
        random.Random(len(items)).shuffle(items)
    start_at = time.time() + 6.0
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(n) as pool:
        results = pool.map(submit_many, [(db_url, f"w{w}", plan[w], start_at) for w in range(n)])
    distinct = {k for items in plan for k in items}
    ids_by_artifact: dict[int, set] = {}
    for res in results:
        for k, entry_id, outcome in res:
            ids_by_artifact.setdefault(k, set()).add(entry_id)
            assert outcome in ("created", "existing")
    assert set(ids_by_artifact) == distinct
    assert all(len(ids) == 1 for ids in ids_by_artifact.values())  # one entry per artifact
    created = sum(o == "created" for res in results for _, _, o in res)
    assert created == len(distinct)
    counts = check_integrity(db_url)
    assert counts == {"entries": len(distinct), "evaluations": len(distinct)}
    board = leaderboards.board(CP, db=db_url)
    assert [e.rank for e in board] == list(range(1, len(distinct)))  # all accepted but "[]"
    assert [e.score for e in board] == sorted((e.score for e in board), reverse=True)


@pytest.mark.slow
def test_sigkill_during_submissions_leaves_complete_rows(db_url):
    """20 children, each killed with SIGKILL after a random delay, some while still opening the
    database (and migrating it), most in the middle of a stream of submissions."""
    rng = random.Random(20240605)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    acknowledged: set[int] = set()
    for trial in range(20):
        child = subprocess.Popen(
            [sys.executable, str(HERE / "lb_worker.py"), "crash", db_url, str(trial)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            if trial < 4:
                time.sleep(rng.uniform(0.3, 2.0))  # during start-up / the first migration
            else:
                assert child.stdout.readline().strip() == "ready"
                time.sleep(rng.uniform(0.0, 0.6))
        finally:
            child.send_signal(signal.SIGKILL)
            out, _ = child.communicate(timeout=30)
        acknowledged |= {int(line.split()[1]) for line in out.splitlines() if line.startswith("done ")}
        assert child.returncode == -signal.SIGKILL
        counts = check_integrity(db_url)
        stored = {e.id for e in leaderboards.board(CP, db=db_url)}
        assert acknowledged <= stored  # what a child reported stored is there
    assert counts["entries"] >= 16
    # and the database still takes submissions
    from lb_helpers import cp26_grid

    e = leaderboards.submit(CP, cp26_grid(99_999), submitter="after", db=db_url)
    assert e.accepted and check_integrity(db_url)["entries"] == counts["entries"] + 1
    assert store.entry_row(get_engine(db_url), e.id)["submitter"] == "after"
