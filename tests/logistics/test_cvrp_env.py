"""CVRP-v0 as an environment and from the command line: gym.make + check_env, rewards, the prompt's
compact instance, render, `tttd eval -o instance=/instance_file=`, sandboxed programs (solver imports
refused), and the PyVRP baseline's recorded rows."""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tttd_envs  # noqa: F401 - registers the ids
from tttd_envs.cli import main
from verifiers.logistics.cvrp_instance import parse_sol

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "logistics"
X = DATA / "cvrp" / "X"
TINY = (
    "NAME : tiny3\nTYPE : CVRP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 8\nNODE_COORD_SECTION\n"
    "1 0 0\n2 3 4\n3 6 8\n4 1 1\nDEMAND_SECTION\n1 0\n2 4\n3 3\n4 5\nDEPOT_SECTION\n1\n-1\nEOF\n"
)  # cost 22 by hand (test_cvrp.py)


@pytest.fixture()
def cvrp_data(monkeypatch):
    if not (X / "X-n101-k25.vrp").is_file():
        pytest.skip(f"CVRP data not found at {X}")
    monkeypatch.setenv("TTTD_DATA_DIR", str(DATA.parent))
    return DATA / "cvrp"


def test_registered_and_check_env(cvrp_data):
    env = gym.make("CVRP-v0", budget_s=5)
    check_env(env.unwrapped, skip_render_check=True)


def test_rewards_best_known_over_cost(cvrp_data):
    env = gym.make("CVRP-v0")
    obs, info = env.reset(seed=0)
    _, reward, terminated, _, info = env.step((X / "X-n101-k25.sol").read_text())
    assert info["accepted"] and info["score"] == 27591 and reward == 1.0 and terminated
    routes, _ = parse_sol((X / "X-n101-k25.sol").read_text())
    env.reset(seed=0)
    worse = [[c] for r in routes for c in r]  # one route per customer
    _, reward, _, _, info = env.step(json.dumps({"routes": worse}))
    assert info["accepted"] and reward == pytest.approx(27591 / info["score"]) and reward < 1
    env.reset(seed=0)
    _, reward, _, _, info = env.step("[[1, 1]]")
    assert reward == 0.0 and info["verdict"].status == "rejected"


def test_prompt_carries_the_instance(cvrp_data):
    env = gym.make("CVRP-v0", instance="X-n110-k13", budget_s=7)
    obs, _ = env.reset(seed=0)
    prompt = obs["prompt"]
    lines = (X / "X-n110-k13.vrp").read_text().splitlines()
    cap = next(int(ln.split(":")[1]) for ln in lines if ln.startswith("CAPACITY"))
    start = next(i for i, ln in enumerate(lines) if ln.startswith("NODE_COORD_SECTION"))
    dem = next(i for i, ln in enumerate(lines) if ln.startswith("DEMAND_SECTION"))
    node2, node110 = lines[start + 2].split(), lines[start + 110].split()
    d2, d110 = lines[dem + 2].split()[1], lines[dem + 110].split()[1]
    assert f"Q = {cap}" in prompt and "109 customers" in prompt and "budget_s = 7 s" in prompt
    assert f"1:{node2[1]},{node2[2]},{d2}" in prompt and f"109:{node110[1]},{node110[2]},{d110}" in prompt
    assert "best known cost is 14971 (proven optimal" in prompt
    card = env.unwrapped.card
    assert card.references[0].value == 14971 and card.references[0].verified


def test_instance_file_and_typo(cvrp_data, tmp_path):
    path = tmp_path / "mine.vrp"
    path.write_text(TINY)
    env = gym.make("CVRP-v0", instance_file=str(path))
    env.reset(seed=0)
    _, reward, _, _, info = env.step('{"routes": [[1, 2], [3]]}')
    assert info["score"] == 22 and reward == pytest.approx(32 / 22)  # star solution 32 / cost 22
    assert env.unwrapped.card.references == ()
    with pytest.raises(ValueError, match="did you mean 'X-n101-k25'"):
        gym.make("CVRP-v0", instance="X-n101-k26")


def test_render_returns_routes_picture(cvrp_data):
    env = gym.make("CVRP-v0", render_mode="rgb_array")
    env.reset(seed=0)
    blank = env.render()
    env.step((X / "X-n101-k25.sol").read_text())
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    assert img.shape == blank.shape and (img != blank).any()
    text = gym.make("CVRP-v0", render_mode="ansi")
    text.reset(seed=0)
    assert "CVRP-v0" in text.render()


# -- tttd eval ----------------------------------------------------------------------------------------
def test_cli_eval_named_instance(cvrp_data, tmp_path, capsys):
    routes, _ = parse_sol((X / "X-n110-k13.sol").read_text())
    sol = tmp_path / "sol.json"
    sol.write_text(json.dumps({"routes": routes}))
    assert main(["eval", "CVRP-v0", str(sol), "-o", "instance=X-n110-k13"]) == 0
    out = capsys.readouterr().out
    assert "accepted: cost 14971" in out and "reward:   1.0" in out and "ties      best known: 14971" in out
    assert main(["eval", "CVRP-v0", str(sol), "--json"]) == 1  # default instance X-n101-k25: wrong routes
    assert json.loads(capsys.readouterr().out)["status"] == "rejected"
    assert main(["eval", "CVRP-v0", str(sol), "-o", "instance=X-n110-k1"]) == 2
    assert "did you mean 'X-n110-k13'" in capsys.readouterr().err


def test_cli_eval_instance_file(tmp_path, capsys):
    path = tmp_path / "mine.vrp"
    path.write_text(TINY)
    sol = tmp_path / "s.sol"
    sol.write_text("Route #1: 1 2\nRoute #2: 3\nCost 5\n")
    assert main(["eval", "CVRP-v0", str(sol), "-o", f"instance_file={path}", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["score"] == 22 and d["details"]["claimed_cost"] == "5"


# -- programs in the sandbox ---------------------------------------------------------------------------
PROGRAM = """
import json
import numpy as np

def run(instance, budget_s, seed):
    # sweep by angle around the depot, cut when the capacity would be exceeded
    xy = np.array(instance["coords"], dtype=float)
    d = instance["demands"]
    ang = np.arctan2(xy[1:, 1] - xy[0, 1], xy[1:, 0] - xy[0, 0])
    routes, cur, load = [], [], 0
    for c in (np.argsort(ang, kind="stable") + 1):
        if load + d[c] > instance["capacity"]:
            routes.append(np.array(cur)); cur, load = [], 0
        cur.append(c); load += d[c]
    routes.append(np.array(cur))
    with open("parent.json") as fh:
        assert json.load(fh)["problem"] == "CVRP-v0"
    return routes
"""


def _sweep(inst):
    """The same sweep computed here (second method) with the exact cost from the route check."""
    import math

    from verifiers.logistics.cvrp_instance import check_routes

    order = sorted(range(1, inst.dimension), key=lambda c: math.atan2(inst.ys[c] - inst.ys[0], inst.xs[c] - inst.xs[0]))
    routes, cur, load = [], [], 0
    for c in order:
        if load + inst.demands[c] > inst.capacity:
            routes.append(cur)
            cur, load = [], 0
        cur.append(c)
        load += inst.demands[c]
    routes.append(cur)
    return check_routes(routes, inst)["cost"]


def test_program_routes_are_scored(cvrp_data):
    from verifiers import get_verifier

    v = get_verifier("cvrp", instance="X-n101-k25", budget_s=10)
    verdict = v.verify(PROGRAM)
    assert verdict.accepted, verdict.message
    assert verdict.details["artifact_kind"] == "program" and verdict.score == _sweep(v.instance)


@pytest.mark.parametrize(
    "source,status,fragments",
    [
        (
            "import pyvrp\ndef run(instance, budget_s, seed):\n    return []\n",
            "rejected",
            ["imports pyvrp (line 1)", "solver packages are not available"],
        ),
        (
            "from ortools.constraint_solver import pywrapcp\ndef run(instance, budget_s, seed):\n    return []\n",
            "rejected",
            ["imports ortools"],
        ),
        (
            (
                "import importlib\ndef run(instance, budget_s, seed):\n"
                "    return importlib.import_module('py' + 'vrp').solve\n"
            ),
            "crashed",
            ["No module named 'pyvrp'", "solver packages"],
        ),
        (
            "def run(instance, budget_s, seed):\n    return [[float(c)] for c in range(1, 101)]\n",
            "rejected",
            ["route index 0, position 0 is a float (1.0)"],
        ),
        ("def run(instance, budget_s, seed):\n    return [[True]]\n", "rejected", ["a boolean"]),
        (
            "def run(instance, budget_s, seed):\n    return [list(range(1, 101))] * 1000\n",
            "rejected",
            ["more than 264 integers"],
        ),
        (
            "def run(instance, budget_s, seed):\n    print('x' * (4 << 20))\n    return []\n",
            "output_limit",
            ["MiB of output"],
        ),
        ("def run(budget_s, seed):\n    return [[1]]\n", "rejected", ["run(instance, budget_s, seed)"]),
        ("def run(instance, budget_s, seed):\n    return [[1, 2], [0]]\n", "rejected", ["0 is the depot"]),
    ],
)
def test_bad_programs(cvrp_data, source, status, fragments):
    from verifiers import get_verifier

    verdict = get_verifier("cvrp", budget_s=10).verify(source)
    assert verdict.status == status, verdict.message
    for f in fragments:
        assert f in verdict.message, (f, verdict.message)


# -- the PyVRP baseline ----------------------------------------------------------------------------------
def test_pyvrp_baseline_row(cvrp_data, tmp_path, capsys):
    pytest.importorskip("pyvrp")
    results = tmp_path / "baselines.json"
    assert (
        main(["baseline", "CVRP-v0", "-o", "instance=X-n101-k25", "--time-limit", "1", "--results", str(results)]) == 0
    )
    row = next(iter(json.loads(results.read_text())["rows"].values()))
    assert row["instance"] == "X-n101-k25" and row["solver"] == "PyVRP" and row["time_limit_s"] == 1.0
    assert row["cost"] >= 27591 and row["gap_pct"] == round(100 * (row["cost"] - 27591) / 27591, 4)
    # the recorded routes score the recorded cost with the verifier, independently of the baseline run
    from verifiers import get_verifier

    assert get_verifier("cvrp").verify(json.dumps({"routes": row["solution"]})).score == row["cost"]
    from tttd_envs.problems.cvrp import measured_references

    (ref,) = measured_references("X-n101-k25", results)
    assert ref.label == "solver baseline (measured on this machine)" and ref.value == row["cost"]
    assert "PyVRP" in ref.who and "1 s" in ref.who
    assert main(["baseline", "CVRP-v1"]) == 2 and "did you mean 'CVRP-v0'" in capsys.readouterr().err


def test_committed_baselines_are_shown_on_the_card(cvrp_data):
    from tttd_envs.problems.cvrp import BASELINES_FILE

    if not BASELINES_FILE.is_file():
        pytest.skip("no measured baselines recorded")
    rows = [r for r in json.loads(BASELINES_FILE.read_text())["rows"].values() if r["instance"] == "X-n125-k30"]
    card = gym.make("CVRP-v0", instance="X-n125-k30").unwrapped.card
    measured = [r for r in card.references if "measured" in r.label]
    assert sorted(r.value for r in measured) == sorted(float(r["cost"]) for r in rows)
