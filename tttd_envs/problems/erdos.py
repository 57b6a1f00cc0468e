"""Erdős' minimum overlap problem (docs/math.md#erdős-minimum-overlap)."""

from __future__ import annotations

import numpy as np

from tttd_envs.card import InitialState, ProblemCard, Reference
from tttd_envs.env import DiscoveryEnv
from tttd_envs.problems._math_common import MATH_BOARD, MATH_LIMITS, statement


def random_pairs(rng: np.random.Generator) -> list[float]:
    """n = 2m values 0.5 ± k/2^20 (|k| ≤ 419430), permuted: exactly representable, in [0.1, 0.9],
    and summing to exactly n/2 (δ = 0)."""
    m = int(rng.integers(20, 50))
    k = rng.integers(-419430, 419431, size=m)
    h = [0.5 + int(v) / 2**20 for v in k] + [0.5 - int(v) / 2**20 for v in k]
    perm = rng.permutation(2 * m)
    return [h[i] for i in perm]


STATEMENT = """\
# Erdős minimum overlap problem (minimise)

Find a step function h: [0, 2] → [0, 1] with ∫h = 1 whose maximal overlap with its complement is
as small as possible. Every such h proves the upper bound C5 ≤ M(h) on Erdős' minimum overlap
constant (known: 0.379005 ≤ C5 ≤ 0.380876).

The construction is a list h_0 … h_{n−1} (1 ≤ n ≤ 10,000; a few hundred to a few thousand steps is
typical): h takes the value h_i on [2i/n, 2(i+1)/n). With g = 1 − h on [0, 2],

    M(h) = (2/n) · max over m = −(n−1) … n−1 of Σ_i h_i · (1 − h_{i+m})

(the sum over i with both indices in range; numpy: (2/n)·max(np.correlate(h, 1 − h, "full"))).
Lower is better.

Constraints: every 0 ≤ h_i ≤ 1 exactly; Σh_i = n/2 (i.e. ∫h = 1) within a relative tolerance:
δ = |2·Σh/n − 1| must be ≤ 1e-9, and δ is added to your score (score = M(h) + δ), so the number is
a true bound. Normalise in float64 (h *= (n/2)/h.sum() leaves δ ≈ 1e-16); normalising in float32
is rejected. Hint: pairing values 1/2 ± d with d a multiple of 2^-40 gives exact sums.
"""

_STATEMENT = statement("ErdosMinOverlap-v0", STATEMENT, "\nReturn: a flat list of n floats h_i.")

CARD = ProblemCard(
    id="ErdosMinOverlap-v0",
    title="Erdős minimum overlap (upper bound on C5)",
    domain="math",
    artifact="python",
    direction="min",
    units="C5 bound (dimensionless)",
    statement=_STATEMENT(MATH_LIMITS),
    statement_for=_STATEMENT,
    verifier="erdos_min_overlap",
    limits=dict(MATH_LIMITS),
    board=MATH_BOARD,
    reward_transform="reciprocal",
    references=(
        Reference(
            "best human",
            "Haugland",
            2016,
            "0.380927",
            "arXiv:1609.08000",
            0.380926853433087,
            "0.3809268535",
            "erdos_haugland2016.json",
            True,
            "51 steps",
        ),
        Reference(
            "previous best AI",
            "AlphaEvolve (Novikov et al.)",
            2025,
            "0.380924",
            "arXiv:2506.13131",
            0.38092303510845027,
            "0.3809230352",
            "erdos_alphaevolve2025.json",
            True,
            "95 steps",
        ),
        Reference(
            "TTT-Discover",
            "Yuksekgonul et al.",
            2026,
            "0.380876",
            "arXiv:2601.16175",
            0.38087532321771883,
            "0.3808753233",
            "erdos_ttt_discover2026.json",
            True,
            "600 steps",
        ),
        Reference(
            "best known (2026-12)",
            "Together AI (EinsteinArena baseline)",
            2026,
            "0.3808703106",
            "vinid/einstein-arena web/data/baselines/together-ai.json, 2026-03-26",
            0.38087031058621995,
            "0.3808703106",
            "added-2026-12-04/erdos_togetherai2026.json",
            True,
            "600 steps",
        ),
    ),
    initial_states=(
        InitialState("random", "n = 2m (m in [20, 50)) values 1/2 ± k/2^20, exactly normalised", build=random_pairs),
        InitialState("constant", "h ≡ 1/2, n = 100 (M = 1/2)", build=lambda rng: [0.5] * 100),
        InitialState(
            "human",
            "Haugland 2016",
            data_file="erdos_haugland2016.json",
            construction_sha256="8273e33f7babc0748556c007ea54eff5654b96a9fff8d64638b6c04833d9df13",
        ),
        InitialState(
            "previous_ai",
            "AlphaEvolve 2025",
            data_file="erdos_alphaevolve2025.json",
            construction_sha256="44664fa6d7d112c87f71b24bd4a3a79e73a9963c6bbc2c479852cdf6004fa179",
        ),
        InitialState(
            "ttt",
            "TTT-Discover 2026",
            data_file="erdos_ttt_discover2026.json",
            construction_sha256="31d88b3aaa8e8e31f747a0e9523bb8e8fd7d5d70f8f33104af72caa0ac019910",
        ),
        InitialState(
            "best_known",
            "Together AI 2026 (EinsteinArena baseline), best known as of 2026-12",
            data_file="added-2026-12-04/erdos_togetherai2026.json",
            construction_sha256="e1cf0643d0a8ac0404d650700a57757ce9450c81dd3f1fe86ee877cd73c1c850",
        ),
    ),
    default_initial="random",
    picture="erdos",
    score_label="C5 ≤",
    proven_bound="0.379005 ≤ C5 (White 2023)",
    libraries="numpy, scipy",
)


class ErdosMinOverlapEnv(DiscoveryEnv):
    """
    ## Description
    Find a step function h on [0, 2] with values in [0, 1] and ∫h = 1 minimising
    M(h) = sup_k ∫ h(x)(1 − h(x + k)) dx. Each valid h proves C5 ≤ M(h) for Erdős' minimum overlap
    constant; lower is better. Scoring is exact (rational arithmetic) and rounded up.

    ## Action Space
    `UnicodeText`: a Python program defining `run(budget_s, seed)` that returns the list h, the JSON
    construction, or a raw LLM answer (the last fenced ```python or ```json block is used).

    ## Observation Space
    `Dict(prompt: UnicodeText, artifact: UnicodeText, value: Box(()))`: the statement with the
    current state, the program that produced it, and its value (−score).

    ## Rewards
    1 / score for an accepted construction (score = M(h) + δ); 0.0 for anything rejected.

    ## Starting State
    `options={"initial": name}` with name in random (default), constant, human, previous_ai, ttt
    (the last three need the published data: TTTD_DATA_DIR); `options={"state": State}` resumes
    any stored state (PUCT reuse).

    ## Episode End
    `terminated=True` after `max_turns` steps (default 1); never truncated.

    ## Info
    `reset` returns `{"state": State}`. `step` returns `verdict` (a `verifiers.Verdict`: `status`, one of accepted,
    rejected, crashed, timeout, memory, output_limit, error; `message`, one sentence a model can act on; `score`, in the
    problem's units, only when accepted; `details`), `score`, `accepted`, and `state`: the state the action produced,
    which becomes the current state only when accepted. With `max_turns` > 1 the next prompt repeats the last verdict
    under "Your previous answer". `details`: `construction` (canonical, exact), `display`, `n`, exact and float64
    scores; for a program also `stdout`, `stderr`, `cpu_s`, `elapsed_s`, `isolation`.

    ## Arguments
    `gym.make("ErdosMinOverlap-v0", budget_s=300, cpus=1, memory_bytes=4<<30, max_turns=1,
    initial="random", data_dir=None, render_mode=None|"ansi"|"rgb_array")`.

    ## References
    Haugland 2016 (0.380927), AlphaEvolve 2025 (0.380924), TTT-Discover 2026 (0.380876); lower
    bound 0.379005 (White 2023).

    ## Version History
    * v0: exact scoring with the δ sum-deviation term; tolerance 1e-9.
    """

    card = CARD
