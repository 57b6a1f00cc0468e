"""Gymnasium vector envs for every family (tttd_envs/vector.py): ``gym.make_vec(id, n)`` is async with
same-step autoreset, so every action is scored, none is spent on a reset; text observations cross process
boundaries intact; Gymnasium's explicit async mode with shared memory says in one sentence what to do."""

from pathlib import Path

import gymnasium as gym
import pytest

import tttd_envs  # noqa: F401

ERDOS_OK = '{"construction": [0.5, 0.5]}'  # n = 2, Σh = n/2 = 1: valid, C5 = 0.5 → reward 2


def _verdicts(info, terminated):
    """Each copy's verdict of this step: in final_info for copies whose episode ended (same-step reset)."""
    out = []
    for k, done in enumerate(terminated):
        src = info["final_info"] if done else info
        assert src["_verdict"][k], "a copy's action got no verdict"
        out.append(src["verdict"][k])
    return out


@pytest.mark.parametrize("asynchronous", [True, False])
def test_every_action_is_scored_and_text_survives(asynchronous):
    env = gym.make_vec("CirclePacking26-v0", 2, asynchronous=asynchronous)
    single = gym.make("CirclePacking26-v0")
    try:
        assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
        obs, _ = env.reset(seed=0)
        ref, _ = single.reset(seed=0)
        assert obs["prompt"][0] == ref["prompt"] and "Σ" in obs["prompt"][0]  # non-charset text intact
        env.close()
        env = gym.make_vec("ErdosMinOverlap-v0", 2, asynchronous=asynchronous)
        env.reset(seed=0)
        for actions, want in [
            (("x", ERDOS_OK), ["rejected", "accepted"]),
            ((ERDOS_OK, ERDOS_OK), ["accepted"] * 2),
            (("y", "z"), ["rejected"] * 2),
        ]:
            _, reward, terminated, _, info = env.step(actions)
            assert list(terminated) == [True, True]  # max_turns = 1
            assert [v.status for v in _verdicts(info, terminated)] == want
            assert list(reward) == [2.0 if w == "accepted" else 0.0 for w in want]
    finally:
        env.close()
        single.close()


@pytest.mark.parametrize(
    "env_id",
    ["AutocorrelationAC1-v0", "CirclePacking32-v0", "AHC039-v0", "TriMul-H100-v0", "MolQED-v0", "CVRP-v0", "JSSP-v0"],
)
def test_each_family_vectorises(env_id, monkeypatch):
    """One id per family (and the other math envs): two copies, two steps, a verdict for every action."""
    if env_id.startswith("Mol"):
        pytest.importorskip("rdkit")
    if env_id in ("CVRP-v0", "JSSP-v0"):  # their default instance is read from the data folder
        shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
        if not (shared / "logistics").is_dir():
            pytest.skip(f"logistics data not found at {shared / 'logistics'}")
        monkeypatch.setenv("TTTD_DATA_DIR", str(shared))
    env = gym.make_vec(env_id, 2)
    try:
        env.reset(seed=0)
        for _ in range(2):
            _, reward, terminated, truncated, info = env.step(("not an answer", "nor this"))
            assert [v.status for v in _verdicts(info, terminated)] == ["rejected"] * 2, env_id
            assert list(reward) == [0.0, 0.0]
    finally:
        env.close()


def test_multi_turn_in_a_vector_env_sees_its_last_verdict():
    env = gym.make_vec("ErdosMinOverlap-v0", 1, asynchronous=False, max_turns=2)
    try:
        env.reset(seed=0)
        obs, _, terminated, _, _ = env.step(('{"construction": [0.5, 2]}',))
        assert not terminated[0] and "It was not accepted (rejected)" in obs["prompt"][0]
    finally:
        env.close()


def test_explicit_async_with_shared_memory_says_what_to_do():
    with pytest.raises(ValueError, match="shared_memory=False") as e:
        gym.make_vec("ErdosMinOverlap-v0", 2, vectorization_mode="async")
    assert "text observations cannot live in shared memory" in str(e.value.__cause__)
    env = gym.make_vec(
        "ErdosMinOverlap-v0",
        2,
        vectorization_mode="async",
        vector_kwargs={"shared_memory": False, "autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
    )
    try:
        env.reset(seed=0)
        _, reward, terminated, _, info = env.step((ERDOS_OK, "x"))
        assert list(reward) == [2.0, 0.0]
    finally:
        env.close()


def test_flattening_round_trips_any_text():
    from gymnasium.spaces.utils import flatdim, flatten, flatten_space, unflatten

    from tttd_envs.spaces import UnicodeText

    sp = UnicodeText(16)
    for text in ["", "Σ ≤ √2 — ok", "a\x00b"]:
        flat = flatten(sp, text)
        assert flat.shape == (flatdim(sp),) == (17,) and flatten_space(sp).contains(flat)
        assert unflatten(sp, flat) == text


def test_a_failed_reset_leaves_the_env_usable(tmp_path, monkeypatch):
    """A reset that refuses (published data not installed) raises its own error; the env then has no stale
    state (step says reset first), and the next good reset and step work (through gym.make's wrappers)."""
    monkeypatch.setenv("TTTD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = gym.make("ErdosMinOverlap-v0")
    from tttd_envs.data import DataNotFound

    with pytest.raises(DataNotFound):
        env.reset(options={"initial": "previous_ai"})
    with pytest.raises(gym.error.ResetNeeded):
        env.step(ERDOS_OK)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(ERDOS_OK)
    assert reward == 2.0 and terminated and info["verdict"].accepted
    with pytest.raises(TypeError, match="reset options must be a dict such as"):
        env.reset(options=["initial"])


def test_every_env_documents_its_info():
    from tttd_envs.registration import PROBLEMS, env_class

    for env_id in PROBLEMS:
        if env_id.startswith("Mol"):
            pytest.importorskip("rdkit")
        doc = env_class(env_id).__doc__
        assert "## Info" in doc and "`verdict`" in doc and "`state`" in doc, env_id


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"budget_s": "fast"}, "budget_s must be a number like its default 300.0, not 'fast'"),
        ({"budget": 3}, "unknown keyword argument 'budget'; did you mean 'budget_s'?"),
        ({"cpus": 1.5}, "cpus must be a whole number"),
        ({"budget_s": -1}, "must not be negative"),
    ],
)
def test_bad_limits_are_one_sentence(kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words.replace("?", r"\?").replace("(", r"\(")):
        gym.make("ErdosMinOverlap-v0", **kwargs)


def test_render_marks_a_rejected_step():
    """After a rejected answer the picture still shows the current state, with a red band saying the last
    answer was not taken; after an accepted one there is no band (a red pixel count tells them apart)."""
    pytest.importorskip("matplotlib")
    env = gym.make("ErdosMinOverlap-v0", render_mode="rgb_array", max_turns=3)
    env.reset(seed=0)

    def red(img):
        r, g, b = (img[..., k].astype(int) for k in range(3))
        return int(((abs(r - 0xC0) < 8) & (abs(g - 0x39) < 8) & (abs(b - 0x2B) < 8)).sum())

    env.step(ERDOS_OK)
    ok = env.render()
    env.step("not an answer")
    bad = env.render()
    assert ok.shape == bad.shape and red(ok) == 0 and red(bad) > 500
    assert "last verdict: rejected" in env.unwrapped.render_text()
