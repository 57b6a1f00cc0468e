"""Many copies of one problem at once: ``gym.make_vec("ErdosMinOverlap-v0", 4)``.

Every tttd id has this vector entry point, so ``gym.make_vec(id, n)`` gives an ``AsyncVectorEnv``
(each copy in its own process, so n verifications run in parallel) with **same-step autoreset**: the
step that ends an episode returns that episode's reward and, as its observation, the next episode's
first one (the final observation is in ``info["final_obs"]``). With ``max_turns=1`` every step is a
scored action; Gymnasium's default (next-step autoreset) would spend every second step on a reset that
ignores its action. Observations travel through pipes (text cannot live in Gymnasium's shared memory).
``asynchronous=False`` gives a ``SyncVectorEnv`` (one process, one copy at a time);
other keyword arguments go to every copy's ``gym.make``. Asking Gymnasium for a mode explicitly
(``vectorization_mode="async"|"sync"``) bypasses this and uses its defaults, next-step autoreset
included, unless ``vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}`` is given;
``"async"`` also needs ``"shared_memory": False`` there, or it says so in one sentence.
"""

from __future__ import annotations

from typing import Any


def make_vector(
    env_id: str, num_envs: int = 1, *, asynchronous: bool = True, autoreset_mode: Any = None, **kwargs: Any
):
    import gymnasium as gym
    from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

    if int(num_envs) < 1:
        raise ValueError(f"num_envs must be ≥ 1, not {num_envs!r}")
    mode = autoreset_mode if autoreset_mode is not None else AutoresetMode.SAME_STEP
    kwargs.pop("max_episode_steps", None)  # make_vec passes the spec's (None for tttd ids)
    fns = [lambda: gym.make(env_id, **kwargs) for _ in range(int(num_envs))]
    if asynchronous:
        return AsyncVectorEnv(fns, shared_memory=False, autoreset_mode=mode)  # text cannot be shared memory
    return SyncVectorEnv(fns, autoreset_mode=mode)
