"""Child-process side of the concurrency and crash tests (spawned, never forked, so each child opens
its own database connections exactly as a separate `tttd submit` would).

As a script: ``python lb_worker.py crash URL SEED`` submits distinct packings in a loop, printing
"ready" once the database is open and "done <id>" after each stored submission, until it is killed.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CP = "CirclePacking26-v0"


def submit_many(args):
    """Wait until ``start_at`` (so that all workers collide), then submit every artifact; returns
    [(artifact index, entry id, outcome)]."""
    url, name, items, start_at = args
    from lb_helpers import cp26_grid

    import leaderboards
    from leaderboards.db import get_engine

    get_engine(url, migrate=False)  # warm the engine, but leave the migration to the race
    texts = [(k, "[]" if k < 0 else cp26_grid(k)) for k in items]
    while time.time() < start_at:
        time.sleep(0.001)
    out = []
    for k, text in texts:
        e = leaderboards.submit(CP, text, submitter=name, db=url)
        out.append((k, e.id, e.outcome))
    return out


def crash_loop(url: str, seed: int) -> None:
    from lb_helpers import cp26_grid

    import leaderboards
    from leaderboards.db import get_engine

    get_engine(url)
    print("ready", flush=True)
    k = seed * 100_000
    while True:
        k += 1
        e = leaderboards.submit(CP, cp26_grid(k), submitter=f"crash-{seed}", notes="n" * 1000, db=url)
        print(f"done {e.id}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "crash":
        crash_loop(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {sys.argv[1]!r}")
