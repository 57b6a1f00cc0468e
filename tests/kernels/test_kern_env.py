"""The four TriMul envs (docs/architecture.md#registration): registration, check_env, reward,
states, `tttd eval`, and the published TTT-Discover kernel when its file is available."""

import pytest

gym = pytest.importorskip("gymnasium")

from kern_helpers import TTT_DISCOVER_KERNEL, example, fixture_text

import tttd_envs  # noqa: F401  (registers the ids)

IDS = ["TriMul-H100-v0", "TriMul-A100-v0", "TriMul-H200-v0", "TriMul-B200-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_registered_nondeterministic_and_check_env(env_id):
    from gymnasium.utils.env_checker import check_env

    assert gym.spec(env_id).nondeterministic is True
    env = gym.make(env_id, mode="cpu")
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert reward == 0.0 and terminated and not info["accepted"] and info["verdict"].status == "rejected"
    assert info["verdict"].details["failure_kind"] == "static_policy"
    doc = env.unwrapped.__doc__
    for section in ("## Description", "## Action Space", "## Rewards", "## Arguments", "## Version History"):
        assert section in doc


def test_reward_states_and_references():
    env = gym.make("TriMul-H100-v0", mode="cpu")
    card = env.unwrapped.card
    assert card.reward(1161.0) == pytest.approx(2.584, abs=5e-4) and card.reward(None) == 0.0
    assert card.reward(None, {"cpu_pass_reward": 0.0}) == 0.0
    assert card.value(1161.0) == -1161.0 and card.direction == "min" and card.units == "µs"
    refs = {r.label: r for r in card.references}
    assert refs["TTT-Discover"].published == "1161 µs" and refs["best human"].published == "1371 µs"
    assert all("gpumode_compat" in r.note and r.value is None for r in card.references)
    obs, info = env.reset(seed=1, options={"initial": "pytorch"})
    assert obs["artifact"] == example("trimul_torch.py")
    state = info["state"]
    obs2, info2 = env.reset(options={"state": state.to_dict()})
    assert info2["state"].id == state.id
    _, reward, _, _, info = env.step("```python\n" + fixture_text("mask_ignoring") + "\n```")  # raw LLM answer
    assert reward == 0.0 and info["verdict"].details["failed_case"] == "d1"
    assert info["failure_kind"] == "wrong_or_invalid" and info["score_us"] is None and info["per_shape_us"] is None


def test_tttd_eval_cli(tmp_path, capsys):
    from tttd_envs.cli import main

    bad = tmp_path / "k.py"
    bad.write_text("import os\n\ndef custom_kernel(data):\n    return data[0]\n")
    assert main(["eval", "TriMul-H100-v0", str(bad), "-o", "mode=cpu"]) == 1
    out = capsys.readouterr().out
    assert "static policy S2 (line 1)" in out and "status:   rejected" in out


def test_ttt_discover_kernel_if_published_data_is_present():
    """Rejected on d1 by default (masks applied), unverified-timing under gpumode_compat."""
    if TTT_DISCOVER_KERNEL is None:
        pytest.skip("TTT-Discover's published trimul.py is not in ../shared/data")
    from verifiers import get_verifier
    from verifiers.kernels import seam
    from verifiers.kernels import trimul_op as op

    src = TTT_DISCOVER_KERNEL.read_text()
    few = {"cases": (op.DEV[0], op.DEV[1])}
    with seam.hooks(**few):
        v = get_verifier("trimul", mode="cpu").verify(src)
        assert v.status == "rejected" and v.details["failed_case"] == "d1", v.message
        v = get_verifier("trimul", mode="cpu", gpumode_compat=True).verify(src)
    assert v.status == "unverified-timing", v.message
