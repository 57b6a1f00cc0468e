"""Budget accounting and the run metric (docs/molecules.md#the-budget, docs/molecules.md#run-metrics,
docs/molecules.md#episodes-and-rewards), on hand-made ledgers. Every expected number is computed by hand in
the comments, or by an independent re-typing of PMO's ``top_auc`` (wenhao-gao/mol_opt, main/optimizer.py)."""

import random

import gymnasium as gym
import numpy as np
import pytest

import tttd_envs  # noqa: F401 - registers the ids
from verifiers.molecules.ledger import Ledger, SharedLedger, auc, coverage_curve, top_k_curve
from verifiers.molecules.verifier import MoleculeVerifier

CHAIN = {"callable": "mol_test_objectives:chain_length"}  # score = number of C / 10


def pmo_top_auc(scores, top_n, finish, freq_log, max_oracle_calls):
    """PMO's top_auc, re-typed from main/optimizer.py (mean of the *available* top-n)."""
    buffer = {f"m{i}": [s, i + 1] for i, s in enumerate(scores)}
    total, prev, called = 0, 0, 0
    ordered = list(sorted(buffer.items(), key=lambda kv: kv[1][1]))
    for idx in range(freq_log, min(len(buffer), max_oracle_calls), freq_log):
        temp = list(sorted(ordered[:idx], key=lambda kv: kv[1][0], reverse=True))[:top_n]
        now = np.mean([item[1][0] for item in temp])
        total += freq_log * (now + prev) / 2
        prev, called = now, idx
    temp = list(sorted(ordered, key=lambda kv: kv[1][0], reverse=True))[:top_n]
    now = np.mean([item[1][0] for item in temp])
    total += (len(buffer) - called) * (now + prev) / 2
    if finish and len(buffer) < max_oracle_calls:
        total += (max_oracle_calls - len(buffer)) * now
    return total / max_oracle_calls


# -- docs/molecules.md#run-metrics worked examples ---------------------------------------------------------------------
def test_worked_example_plateau():
    scores = [0.5] * 10 + [1.0] * 10 + [0.0] * 5
    # (10·0.25 + 10·0.75 + 5·1.0 + 75·1.0)/100
    assert auc(top_k_curve(scores, 10), 100) == pytest.approx(0.90, abs=1e-12)
    assert pmo_top_auc(scores, 10, True, 10, 100) == pytest.approx(0.90, abs=1e-12)


def test_worked_example_three_molecules_then_stop():
    scores = [0.9, 0.6, 0.3]
    # T(3) = 1.8/10 = 0.18; (3·0.09 + 97·0.18)/100
    assert auc(top_k_curve(scores, 10), 100) == pytest.approx(0.1773, abs=1e-12)
    assert pmo_top_auc(scores, 10, True, 10, 100) == pytest.approx(0.591, abs=1e-12)  # the exploit


def test_worked_example_small_budget():
    # f = 2: T(2j) = 0.2j; (0.2 + 0.6 + 1.0 + 1.4 + 1.8 + 4·2 + 2)/20 ... written as PMO intervals
    assert auc(top_k_curve([1.0] * 20, 10), 20) == pytest.approx(0.75, abs=1e-12)
    assert pmo_top_auc([1.0] * 20, 10, True, 2, 20) == pytest.approx(0.95, abs=1e-12)


def test_worked_example_isomer_coverage():
    curve = coverage_curve([True] * 159, 159)
    # (100·(100/159)/2 + 59·(1 + 100/159)/2 + 841)/1000 = 920.5/1000
    assert auc(curve, 1000) == pytest.approx(0.9205, abs=1e-12)


def test_random_full_ledger_equals_pmo():
    rng = random.Random(7)
    scores = [rng.random() for _ in range(1000)]
    assert auc(top_k_curve(scores, 10), 1000) == pytest.approx(pmo_top_auc(scores, 10, True, 100, 1000), abs=1e-12)
    partial = scores[:640]  # stopped early: fill-to-budget on both sides
    assert auc(top_k_curve(partial, 10), 1000) == pytest.approx(pmo_top_auc(partial, 10, True, 100, 1000), abs=1e-12)


def test_ledger_metrics_use_the_same_formula():
    led = Ledger(100)
    for i, s in enumerate([0.9, 0.6, 0.3]):
        led.charge(f"k{i}", s, 1, f"k{i}")
    assert led.headline() == ("auc_top10", pytest.approx(0.1773, abs=1e-12))
    assert led.metrics()["top10"] == pytest.approx(0.18)
    # top-1: no checkpoint below n = 3, so (3·(0.9 + 0)/2 + 97·0.9)/100
    assert led.metrics()["auc_top1"] == pytest.approx((3 * 0.45 + 97 * 0.9) / 100, abs=1e-12)


# -- budget accounting on a scripted episode (B = 5) -------------------------------------------------
def _env(budget=5, **kw):
    env = gym.make("MolQED-v0", budget=budget, **kw).unwrapped
    env.verifier = MoleculeVerifier("MolQED-v0", budget=budget, objective=CHAIN)
    return env


def test_scripted_budget_episode():
    env = _env()
    env.reset(seed=0)
    _, r1, term, trunc, info = env.step('["CCC", "CCCC", "C(C", "CCCCC", "CCCC"]')
    items = info["items"]
    assert [i["status"] for i in items] == ["scored", "scored", "rejected", "scored", "cached"]
    assert [i["call"] for i in items] == [1, 2, None, 3, None]
    assert [i["charged"] for i in items] == [True, True, False, True, False]
    assert items[2]["reason"] == "invalid_smiles" and items[4]["score"] == 0.4
    assert info["run"]["budget_used"] == 3 and info["run"]["free_items"] == 2
    assert r1 == pytest.approx((0.3 + 0.4 + 0.5) / 10) and not term and not trunc

    _, r2, term, trunc, info = env.step('["CCCC", "CCCCCC", "CCCCCCC", "CCCCCCCC", "CCCCCCCCC"]')
    items = info["items"]
    assert [i["status"] for i in items] == ["cached", "scored", "scored", "over_budget", "over_budget"]
    assert items[0]["score"] == 0.4 and not items[0]["charged"]
    assert [i["score"] for i in items[3:]] == [None, None]  # no score for unpaid molecules
    assert [i["call"] for i in items[1:3]] == [4, 5]
    assert term and not trunc and info["run"]["budget_left"] == 0
    assert r2 == pytest.approx((0.6 + 0.7) / 10)
    assert info["final"]["calls"] == 5

    _, r3, term, _, info = env.step('["CCCCCC"]')  # cached after exhaustion
    assert info["items"][0]["status"] == "cached" and info["items"][0]["score"] == 0.6
    assert r3 == 0.0 and info["run"]["budget_used"] == 5

    env.reset(seed=0)
    assert env.verifier.ledger.used == 0 and env.verifier.ledger.free_items == 0


def test_step_cap_truncates():
    env = _env(budget=5, max_steps=2)
    env.reset(seed=0)
    assert env.step('["CC"]')[3] is False
    _, _, term, trunc, info = env.step('["CCC"]')
    assert trunc and not term and "final" in info


def test_free_item_cap_truncates():
    env = _env(budget=5)
    env.reset(seed=0)
    _, _, term, trunc, _ = env.step('["C(C", "*C", "", "[CH3]", "C.C", "CC", "CC", "CC", "CC", "CC", "CC"]')
    # 5 rejected + 1 charged + 5 in-batch repeats: 10 = 2·B free items
    assert trunc and not term


def test_delta_rewards_sum_to_final_top10_and_are_never_negative():
    env = _env(budget=40)
    env.reset(seed=0)
    rng = random.Random(3)
    rewards = []
    for _ in range(8):
        batch = ["C" * rng.randint(1, 12) + "O" * rng.randint(0, 2) for _ in range(6)]
        obs, r, term, trunc, info = env.step(str(batch).replace("'", '"'))
        rewards.append(r)
        if term or trunc:
            break
    assert min(rewards) >= 0
    assert sum(rewards) == pytest.approx(info["run"]["top10"], abs=1e-12)
    assert obs["value"] == pytest.approx(info["run"]["top10"], abs=1e-12)


def test_stop_applies_fill_to_budget():
    env = _env(budget=100)
    env.reset(seed=0)
    env.step('["CCCCCCCCC", "CCCCCC", "CCC"]')  # 0.9, 0.6, 0.3
    _, r, term, trunc, info = env.step('{"stop": true}')
    assert term and not trunc and r == 0.0
    assert info["final"]["auc_top10"] == pytest.approx(0.1773, abs=1e-12)  # not PMO's 0.591


def test_terminal_reward_mode_pays_the_run_metric_at_the_end():
    env = _env(budget=100, reward_mode="terminal")
    env.reset(seed=0)
    assert env.step('["CCCCCCCCC", "CCCCCC", "CCC"]')[1] == 0.0
    assert env.step('{"stop": true}')[1] == pytest.approx(0.1773, abs=1e-12)


def test_shared_ledger_counts_every_instances_free_items(tmp_path):
    """Two env instances of one oneshot run: charges and free items are the run's, seen from either."""
    meta = {"id": "MolQED-v0", "task": "qed"}
    a = SharedLedger(str(tmp_path / "run.sqlite"), 10, meta)
    b = SharedLedger(str(tmp_path / "run.sqlite"), 10, meta)
    with a.transaction():
        a.charge("CCO", 0.4, 1, "CCO")
        a.count_free("invalid")
    with b.transaction():
        b.charge("CCC", 0.3, 1, "CCC")
        b.count_free("invalid")
        b.count_free("duplicate")
    for ledger in (a, b):
        ledger.sync()
        m = ledger.metrics()
        assert (m["calls"], m["free_items"], m["free_by_reason"]) == (2, 3, {"duplicate": 1, "invalid": 2})
    a.close()
    b.close()
