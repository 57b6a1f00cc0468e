"""tttd environments: one Gymnasium env per discovery problem, registered on import.

import gymnasium as gym, tttd_envs
env = gym.make("ErdosMinOverlap-v0")
obs, info = env.reset(seed=0)
obs, reward, terminated, truncated, info = env.step(program_text)
"""

from tttd_envs.registration import PROBLEMS, card, cards, register_all

register_all()

__all__ = ["PROBLEMS", "card", "cards", "register_all"]


def __getattr__(name):  # lazy: keep `import tttd_envs` fast
    if name == "State":
        from tttd_envs.state import State

        return State
    if name == "DiscoveryEnv":
        from tttd_envs.env import DiscoveryEnv

        return DiscoveryEnv
    raise AttributeError(name)
