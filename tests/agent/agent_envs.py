"""A test-only text problem with a continuous reward, following the tttd env contract; importable by
spawned evaluation workers (pytest puts this folder on sys.path and spawn passes sys.path on), so
``env_imports=["agent_envs"]`` registers it there too."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tttd_envs.spaces import UnicodeText
from tttd_envs.state import State
from verifiers import Verdict


class CharFractionEnv(gym.Env):
    """Test-only text problem with a continuous reward: the fraction of the answer's characters that
    are the letter ``a`` (0 for an empty answer). Same contract as tttd envs: a text action,
    ``reset(options={"state": ...})``, and ``info`` with the Verdict, score, accepted and child state."""

    metadata = {"render_modes": []}
    PROBLEM = "CharFraction-test"
    PROMPT = "Write a text made of as many letters a as you can."

    def __init__(self):
        self.action_space = UnicodeText(1 << 16)
        self.observation_space = spaces.Dict(
            {
                "prompt": UnicodeText(1 << 16),
                "artifact": UnicodeText(1 << 16),
                "value": spaces.Box(-1.0, 2.0, shape=(), dtype=np.float64),
            }
        )
        self.state = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        st = (options or {}).get("state")
        self.state = (
            State.from_dict(dict(st))
            if st is not None
            else State(
                id=State.make_id(self.PROBLEM, "", None), problem=self.PROBLEM, value=0.0, score=0.0, name="empty"
            )
        )
        return self._obs(), {"state": self.state}

    def _obs(self):
        return {"prompt": self.PROMPT, "artifact": self.state.artifact, "value": np.array(self.state.value or 0.0)}

    def step(self, action: str):
        score = action.count("a") / len(action) if action else 0.0
        verdict = Verdict(
            accepted=True,
            status="accepted",
            message=f"accepted: fraction {score:.4f}",
            score=score,
            details={},
            verifier="char-fraction-test",
        )
        child = self.state.child(
            artifact=action, construction=None, value=score, score=score, timestep=self.state.timestep + 1
        )
        return (
            self._obs(),
            float(score),
            True,
            False,
            {"verdict": verdict, "score": score, "accepted": True, "state": child},
        )


ENV_ID = "CharFraction-test-v0"
if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point=CharFractionEnv)
