"""What a user does first on a GPU machine (a GPU tool; not a test module): make the TriMul env for this
device, step each example kernel once with the default profile, print status, reward and the host gate.

    PYTHONPATH=. python3 tests/kernels/kern_user_check.py [FILE...]
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import gymnasium as gym

import tttd_envs  # noqa: F401


def main() -> int:
    import torch

    name = torch.cuda.get_device_name(0)
    env_id = "TriMul-H200-v0" if "H200" in name else "TriMul-H100-v0"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = sys.argv[1:] or [f"{root}/examples/trimul_triton.py", f"{root}/examples/trimul_torch.py"]
    for path in files:
        t = time.time()
        env = gym.make(env_id)
        env.reset(seed=0)
        _, reward, _, _, info = env.step(open(path).read())
        v = info["verdict"]
        print(
            f"USER {env_id} on {name}: {os.path.basename(path)} -> status {v.status}, reward {reward:.4f}, "
            f"score {v.score}, {time.time() - t:.0f} s :: {v.message[:200]}",
            flush=True,
        )
        print(f"    gate: {v.details.get('gate')}", flush=True)
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
