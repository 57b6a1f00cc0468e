"""JSSP-v0 environment: gym.make and check_env, per-instance cards, reward, render, the eval CLI and the
CP-SAT baseline (issue 18)."""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tttd_envs  # noqa: F401  (registers the ids)
from tttd_envs.cli import main

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TWO_BY_TWO = "2 2\n0 3 1 2\n1 4 0 1\n"  # see test_jssp_verifier.py: optimum 6 (= the trivial bound)
# ft06's optimum (55): CP-SAT's schedule, checked independently in test_jssp_verifier.py
FT06_OPT = {
    "start_times": [
        [5, 6, 16, 30, 42, 49],
        [0, 8, 13, 28, 38, 48],
        [0, 5, 9, 18, 27, 42],
        [8, 13, 22, 27, 30, 45],
        [13, 22, 25, 38, 48, 52],
        [13, 16, 19, 28, 38, 42],
    ]
}


@pytest.fixture()
def data(monkeypatch):
    if not (SHARED / "logistics" / "jssp" / "bounds.json").is_file():
        pytest.skip("JSSP data not installed")
    monkeypatch.setenv("TTTD_DATA_DIR", str(SHARED))
    return SHARED


@pytest.fixture()
def two_file(tmp_path):
    p = tmp_path / "two.txt"
    p.write_text(TWO_BY_TWO)
    return p


@pytest.mark.parametrize("kwargs", [{}, {"instance": "ft06", "budget_s": 5}, {"instance": "ta71"}])
def test_make_and_check_env(data, kwargs):
    env = gym.make("JSSP-v0", **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.unwrapped.card.instance == kwargs.get("instance", "ta01")


def test_user_instance_file_and_check_env(two_file, monkeypatch, tmp_path):
    monkeypatch.setenv("TTTD_DATA_DIR", str(tmp_path / "none"))  # works without the data folder
    env = gym.make("JSSP-v0", instance_file=str(two_file))
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(json.dumps({"machine_sequences": [[0, 1], [1, 0]]}))
    assert info["accepted"] and info["score"] == 6.0 and reward == 1.0 and terminated  # 6 / 6: trivial bound
    _, reward, *_ = env.step(json.dumps({"machine_sequences": [[0, 1], [0, 1]]}))
    assert reward == pytest.approx(6 / 10)  # 10 by hand


def test_reward_is_ub_over_makespan(data):
    env = gym.make("JSSP-v0", instance="ft06", max_turns=3)
    _, info = env.reset(seed=0, options={"initial": "job_order"})
    assert info["state"].score == 152.0  # every machine in job order (semi-active; the simulator agrees)
    _, reward, _, _, info = env.step(json.dumps(FT06_OPT))
    assert reward == 1.0 and info["verdict"].details["gap_to_ub_pct"] == 0.0
    _, reward, _, _, info = env.step("not a schedule")
    assert reward == 0.0 and info["verdict"].status == "rejected"


def test_prompt_holds_the_instance_and_limits(data):
    env = gym.make("JSSP-v0", instance="ft06", budget_s=5)
    obs, _ = env.reset(seed=0)
    prompt = obs["prompt"]
    assert "6 6\n2 1 0 3 1 6 3 7 5 3 4 6\n" in prompt  # ft06's header and job 0, as in the file
    assert "budget_s = 5 s here" in prompt and "the optimum is 55 (proven)" in prompt
    assert "Target: get below 55" in prompt


def test_unknown_instance_is_one_sentence_with_the_nearest_name(data):
    with pytest.raises(ValueError, match=r"unknown JSSP instance 'tb01'; did you mean 'ta01'"):
        gym.make("JSSP-v0", instance="tb01")
    assert gym.make("JSSP-v0", instance="ta1").unwrapped.card.instance == "ta01"


def test_card_references_from_bounds(data):
    from tttd_envs.problems.jssp import card_for

    ft06 = card_for("ft06")
    best = next(r for r in ft06.references if r.label == "best known")
    assert best.published == "55 (optimal)" and best.year == 2026 and "OptalCP 2026-06-01" in best.note
    assert "ScheduleOpt" in best.source and best.how == best.QUOTED
    ta41 = card_for("ta41")
    labels = {r.label: r for r in ta41.references}
    assert labels["best known"].published == "2005 (upper bound)" and "CPO2015 2015-01-01" in labels["best known"].note
    assert labels["lower bound"].published.startswith("≥ 1926") and ta41.target.startswith("2005")
    assert ta41.reward(2005.0) == 1.0 and ta41.reward(2005.0 / 1.25) == pytest.approx(1.25)


def test_measured_baselines_are_reference_rows(data, tmp_path, monkeypatch):
    from tttd_envs.problems import jssp as mod

    rows = {
        "JSSP-v0|ft10|OR-Tools CP-SAT|7s": {
            "problem": "JSSP-v0",
            "instance": "ft10",
            "solver": "OR-Tools CP-SAT",
            "solver_version": "9.15.6755",
            "time_limit_s": 7.0,
            "workers": 2,
            "cost": 937,
            "gap_pct": 0.7527,
            "status": "FEASIBLE",
            "wall_s": 7.0,
            "date": "2026-12-05",
            "machine": {"cpu": "test cpu", "logical_cpus": 2},
        }
    }
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps({"rows": rows}))
    monkeypatch.setattr(mod, "BASELINES_FILE", path)
    card = mod.card_for("ft10")
    ref = next(r for r in card.references if r.label == "solver baseline (measured on this machine)")
    assert ref.value == 937.0 and ref.verified and "7 s, 2 workers" in ref.who and "test cpu" in ref.note
    assert card.best_reference() is ref  # the best re-verified row; the UB (930) is quoted
    assert "930" in card.reference_summary()


def test_render_gantt(data):
    pytest.importorskip("matplotlib")
    env = gym.make("JSSP-v0", instance="ft06", render_mode="rgb_array")
    env.reset(seed=0)
    env.step(json.dumps(FT06_OPT))
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.shape[0] > 100
    assert (img < 200).any(axis=2).mean() > 0.05  # bars drawn, not a blank page
    text = gym.make("JSSP-v0", instance="ft06", render_mode="ansi")
    text.reset(seed=0)
    text.step(json.dumps(FT06_OPT))
    assert "gap to the best known 55: +0.00%" in text.render()


def test_eval_cli_named_instance(data, tmp_path, capsys):
    sol = tmp_path / "sol.json"
    sol.write_text(json.dumps(FT06_OPT))
    assert main(["eval", "JSSP-v0", str(sol), "-o", "instance=ft06"]) == 0
    out = capsys.readouterr().out
    assert "accepted: makespan 55 on ft06" in out and "reward:   1.0" in out
    assert "ties      best known: 55" in out  # compared with ft06's own references, not ta01's
    assert main(["eval", "JSSP-v0", str(sol), "-o", "instance=ft10"]) == 1
    assert "start_times has 6 lists; the instance has 10 jobs" in capsys.readouterr().out


def test_eval_cli_instance_file_and_errors(two_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTTD_DATA_DIR", str(tmp_path / "none"))
    sol = tmp_path / "sol.json"
    sol.write_text(json.dumps({"start_times": [[0, 4], [0, 4]]}))
    assert main(["eval", "JSSP-v0", str(sol), "-o", f"instance_file={two_file}", "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["score"] == 6.0 and verdict["details"]["instance"] == "two.txt"
    bad = tmp_path / "bad.txt"
    bad.write_text("2 2\n0 3 1\n1 4 0 1\n")
    assert main(["eval", "JSSP-v0", str(sol), "-o", f"instance_file={bad}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tttd: error: bad.txt, line 2 (job 0): 3 numbers") and "\n" not in err


def test_eval_cli_unknown_instance(data, tmp_path, capsys):
    sol = tmp_path / "sol.json"
    sol.write_text("{}")
    assert main(["eval", "JSSP-v0", str(sol), "-o", "instance=tb01"]) == 2
    assert "did you mean 'ta01'" in capsys.readouterr().err


def test_cpsat_baseline_on_ft06(data):
    pytest.importorskip("ortools")
    from agents.baselines import baseline

    row = baseline("JSSP-v0")({"instance": "ft06", "workers": 1}, 10.0, 0)
    assert row["cost"] == 55 and row["status"] == "OPTIMAL" and row["gap_pct"] == 0.0
    assert row["workers"] == 1 and row["time_limit_s"] == 10.0 and row["verifier"] == "jssp@1"
    with pytest.raises(ValueError, match="workers must be a whole number"):
        baseline("JSSP-v0")({"instance": "ft06", "workers": 0}, 1.0, 0)
