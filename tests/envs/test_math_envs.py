"""Environment tests for the five math ids (docs/math.md#adversarial-inputs)."""

import json
import subprocess
import sys
from fractions import Fraction

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import tttd_envs
from tttd_envs.state import State

IDS = [
    "ErdosMinOverlap-v0",
    "AutocorrelationAC1-v0",
    "AutocorrelationAC2-v0",
    "CirclePacking26-v0",
    "CirclePacking32-v0",
]
MIN_IDS = {"ErdosMinOverlap-v0", "AutocorrelationAC1-v0"}


def test_all_ids_registered_on_import():
    assert set(IDS) <= set(tttd_envs.PROBLEMS)
    for i in tttd_envs.PROBLEMS:
        assert i in gym.registry


def test_import_is_light():
    code = (
        "import sys, tttd_envs; heavy = [m for m in ('torch','transformers','peft','triton','rdkit','ray','vllm',"
        "'matplotlib','scipy') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    env = gym.make(env_id, budget_s=5)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", IDS)
def test_reset_is_deterministic_in_seed(env_id):
    env = gym.make(env_id)
    o1, i1 = env.reset(seed=7)
    o2, i2 = env.reset(seed=7)
    assert o1["prompt"] == o2["prompt"] and float(o1["value"]) == float(o2["value"])
    assert i1["state"].construction == i2["state"].construction


@pytest.mark.parametrize("env_id", IDS)
def test_failure_gives_fail_reward(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("[1e400]")
    assert reward == 0.0 and terminated and not truncated
    assert info["verdict"].status == "rejected" and info["score"] is None
    obs, reward, *_, info = env.step("this is not a program")
    assert reward == 0.0 and info["verdict"].status == "rejected"


def test_erdos_random_initial_state_is_exactly_normalised():
    env = gym.make("ErdosMinOverlap-v0")
    for seed in range(5):
        _, info = env.reset(seed=seed)
        h = info["state"].construction
        n = len(h)
        assert n % 2 == 0 and 40 <= n < 100
        assert sum(Fraction(x) for x in h) == Fraction(n, 2)
        assert all(0.1 <= x <= 0.9 for x in h)
        assert env.unwrapped.last_verdict.details["delta"] == 0.0


@pytest.mark.parametrize(
    "env_id,initial,expected_value",
    [
        ("ErdosMinOverlap-v0", "constant", -0.5),
        ("AutocorrelationAC1-v0", "random", -2.0),
        ("AutocorrelationAC2-v0", "random", None),  # exactly 2/3: checked below
        ("CirclePacking26-v0", "grid", 1.625),  # 13/8, by hand
        ("CirclePacking32-v0", "grid", 2.0),
        ("CirclePacking26-v0", "empty", 0.0),
    ],
)
def test_computed_initial_state_values(env_id, initial, expected_value):
    env = gym.make(env_id)
    obs, info = env.reset(seed=3, options={"initial": initial})
    if expected_value is None:  # AC2 constant: exactly 2/3, rounded down
        assert Fraction(info["state"].score) <= Fraction(2, 3)
        assert Fraction(2, 3) - Fraction(info["state"].score) < Fraction(1, 2**53)
    else:
        assert info["state"].value == expected_value
        assert float(obs["value"]) == expected_value


@pytest.mark.parametrize(
    "env_id,initial,fname",
    [
        ("ErdosMinOverlap-v0", "human", "erdos_haugland2016.json"),
        ("ErdosMinOverlap-v0", "previous_ai", "erdos_alphaevolve2025.json"),
        ("ErdosMinOverlap-v0", "ttt", "erdos_ttt_discover2026.json"),
        ("AutocorrelationAC1-v0", "human", "ac1_matolcsi_vinuesa2010.json"),
        ("AutocorrelationAC1-v0", "alphaevolve_v1", "ac1_alphaevolve2025_v1.json"),
        ("AutocorrelationAC1-v0", "alphaevolve_v2", "ac1_alphaevolve2025_v2.json"),
        ("AutocorrelationAC1-v0", "previous_ai", "ac1_thetaevolve2025.json"),
        ("AutocorrelationAC1-v0", "ttt", "ac1_ttt_discover2026.json"),
        ("AutocorrelationAC2-v0", "alphaevolve_v1", "ac2_alphaevolve2025_v1.json"),
        ("AutocorrelationAC2-v0", "previous_ai", "ac2_alphaevolve2025_v2.json"),
        ("AutocorrelationAC2-v0", "ttt", "ac2_ttt_discover2026.json"),
        ("CirclePacking26-v0", "previous_ai", "cp26_alphaevolve2025.json"),
        ("CirclePacking26-v0", "discover_repo", "cp26_discover_repo.json"),
        ("CirclePacking32-v0", "previous_ai", "cp32_alphaevolve2025.json"),
    ],
)
def test_published_initial_states(data_env, env_id, initial, fname):
    doc = json.loads((data_env / fname).read_text())
    env = gym.make(env_id)
    _, info = env.reset(seed=0, options={"initial": initial})
    sign = -1.0 if env_id in MIN_IDS else 1.0
    assert info["state"].value == sign * doc["expected_value"]
    assert info["state"].construction == [
        x if not isinstance(x, float) or x != 0 else 0.0 for x in doc["construction"]
    ] or env_id.startswith("Circle")


def test_published_state_without_data_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TTTD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = gym.make("ErdosMinOverlap-v0")
    with pytest.raises(FileNotFoundError, match="TTTD_DATA_DIR"):
        env.reset(options={"initial": "ttt"})


def test_edited_published_file_is_refused(math_data, monkeypatch, tmp_path):
    doc = json.loads((math_data / "erdos_haugland2016.json").read_text())
    h = doc["construction"]  # move 2^-40 between two interior values: still valid, not published
    i, j = [k for k, x in enumerate(h) if 0.25 < x < 0.75][:2]
    h[i] += 2.0**-40
    h[j] -= 2.0**-40
    (tmp_path / "math").mkdir()
    (tmp_path / "math" / "erdos_haugland2016.json").write_text(json.dumps(doc))
    monkeypatch.setenv("TTTD_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="pinned sha256"):
        gym.make("ErdosMinOverlap-v0").reset(options={"initial": "human"})


ALL_FILES = [
    "erdos_haugland2016.json",
    "erdos_alphaevolve2025.json",
    "erdos_ttt_discover2026.json",
    "ac1_matolcsi_vinuesa2010.json",
    "ac1_alphaevolve2025_v1.json",
    "ac1_alphaevolve2025_v2.json",
    "ac1_thetaevolve2025.json",
    "ac1_ttt_discover2026.json",
    "ac2_alphaevolve2025_v1.json",
    "ac2_alphaevolve2025_v2.json",
    "ac2_ttt_discover2026.json",
    "cp26_alphaevolve2025.json",
    "cp26_discover_repo.json",
    "cp32_alphaevolve2025.json",
]


@pytest.mark.parametrize("fname", ALL_FILES)
def test_step_with_published_file_rewards_per_card(math_data, fname):
    text = (math_data / fname).read_text()
    doc = json.loads(text)
    env = gym.make(doc["problem"])
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(text)
    assert info["verdict"].accepted and info["score"] == doc["expected_value"]
    assert info["verdict"].details["score_exact"] == doc["expected_value_decimal"]
    assert info["verdict"].details["display"] == doc["expected_display"]
    expected_reward = 1.0 / doc["expected_value"] if doc["problem"] in MIN_IDS else doc["expected_value"]
    assert reward == expected_reward
    assert terminated
    assert info["state"].value == (-doc["expected_value"] if doc["problem"] in MIN_IDS else doc["expected_value"])


def test_raw_llm_answer_uses_last_fenced_block():
    env = gym.make("CirclePacking26-v0")
    env.reset(seed=0, options={"initial": "grid"})
    grid = env.unwrapped.state.construction
    answer = (
        "Here is my idea.\n```python\ndef run(budget_s, seed):\n    return None\n```\n"
        "Actually, just take this:\n```json\n" + json.dumps(grid) + "\n```\nThanks!"
    )
    _, reward, _, _, info = env.step(answer)
    assert info["verdict"].details["artifact_kind"] == "json"
    assert reward == 1.625


def test_program_sees_parent_state_and_seed():
    env = gym.make("ErdosMinOverlap-v0", budget_s=5, max_turns=2)
    env.reset(seed=11, options={"initial": "constant"})
    prog = (
        "import json\ndef run(budget_s, seed):\n    p = json.load(open('parent.json'))\n"
        "    assert p['problem'] == 'ErdosMinOverlap-v0' and p['value'] == -0.5\n"
        "    print('seed', seed)\n    return p['construction']\n"
    )
    _, r1, t1, _, info1 = env.step(prog)
    assert info1["verdict"].accepted and r1 == 2.0 and not t1
    assert "seed 11" in info1["verdict"].details["stdout"]
    _, r2, t2, _, info2 = env.step(prog)
    assert "seed 12" in info2["verdict"].details["stdout"] and t2


def test_reset_from_stored_state_round_trips_json():
    env = gym.make("CirclePacking26-v0")
    _, info = env.reset(seed=0, options={"initial": "grid"})
    stored = json.loads(info["state"].to_json())
    obs, info2 = env.reset(options={"state": stored})
    assert info2["state"] == State.from_dict(stored)
    assert float(obs["value"]) == 1.625
    with pytest.raises(ValueError, match="not 'CirclePacking26-v0'"):
        env.reset(options={"state": {**stored, "problem": "CirclePacking32-v0"}})


def test_bad_constructor_arguments_are_clear():
    with pytest.raises(TypeError, match="unknown keyword"):
        gym.make("ErdosMinOverlap-v0", budgett_s=3)
    with pytest.raises(KeyError, match="no initial state"):
        gym.make("ErdosMinOverlap-v0", initial="nope")


@pytest.mark.parametrize(
    "env_id,initial",
    [
        ("ErdosMinOverlap-v0", "constant"),
        ("CirclePacking26-v0", "grid"),
        ("AutocorrelationAC1-v0", "random"),
        ("CirclePacking32-v0", "empty"),
    ],
)
def test_render_text_and_picture(env_id, initial):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0, options={"initial": initial})
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    assert img.std() > 5  # not a blank canvas
    text = gym.make(env_id, render_mode="ansi")
    text.reset(seed=0, options={"initial": initial})
    assert env_id in text.render()


def test_help_is_the_manual():
    for i in IDS:
        doc = tttd_envs.registration.env_class(i).__doc__
        for section in (
            "## Description",
            "## Action Space",
            "## Observation Space",
            "## Rewards",
            "## Starting State",
            "## Episode End",
            "## Arguments",
            "## References",
            "## Version History",
        ):
            assert section in doc, (i, section)


@pytest.mark.parametrize("env_id", IDS)
def test_statement_states_the_envs_own_limits(env_id):
    """The prompt tells the program the limits it will really run under, not the card's defaults."""
    prompt = gym.make(env_id, budget_s=10, memory_bytes=1 << 30).reset(seed=0)[0]["prompt"]
    assert "(budget_s = 10 s here)" in prompt and "300 s" not in prompt
    assert "one CPU, 1 GiB of memory" in prompt
    default = gym.make(env_id).reset(seed=0)[0]["prompt"]
    assert "(budget_s = 300 s here)" in default and "one CPU, 4 GiB of memory" in default


def test_prompt_shows_before_and_after_and_a_500_char_output_tail():
    env = gym.make("AutocorrelationAC2-v0", budget_s=5)
    _, info = env.reset(seed=0, options={"initial": "random"})
    parent = info["state"]
    assert parent.score == pytest.approx(2 / 3)  # a constant sequence: exactly 2/3
    out = "x" * 1000 + "y" * 499 + "Z"
    program = f"def run(budget_s, seed):\n    print({out!r})\n    return [1.0, 2.0, 1.0]\n"
    _, _, _, _, info = env.step(program)
    child = info["state"]
    assert info["accepted"] and child.parent_score == parent.score
    # [1, 2, 1]: c = [1, 4, 6, 4, 1], Σc² = 70, Σ c_k c_{k+1} = 56, S = 4, max c = 6 → 196/288 (by hand)
    assert child.score == pytest.approx(196 / 288, abs=1e-9)
    prompt = env.reset(seed=0, options={"state": child.to_dict()})[0]["prompt"]
    assert "C2 ≥ before → after this program ran: 0.6666666667 → 0.6805555556." in prompt
    tail = "x" + "y" * 499 + "Z"
    assert "…(truncated)\n" + tail[-500:] in prompt and "x" * 2 not in prompt.split("…(truncated)")[1]
