"""Oneshot episodes over a shared run ledger (docs/molecules.md#episodes-and-rewards): one SQLite file per run,
charges in commit order, rewards only for molecules new since the rollout's snapshot."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import tttd_envs  # noqa: F401
from verifiers.molecules.verifier import MoleculeVerifier

CHAIN = {"callable": "mol_test_objectives:chain_length"}  # score = number of C / 10


def _env(path, budget=10, env_id="MolQED-v0", objective=CHAIN):
    env = gym.make(env_id, episode="oneshot", budget=budget).unwrapped
    env.verifier = MoleculeVerifier(env_id, budget=budget, objective=objective, ledger=str(path))
    env._started = True  # the test objective's run is open; reset only snapshots
    return env


def test_two_instances_share_one_ledger(tmp_path):
    path = tmp_path / "run.sqlite"
    a, b = _env(path), _env(path)
    _, info = a.reset(seed=0)
    root = info["state"]
    b.reset(seed=0, options={"state": root})  # both snapshots: empty ledger
    _, ra, term, trunc, ia = a.step('["CCC", "CCCCO"]')  # A commits first
    assert term and not trunc and ra == 0.4
    _, rb, _, _, ib = b.step('["CCCCO", "CCCCC"]')  # same new key: charged once, to A
    assert [i["status"] for i in ib["items"]] == ["cached", "scored"]
    assert rb == 0.5  # both rewarded: CCCCO was new at B's snapshot
    assert b.verifier.ledger.by_key["CCCCO"].call == 2 and b.verifier.ledger.used == 3
    assert ia["state"].construction == [["CCCCO", 0.4], ["CCC", 0.3]]

    # a rollout from A's state that only repeats A's molecules earns nothing
    c = _env(path)
    c.reset(seed=0, options={"state": ia["state"]})
    assert "CCCCO" in c.prompt()
    _, rc, _, _, ic = c.step('["CCC", "OCCCC"]')
    assert rc == 0.0 and ic["run"]["budget_used"] == 3


def test_full_ledger_scores_zero(tmp_path):
    path = tmp_path / "run.sqlite"
    a = _env(path, budget=2)
    a.reset(seed=0)
    assert a.step('["CC", "CCC", "CCCC"]')[1] == 0.3  # CCCC is over budget: no score, no reward
    b = _env(path, budget=2)
    _, info = b.reset(seed=0)
    assert info["run"]["budget_left"] == 0
    _, r, _, _, info = b.step('["CCCCCCCCC"]')
    assert r == 0.0 and info["items"][0]["status"] == "over_budget"


def test_ledger_of_another_run_is_refused(tmp_path):
    path = tmp_path / "run.sqlite"
    gym.make("MolSimilarity-v0", episode="oneshot", budget=10, ledger=str(path)).reset(seed=0)
    env = gym.make("MolSimilarity-v0", task="mestranol", episode="oneshot", budget=10, ledger=str(path))
    with pytest.raises(ValueError, match="another run"):
        env.reset(seed=0)


def test_unbounded_oneshot_and_isomer_rewards():
    env = gym.make("MolIsomers-v0", task="c11h24", episode="oneshot", budget=None).unwrapped
    env.reset(seed=0)
    _, r, _, _, info = env.step('["CCCCCCCCCCC", "CC(C)CCCCCCCC", "CCCCCCCCCC"]')
    assert r == 2 / 159  # two exact C11H24 hits
    assert info["run"]["budget_left"] is None and info["final"]["hits"] == 2


def test_oneshot_env_passes_check_env(tmp_path):
    env = gym.make("MolQED-v0", episode="oneshot", budget=100, ledger=str(tmp_path / "r.sqlite")).unwrapped
    check_env(env, skip_render_check=True)


def test_run_log_holds_every_instance_rollout_in_commit_order(tmp_path):
    """docs/molecules.md#the-run-log-and-the-replay/docs/molecules.md#the-run-log-and-the-replay: a oneshot
    run's items.jsonl lists the rollouts of every env instance sharing the ledger, with a rollout index in
    commit order, even when a rollout is logged after a later one committed (as with parallel workers); any
    instance writes the same log."""
    import json

    path = tmp_path / "run.sqlite"
    a, b = _env(path, budget=4), _env(path, budget=4)
    _, info = a.reset(seed=0)
    b.reset(seed=0, options={"state": info["state"]})
    late = []
    a._log_rollout = lambda lines, verdict: late.append((lines, verdict))  # A commits, logs later
    a.step('["CC", "CCC"]')  # calls 1, 2
    del a._log_rollout
    b.step('["CC", "nonsense"]')  # charges nothing
    b.step('["CCCC", "CCCCC", "CCCCCC"]')  # calls 3, 4; one over budget
    a._log_rollout(*late[0])  # A's rollout is logged last
    a.reset(seed=0)
    a.step('{"stop": true}')  # a rejected action: no items
    for env, d in ((a, tmp_path / "a"), (b, tmp_path / "b")):
        env.write_run_log(str(d))
    assert (tmp_path / "a" / "items.jsonl").read_bytes() == (tmp_path / "b" / "items.jsonl").read_bytes()
    lines = [json.loads(x) for x in (tmp_path / "a" / "items.jsonl").read_text().splitlines()]
    assert [(x["rollout"], x["input"], x["status"]) for x in lines] == [
        (1, "CC", "scored"),
        (1, "CCC", "scored"),
        (2, "CC", "cached"),
        (2, "nonsense", "rejected"),
        (3, "CCCC", "scored"),
        (3, "CCCCC", "scored"),
        (3, "CCCCCC", "over_budget"),
    ]
    ledger = [json.loads(x) for x in (tmp_path / "b" / "ledger.jsonl").read_text().splitlines()]
    assert [e["key"] for e in ledger] == ["CC", "CCC", "CCCC", "CCCCC"]
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["episode"] == "oneshot" and config["budget"] == 4
