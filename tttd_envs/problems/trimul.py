"""TriMul GPU kernels (docs/kernels.md): one env class per GPU, the same problem.

An action is one Python module defining ``custom_kernel(data)``; the verifier checks it against a
trusted fp32 reference on fresh secret-seeded inputs at every call and times it on the named GPU.
Without that GPU the env runs CPU dev mode (correctness only, reward 0) and says so.
"""

from __future__ import annotations

import dataclasses
import os

from tttd_envs.card import BoardPolicy, InitialState, ProblemCard, Reference
from tttd_envs.env import DiscoveryEnv
from tttd_envs.state import State

STATEMENT = """\
# TriMul: the outgoing Triangle Multiplicative Update, forward pass (minimise µs)

Write `custom_kernel(data)` for `data = (x, mask, weights, config)`:
x [B,N,N,C] float32 CUDA; mask [B,N,N] float32 or int64 with values in {0,1} (never infer its content
from its dtype); weights: norm.weight/bias [C], left_proj/right_proj/left_gate/right_gate/out_gate.weight
[H,C], to_out_norm.weight/bias [H], to_out.weight [C,H]; config = {"hidden_dim": H, "dim": C}, H = 128.

    x̂ = LayerNorm_C(x)                       (biased variance, eps 1e-5, affine)
    L = (x̂ W_lp^T) ⊙ mask ⊙ σ(x̂ W_lg^T);   R = (x̂ W_rp^T) ⊙ mask ⊙ σ(x̂ W_rg^T);   G = σ(x̂ W_og^T)
    O[b,i,j,d] = Σ_k L[b,i,k,d] · R[b,j,k,d]
    Y = (LayerNorm_H(O) ⊙ G) W_out^T          → return Y: a plain float32 contiguous torch.Tensor [B,N,N,C]

Every call gets new inputs and weights and is checked: |out − ref| ≤ 0.02 + 0.02·|ref| for every element,
equal NaN/inf patterns (18 test cases + 2 mask-dtype contract cases + every timed call). Any precision is
allowed if every call passes (fp16 with fp32 accumulation leaves a comfortable margin; bf16/fp8 are risky).
Score: geometric mean over 7 shapes (N,B,C) = (256,2,128) (768,1,128) (256,2,384, masked) (512,1,128)
(1024,1,128) (768,1,384, masked) (1024,1,384) of the mean time per call in µs, each call timed with
CUDA events on a cold L2; reward = 3000 / µs. Everything inside custom_kernel is timed (weight casts too).

Allowed imports: torch (nn, nn.functional, cuda, backends; from torch.utils.cpp_extension only load_inline),
triton, triton.language, cupy, numpy, math, typing, functools, itertools, collections, dataclasses, enum,
operator. No eval/exec/open/getattr, no timing APIs, no threads/processes/files, no L2 persistence or
device-state changes, no subclassing torch classes. State across calls may depend only on shapes/dtypes/
device/config (compiled kernels, plans, scratch buffers), never on tensor contents or addresses. Join any
side stream to the current stream before returning. The module is at most 64 KiB; a raw answer is fine
(the last ```python block is taken).
"""

_CAVEAT = (
    "GPU MODE protocol: masks never applied (upstream parsing bug), no L2 flush, submission in the timer's "
    "process; compare only with gpumode_compat=True on the same GPU model (docs/kernels.md#gpumode-compat, "
    "docs/kernels.md#reward-and-statuses)"
)
_LIMITS = {
    "gpumode_compat": False,
    "mode": "auto",
    "allow_other_hardware": False,
    "timing_profile": "full",
    "device_index": 0,
    "require_triton": False,
    "debug_secret": None,
    "audit": None,
    "cpu_pass_reward": 0.0,
    "seccomp_after_warmup": False,
}


@dataclasses.dataclass(frozen=True)
class TriMulCard(ProblemCard):
    """The reward is TTT-Discover's 3000/µs on success; a passed CPU dev run gets cpu_pass_reward (0 by default)."""

    def reward(self, score, details=None) -> float:
        from verifiers.kernels.timing import SCORE_SCALE

        if score is not None and score > 0:
            return SCORE_SCALE / float(score)
        if details and details.get("cpu_pass_reward") is not None:
            return float(details["cpu_pass_reward"])
        return float(self.fail_reward)


def _refs(gpu: str) -> tuple[Reference, ...]:
    table = {"H100": (1371.0, 1161.0), "A100": (4531.0, 2198.0), "B200": (1005.0, 905.0)}
    if gpu not in table:
        return ()
    human, ttt = table[gpu]
    src = "GPU MODE TriMul leaderboard (gpumode.com/v2/leaderboard/496) as cited by TTT-Discover"
    # value=None: these are not tttd scores (a different protocol), so they are shown, never ranked against.
    return (
        Reference("best human", "GPU MODE leaderboard", 2025, f"{human:g} µs", src, note=_CAVEAT),
        Reference(
            "TTT-Discover",
            "Yuksekgonul et al.",
            2026,
            f"{ttt:g} µs",
            "arXiv:2601.16175; test-time-training/discover README",
            note=_CAVEAT,
        ),
    )


def _card(gpu: str) -> TriMulCard:
    return TriMulCard(
        id=f"TriMul-{gpu}-v0",
        title=f"TriMul forward kernel on {gpu}",
        domain="kernels",
        artifact="python",
        direction="min",
        units="µs",
        statement=STATEMENT,
        verifier="trimul",
        verifier_kwargs={"gpu": gpu},
        limits=dict(_LIMITS),
        reward_transform="reciprocal",
        references=_refs(gpu),
        initial_states=(
            InitialState("empty", "no kernel yet (TTT-Discover parity)"),
            InitialState("pytorch", "the plain PyTorch implementation shipped with tttd (unscored)"),
        ),
        default_initial="empty",
        score_label="geomean µs",
        libraries="torch, triton, cupy, numpy",
        picture="trimul",
        nondeterministic=True,
        # one board per GPU model (the CUDA device's name); a CPU dev-mode verdict goes to an untimed board
        board=BoardPolicy(hardware=("name", "gpu_model", "gpu", "device_name", "cpu_model")),
        target={"H100": "1161 µs (TTT-Discover, GPU MODE protocol; compare under gpumode_compat=True)"}.get(gpu, ""),
    )


_DOC = """
    ## Description
    The AlphaFold-style outgoing Triangle Multiplicative Update forward pass (GPU MODE's TriMul task, used
    by TTT-Discover), timed on {gpu}. Masks are really applied (protocol tttd-trimul/1); gpumode_compat=True
    reproduces upstream's all-ones masks and timing (gpumode-compat/1), a separate score series.

    ## Action Space
    `UnicodeText`: one Python module defining `custom_kernel(data)`, or a raw LLM answer (last ```python block).

    ## Observation Space
    `Dict(prompt: UnicodeText, artifact: UnicodeText, value: Box(()))`.

    ## Rewards
    3000 / geomean_us when accepted on a {gpu}; 0.0 on any failure. CPU dev mode and other GPUs give status
    `unverified-timing` and reward `cpu_pass_reward` (default 0).

    ## Starting State
    `empty` (default) or `pytorch` (the shipped plain PyTorch implementation, unscored until verified).

    ## Episode End
    `terminated=True` after `max_turns` steps (default 1).

    ## Info
    `reset` returns `{{"state": State}}`. `step` returns `verdict` (a `verifiers.Verdict`: `status`, one of accepted,
    rejected, crashed, timeout, memory, error, implausible-timing, contended, unverified-timing, uncheckable-on-cpu;
    `message`, one sentence a model can act on; `score`, in the problem's units, only when accepted; `details`),
    `score`, `accepted`, and `state`: the state the action produced, which becomes the current state only when accepted.
    With `max_turns` > 1 the next prompt repeats the last verdict under "Your previous answer". `details`: `per_shape`
    (mean, median, n, the checks' margins), `geomean_us`, `calibration`, `host_profile` and `gate` (the host gate's
    decision), `retimed`, `cases`, `isolation`, `hardware`.

    ## Arguments
    `gym.make("{id}", gpumode_compat=False, mode="auto"|"gpu"|"cpu", allow_other_hardware=False,
    timing_profile="full"|"quick", device_index=0, require_triton=False, debug_secret=None, audit=None,
    cpu_pass_reward=0.0, seccomp_after_warmup=False, max_turns=1)`. `seccomp_after_warmup=True` makes the
    worker refuse new processes, threads and file opens once every shape is warmed up (recorded in
    `details["seccomp_after_warmup"]`; torch/cuBLAS and Triton kernels ran under it on an H100, but it
    stays opt-in until more submission styles have). Registered nondeterministic: timing varies between
    runs. Before importing the submission, the verifier calibrates the host with trusted kernels and
    judges it from robust statistics (medians, quartiles, the rate of slow calls; `details["host_profile"]`,
    decision in `details["gate"]`): a `quiet` host is timed with the protocol's limits; a `noisy` one
    (a virtual machine's heavy tail) is timed with limits widened by what the calibration measured, and a
    shape that misses them is timed once more with fresh inputs (`details["retimed"]`); an `unstable` one
    (e.g. another process on the GPU) answers `contended` (correct, not timed). `timing_profile="full"`
    (default) times each shape until its mean is known to 0.1%; `"quick"` (RL throughput) to 0.5% with a
    smaller calibration, and catches less hidden work on noisy hosts (docs/kernels.md).

    ## References
    {refs}

    ## Version History
    * v0: docs/kernels.md protocol tttd-trimul/1 (verifier trimul/1).
"""


class _TriMulEnv(DiscoveryEnv):
    def step(self, action: str):
        obs, reward, terminated, truncated, info = super().step(action)
        d = info["verdict"].details
        info.update(
            {
                "score_us": d.get("score_us"),
                "per_shape_us": d.get("per_shape_us"),
                "failure_kind": d.get("failure_kind"),
            }
        )
        if info["verdict"].status == "unverified-timing":
            info["cpu_pass_reward"] = d.get("cpu_pass_reward", 0.0)  # a shaping value, never a timing reward
        return obs, reward, terminated, truncated, info

    def _initial_state(self, name: str, seed: int) -> State:
        if name == "pytorch":
            path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "trimul_torch.py")
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                text = ""
            return State(
                id=State.make_id(self.card.id, text, None),
                problem=self.card.id,
                artifact=text,
                construction=None,
                value=None,
                name=name,
            )
        return super()._initial_state(name, seed)


def _make(gpu: str):
    card = _card(gpu)
    refs = "; ".join(f"{r.label}: {r.published} ({r.note})" for r in card.references) or "none published"
    return type(
        f"TriMul{gpu}Env",
        (_TriMulEnv,),
        {"card": card, "__doc__": _DOC.format(gpu=gpu, id=card.id, refs=refs), "__module__": __name__},
    )


TriMulH100Env = _make("H100")
TriMulA100Env = _make("A100")
TriMulH200Env = _make("H200")
TriMulB200Env = _make("B200")
