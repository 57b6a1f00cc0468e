"""AHC039-v0 / AHC058-v0 environments end to end, with the example
baselines on the `lite` set (seeds 0…4)."""

import json
import shutil
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import tttd_envs  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASELINE = {"AHC039-v0": "ahc039_rectangle.cpp", "AHC058-v0": "ahc058_greedy.cpp"}


@pytest.mark.parametrize("env_id", ["AHC039-v0", "AHC058-v0"])
def test_registered_nondeterministic_and_check_env(env_id):
    assert gym.spec(env_id).nondeterministic
    env = gym.make(env_id, case_set="lite")
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", ["AHC039-v0", "AHC058-v0"])
def test_random_text_is_a_compile_error_not_an_exception(env_id):
    env = gym.make(env_id, case_set="lite")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step("definitely not C++ {")
    v = info["verdict"]
    assert v.status == "rejected" and v.details["kind"] == "compile_error" and v.message.startswith("CE:")
    assert reward == 0.0 and terminated


@pytest.mark.parametrize("env_id", ["AHC039-v0", "AHC058-v0"])
def test_baseline_is_accepted_with_a_stable_total(env_id):
    src = (EXAMPLES / BASELINE[env_id]).read_text()
    env = gym.make(env_id, case_set="lite")
    env.reset(seed=0)
    _, r1, _, _, info1 = env.step(src)
    _, r2, _, _, info2 = env.step(src)
    v1, v2 = info1["verdict"], info2["verdict"]
    assert v1.accepted, v1.message
    assert v1.score == v2.score  # deterministic programs: the same total every run
    cases = v1.details["cases"]
    assert [c["seed"] for c in cases] == [0, 1, 2, 3, 4] and all(c["verdict"] == "AC" for c in cases)
    assert v1.score == sum(c["score"] for c in cases) and v1.details["mean"] == v1.score / 5
    assert r1 == pytest.approx(v1.details["mean"] / (1500 if env_id == "AHC039-v0" else 3_000_000))
    # plausible: far above doing nothing (AHC039 empty output scores 1 per case; AHC058 idling scores 0)
    assert v1.details["mean"] > (1000 if env_id == "AHC039-v0" else 4_000_000)
    assert v1.details["comparable_to_standings"] is False and "estimated_rank" not in v1.details
    assert v1.hardware["cpu_model"] and v1.hardware["cores"] >= 1


def test_raw_answer_uses_the_last_cpp_block():
    good = (EXAMPLES / BASELINE["AHC039-v0"]).read_text()
    answer = "First try:\n```cpp\nint main() { this does not compile }\n```\nBetter:\n```cpp\n" + good + "\n```\nDone."
    env = gym.make("AHC039-v0", case_set="lite")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(answer)
    assert info["verdict"].accepted and reward > 1.0


def test_a_failing_case_zeroes_the_run():
    # exits 1 when the first mackerel's x is odd, else prints nothing (an accepted score of 1)
    src = (
        "#include <bits/stdc++.h>\nint main(){ int n; std::cin >> n; int x, y; std::cin >> x >> y;\n  return x % 2; }\n"
    )
    from verifiers.atcoder import inputs

    odd = [int(inputs.input_text("ahc039", s).split()[1]) % 2 == 1 for s in range(5)]
    env = gym.make("AHC039-v0", case_set="lite", stop_on_fail=False)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(src)
    v = info["verdict"]
    assert [c["verdict"] for c in v.details["cases"]] == ["RE" if o else "AC" for o in odd]
    if any(odd):
        first = odd.index(True)
        assert v.status == "crashed" and reward == 0.0 and v.score is None
        assert v.message.startswith(f"case {first} (seed {first}): RE")
    else:
        assert v.accepted and v.score == 5


def test_state_round_trip_and_render_picture():
    src = (EXAMPLES / BASELINE["AHC039-v0"]).read_text()
    env = gym.make("AHC039-v0", case_set="lite", render_mode="rgb_array")
    env.reset(seed=0)
    _, _, _, _, info = env.step(src)
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.std() > 5
    stored = json.loads(info["state"].to_json())
    obs, info2 = env.reset(options={"state": stored})
    assert info2["state"].artifact == src and float(obs["value"]) == info["verdict"].score
    assert "```cpp" in obs["prompt"]


def test_ahc058_contest_mode_says_there_are_no_official_cases():
    with pytest.raises(ValueError, match="no official cases"):
        gym.make("AHC058-v0", mode="contest")


def test_contest_mode_on_the_official_cases_gives_an_estimated_rank(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # generates and checks the 150 official inputs
    from verifiers.atcoder import inputs
    from verifiers.atcoder.standings import for_problem

    src = (EXAMPLES / BASELINE["AHC039-v0"]).read_text()
    env = gym.make("AHC039-v0", mode="contest")
    env.reset(seed=0)
    _, _, _, _, info = env.step(src)
    v = info["verdict"]
    assert v.accepted, v.message
    assert v.details["case_set"] == "official" and v.details["comparable_to_standings"] is True
    assert [c["seed"] for c in v.details["cases"]] == inputs.seeds("ahc039", "official")
    place = for_problem("ahc039").place(int(v.score))
    assert (v.details["estimated_rank"], v.details["estimated_performance"]) == (place.rank, place.performance)
    assert "estimated rank" in v.message
