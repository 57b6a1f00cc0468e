"""Leaderboard throughput (reported, not asserted): submissions per second for a cheap problem,
verification included, and the time of one board() query over 10,000 entries.

Run: ``pytest benchmarks/test_bench_leaderboard.py --benchmark-only`` (SQLite in a temp dir; with
TTTD_BENCH_POSTGRES_URL=postgresql://... the same on a fresh PostgreSQL database too).
"""

from __future__ import annotations

import itertools
import json
import os
import uuid

import pytest

import leaderboards
from leaderboards import store
from leaderboards.db import dispose, get_engine, resolve_url

CP = "CirclePacking26-v0"
N_BOARD = 10_000


def _packing(k: int) -> str:
    """26 circles of radius 1/16 − k/2^30 on the 8 × 4 grid: valid, distinct for every k."""
    r = 1 / 16 - k / 2**30
    return json.dumps([[(2 * i + 1) / 16, (2 * j + 1) / 16, r] for j in range(4) for i in range(8)][:26])


@pytest.fixture(params=["sqlite", "postgresql"])
def bench_db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bench.db'}"
        yield url
        dispose(url)
        return
    base = os.environ.get("TTTD_BENCH_POSTGRES_URL")
    if not base:
        pytest.skip("TTTD_BENCH_POSTGRES_URL not set")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tttd_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(resolve_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(resolve_url(base)).set(database=name).render_as_string(hide_password=False)
    yield url
    dispose(url)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_bench_submit_throughput(benchmark, bench_db):
    """One distinct packing per call: verify (exact arithmetic) + one write transaction."""
    leaderboards.submit(CP, _packing(0), submitter="warm-up", db=bench_db)
    counter = itertools.count(1)

    def one():
        return leaderboards.submit(CP, _packing(next(counter)), submitter="bench", db=bench_db)

    e = benchmark.pedantic(one, rounds=60, iterations=1, warmup_rounds=2)
    assert e.accepted and e.outcome == "created"
    benchmark.extra_info["submissions_per_s"] = 1.0 / benchmark.stats.stats.mean


def _synthetic(k: int, now) -> store.NewSubmission:
    """A stored entry as the verifier would have produced it, without running it (setup only)."""
    from decimal import Decimal
    from fractions import Fraction

    exact = 26 * (Fraction(1, 16) - Fraction(k, 2**30))
    d = Decimal(exact.numerator) / Decimal(exact.denominator)
    text = _packing(k)
    import hashlib

    data = text.encode()
    details = {
        "artifact_kind": "json",
        "n": 26,
        "score_exact": f"{d:.19f}",
        "display": f"{d:.9f}",
        "construction_sha256": hashlib.sha256(data).hexdigest(),
    }
    ev = store.Evaluation(
        kind="submit",
        requested_by=f"user{k % 50}",
        status="accepted",
        accepted=True,
        score=float(exact),
        score_exact=details["score_exact"],
        display=details["display"],
        message="accepted",
        verifier="circle_packing@1",
        tttd_version="bench",
        hardware=None,
        hardware_key="",
        details=details,
        verifier_kwargs={},
        construction_sha256=details["construction_sha256"],
        created_at=now,
    )
    return store.NewSubmission(
        problem=CP,
        case_set="",
        artifact_sha256=hashlib.sha256(data).hexdigest(),
        artifact_bytes=data,
        artifact_kind="json",
        submitter=f"user{k % 50}",
        notes="",
        run_id=None,
        client_score_sent=None,
        evaluation=ev,
    )


def test_bench_board_query_10k(benchmark, bench_db):
    engine = get_engine(bench_db)
    now = store.utcnow()
    store.bulk_insert(engine, [_synthetic(k, now) for k in range(N_BOARD)])
    leaderboards.references(CP)  # reference re-checks are cached per process

    board = benchmark.pedantic(lambda: leaderboards.board(CP, db=bench_db), rounds=5, iterations=1, warmup_rounds=1)
    assert len(board) == N_BOARD and board[0].rank == 1 and board[-1].rank == N_BOARD
