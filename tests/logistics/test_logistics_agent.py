"""Logistics problems for the agent and the card (issue 18), on the CPU and without a model: the prompt the
agent samples from (the env's obs["prompt"]) carries the instance compactly, `tttd discover -o instance=...`
reaches gym.make and `tttd submit`, gym.make's data_dir reaches the verifier, one card hook
(ProblemCard.for_options), and `tttd list` shows the default instance's best known value. Expected values
are read from the data files here."""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import tttd_envs  # noqa: F401 - registers the ids
from tttd_envs.card import ProblemCard

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CVRP = SHARED / "logistics" / "cvrp"
JSSP = SHARED / "logistics" / "jssp"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def data(monkeypatch):
    if not (CVRP / "bks.json").is_file() or not (JSSP / "bounds.json").is_file():
        pytest.skip(f"logistics data not found under {SHARED}")
    monkeypatch.setenv("TTTD_DATA_DIR", str(SHARED))
    return SHARED


def _vrp_nodes(name: str):
    """[(x, y, demand)] by file node (depot first), and Q, read here from the .vrp file."""
    lines = [line.strip() for line in (CVRP / "X" / f"{name}.vrp").read_text().splitlines()]
    cap = next(int(line.split(":")[1]) for line in lines if line.startswith("CAPACITY"))
    i, j = lines.index("NODE_COORD_SECTION"), lines.index("DEMAND_SECTION")
    xy = [tuple(int(t) for t in line.split()[1:3]) for line in lines[i + 1 : j]]
    dem = [int(line.split()[1]) for line in lines[j + 1 : j + 1 + len(xy)]]
    return [(x, y, d) for (x, y), d in zip(xy, dem)], cap


def _discover_args(argv):
    from agents.cli import add_discover_command

    parser = argparse.ArgumentParser()
    add_discover_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["discover", *argv])


def test_cvrp_prompt_carries_every_customer_compactly(data):
    env = gym.make("CVRP-v0", instance="X-n106-k14")
    obs, _ = env.reset(seed=0)
    prompt = obs["prompt"]
    nodes, cap = _vrp_nodes("X-n106-k14")
    assert "X-n106-k14" in prompt and f"Q = {cap}" in prompt
    x0, y0, _ = nodes[0]
    assert f"depot 0 at ({x0}, {y0})" in prompt
    tokens = set(prompt.split())
    for k, (x, y, d) in enumerate(nodes[1:], 1):  # customer k is file node k+1
        assert f"{k}:{x},{y},{d}" in tokens, k
    section = prompt.split("## Instance", 1)[1].split("## What to submit", 1)[0]
    assert len(section) < len((CVRP / "X" / "X-n106-k14.vrp").read_text())  # more compact than the file


def test_jssp_prompt_carries_every_job(data):
    env = gym.make("JSSP-v0", instance="ta01")
    obs, _ = env.reset(seed=0)
    prompt = obs["prompt"]
    raw = (JSSP / "instances" / "ta01.txt").read_text().split("\n")
    assert raw[0].split() == ["15", "15"]
    lines = {" ".join(line.split()) for line in prompt.splitlines()}
    for job in raw[1:16]:
        assert " ".join(job.split()) in lines, job


def test_discover_option_reaches_gym_make_and_submit(data):
    from agents.cli import build_config, submit_options
    from agents.executors import EnvSpec

    cfg, _ = build_config(_discover_args(["CVRP-v0", "-o", "instance=X-n106-k14"]))
    assert cfg.env == "CVRP-v0" and cfg.env_kwargs == {"instance": "X-n106-k14"}
    env = EnvSpec(cfg.env, dict(cfg.env_kwargs)).make()
    assert env.unwrapped.verifier.instance.name == "X-n106-k14"
    obs, _ = env.reset(seed=0)
    assert "# Capacitated vehicle routing: X-n106-k14" in obs["prompt"]
    assert submit_options(cfg) == ["instance=X-n106-k14"]
    # the same through --set env_kwargs=..., and for JSSP
    cfg, _ = build_config(_discover_args(["JSSP-v0", "--set", 'env_kwargs={"instance": "ft06"}']))
    assert EnvSpec(cfg.env, dict(cfg.env_kwargs)).make().unwrapped.card.instance == "ft06"
    assert submit_options(cfg) == ["instance=ft06"]
    cfg, _ = build_config(_discover_args(["CirclePacking26-v0"]))
    assert submit_options(cfg) == []
    from agents.config import ConfigError

    with pytest.raises(ConfigError, match="-o 'instance': write KEY=VALUE"):
        build_config(_discover_args(["CVRP-v0", "-o", "instance"]))


def test_gym_make_data_dir_reaches_the_verifier(data, monkeypatch, tmp_path):
    monkeypatch.setenv("TTTD_DATA_DIR", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bks = json.loads((CVRP / "bks.json").read_text())["X-n106-k14"]["bks"]
    env = gym.make("CVRP-v0", instance="X-n106-k14", data_dir=str(SHARED))
    env.reset(seed=0)
    _, reward, _, _, info = env.step((CVRP / "X" / "X-n106-k14.sol").read_text())
    assert info["accepted"] and info["score"] == bks and reward == 1.0
    assert env.unwrapped.card.best_reference().value == bks
    with pytest.raises(Exception, match="not installed|TTTD_DATA_DIR"):
        gym.make("CVRP-v0", instance="X-n106-k14")


def test_one_card_hook_for_options(data):
    assert not hasattr(ProblemCard, "specialise")
    assert "specialise_for" not in {f.name for f in ProblemCard.__dataclass_fields__.values()}
    from tttd_envs.registration import card

    bks = json.loads((CVRP / "bks.json").read_text())
    c = card("CVRP-v0").for_options({"instance": "X-n110-k13"})
    assert c.context["instance"] == "X-n110-k13" and c.limits["instance"] == "X-n110-k13"
    assert next(r for r in c.references if r.label == "best known").value == bks["X-n110-k13"]["bks"]
    assert card("CirclePacking26-v0").for_options({"budget_s": 5}) is card("CirclePacking26-v0")
    j = card("JSSP-v0").for_options({"instance": "ft06"})
    assert j.instance == "ft06" and j.ub == 55


def test_tttd_list_shows_the_default_instances_best_known(data):
    env = {**os.environ, "TTTD_DATA_DIR": str(SHARED)}
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from tttd_envs.cli import main; sys.exit(main())", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = {r["id"]: r for r in json.loads(out.stdout)}
    bks = json.loads((CVRP / "bks.json").read_text())["X-n101-k25"]["bks"]
    assert rows["CVRP-v0"]["best_reference"]["value"] == bks and rows["CVRP-v0"]["references"] != "—"
    assert rows["JSSP-v0"]["references"] != "—"
    assert math.isfinite(rows["JSSP-v0"]["best_reference"]["value"])
