"""The autocorrelation inequalities AC1 and AC2 (docs/math.md#autocorrelation-inequalities-ac1-and-ac2)."""

from __future__ import annotations

import numpy as np

from tttd_envs.card import InitialState, ProblemCard, Reference
from tttd_envs.env import DiscoveryEnv
from tttd_envs.problems._math_common import MATH_BOARD, MATH_LIMITS, statement


def constant_sequence(rng: np.random.Generator) -> list[float]:
    """a_i = 1, n in [1000, 8000): AC1 score exactly 2, AC2 exactly 2/3."""
    return [1.0] * int(rng.integers(1000, 8000))


_COMMON = """\
The construction is a list a_0 … a_{n−1} (1 ≤ n ≤ 100,000) of heights of a step function f ≥ 0 with
n equal steps on [−1/4, 1/4]. Let c = a * a (c_k = Σ_{i+j=k} a_i a_j, k = 0 … 2n−2; numpy:
np.convolve(a, a)) and S = Σ a_i. The formulas below are exact for the step function.

Constraints: every 0 ≤ a_i ≤ 10^6 exactly (negative values are rejected, never clipped) and
max a > 0. Both objectives are scale-invariant, so divide by max(a) if you need to. Long sequences
are slower for your own optimiser, not for the verifier.
"""

AC1_STATEMENT = (
    """\
# First autocorrelation inequality AC1 (minimise)

C1 is the largest constant with max_{|t|≤1/2} (f*f)(t) ≥ C1 (∫f)² for all f ≥ 0 supported on
[−1/4, 1/4]. A step function proves the upper bound

    C1 ≤ 2n · max_k c_k / S²        (lower is better; proven: C1 ≥ 1.28)

"""
    + _COMMON
)

AC2_STATEMENT = (
    """\
# Second autocorrelation inequality AC2 (maximise)

C2 is the smallest constant with ‖f*f‖₂² ≤ C2 ‖f*f‖₁ ‖f*f‖∞ for all f ≥ 0. A step function proves
the lower bound

    C2 ≥ (2·Σ_k c_k² + Σ_k c_k c_{k+1}) / (3 · S² · max_k c_k)     (higher is better; C2 ≤ 1)

(the exact L2 norm of the piecewise-linear autoconvolution over its L1 norm times its maximum).

"""
    + _COMMON
)

_AC1_FILES = {
    "human": ("ac1_matolcsi_vinuesa2010.json", "84c3731a86287600f9216ae1da231642599704e518703f47f4309a2d0bf32e19"),
    "alphaevolve_v1": (
        "ac1_alphaevolve2025_v1.json",
        "bceafc4cfe33eb3e2fbe52a4352de501368ccabf686b9354b7b197d38422addc",
    ),
    "alphaevolve_v2": (
        "ac1_alphaevolve2025_v2.json",
        "634b059aa2a6ce267f90a82d68fef1f2c0998aee4eb3e4d50d466500dd521220",
    ),
    "previous_ai": ("ac1_thetaevolve2025.json", "07f64a8163d9f55143e0ca2ffb672079be2877f438f1c8511cec4847711b7b84"),
    "ttt": ("ac1_ttt_discover2026.json", "6fb4f3b440d31af3463c2b86da671a6aab75290bb9be217173c3ab8a2c4a754a"),
    "best_known": (
        "added-2026-12-04/ac1_togetherai2026.json",
        "9497ca45ba9bd06db37b3d1ac061d4adeab62a45a4cae8d1186be9cf24bdc61d",
    ),
}
_AC2_FILES = {
    "alphaevolve_v1": (
        "ac2_alphaevolve2025_v1.json",
        "f3ffdf438ed4e884639f3ff962eaec0d3d0e884ecddd12d43bb8df122231a74a",
    ),
    "previous_ai": ("ac2_alphaevolve2025_v2.json", "aa3b8be49ff5f71c42b9a6f255cda188f0c34a3be3feb70f508353abce9049f5"),
    "ttt": ("ac2_ttt_discover2026.json", "eddb9b3b99f99c1a8e294a86250b411868b6cf542cc659c5f4542bdc0a2243bd"),
    "best_known": (
        "added-2026-12-04/ac2_togetherai2026.json",
        "133c4bbea6c2860b8ab31098de7147eaf5a41fc2be69a87ea5dc2b023c8d4996",
    ),
}


def _initials(files: dict, constant_note: str) -> tuple[InitialState, ...]:
    return (
        InitialState("random", f"a_i = 1 with n in [1000, 8000) ({constant_note})", build=constant_sequence),
        *(
            InitialState(name, f"published: {fname}", data_file=fname, construction_sha256=sha)
            for name, (fname, sha) in files.items()
        ),
    )


_AC1 = statement("AutocorrelationAC1-v0", AC1_STATEMENT, "\nReturn: a flat list of n floats a_i.")
_AC2 = statement("AutocorrelationAC2-v0", AC2_STATEMENT, "\nReturn: a flat list of n floats a_i.")

AC1_CARD = ProblemCard(
    id="AutocorrelationAC1-v0",
    title="First autocorrelation inequality (upper bound on C1)",
    domain="math",
    artifact="python",
    direction="min",
    units="C1 bound (dimensionless)",
    statement=_AC1(MATH_LIMITS),
    statement_for=_AC1,
    verifier="autocorrelation_ac1",
    limits=dict(MATH_LIMITS),
    board=MATH_BOARD,
    reward_transform="reciprocal",
    references=(
        Reference(
            "best human",
            "Matolcsi & Vinuesa",
            2010,
            "1.5098 (TTT-Discover README: 1.50973)",
            "JMAA 372 (2010)",
            1.5097201507458788,
            "1.509720151",
            "ac1_matolcsi_vinuesa2010.json",
            True,
            "208 steps",
        ),
        Reference(
            "AI",
            "AlphaEvolve (May 2025)",
            2025,
            "1.5053",
            "arXiv:2506.13131",
            1.505293968440161,
            "1.505293969",
            "ac1_alphaevolve2025_v1.json",
            True,
            "600 steps",
        ),
        Reference(
            "AI",
            "AlphaEvolve (later 2025 construction)",
            2025,
            "1.503164",
            "as listed by ThetaEvolve",
            1.503163554681561,
            "1.503163555",
            "ac1_alphaevolve2025_v2.json",
            True,
            "1,319 steps; attributed to AlphaEvolve by the TTT-Discover repository",
        ),
        Reference(
            "previous best AI",
            "ThetaEvolve (Wang et al.)",
            2025,
            "1.503133",
            "arXiv:2511.23473",
            1.5031324359797773,
            "1.503132436",
            "ac1_thetaevolve2025.json",
            True,
            "1,319 steps",
        ),
        Reference(
            "TTT-Discover",
            "Yuksekgonul et al.",
            2026,
            "1.50287",
            "arXiv:2601.16175",
            1.5028628982558268,
            "1.502862899",
            "ac1_ttt_discover2026.json",
            True,
            "30,000 steps",
        ),
        Reference(
            "best known (2026-12)",
            "Together AI (EinsteinArena baseline)",
            2026,
            "1.5028628587",
            "vinid/einstein-arena web/data/baselines/together-ai.json, 2026-03-26",
            1.502862858705311,
            "1.502862859",
            "added-2026-12-04/ac1_togetherai2026.json",
            True,
            "30,000 steps",
        ),
    ),
    initial_states=_initials(_AC1_FILES, "score exactly 2"),
    default_initial="random",
    picture="autoconvolution",
    score_label="C1 ≤",
    proven_bound="C1 ≥ 1.28 (Cloninger & Steinerberger 2017)",
    libraries="numpy, scipy",
)

AC2_CARD = ProblemCard(
    id="AutocorrelationAC2-v0",
    title="Second autocorrelation inequality (lower bound on C2)",
    domain="math",
    artifact="python",
    direction="max",
    units="C2 bound (dimensionless)",
    statement=_AC2(MATH_LIMITS),
    statement_for=_AC2,
    verifier="autocorrelation_ac2",
    limits=dict(MATH_LIMITS),
    board=MATH_BOARD,
    reward_transform="identity",
    references=(
        Reference(
            "human (earlier)",
            "Matolcsi & Vinuesa",
            2010,
            "0.88922",
            "JMAA 372 (2010)",
            note="no public construction checked",
        ),
        Reference(
            "best human",
            "Boyer & Li",
            2025,
            "0.901564",
            "arXiv:2506.16750",
            note="575 steps; not verified by us (no construction in the data set)",
        ),
        Reference(
            "AI",
            "AlphaEvolve (May 2025)",
            2025,
            "0.8962",
            "arXiv:2506.13131",
            0.8962799441554077,
            "0.8962799441",
            "ac2_alphaevolve2025_v1.json",
            True,
            "50 steps",
        ),
        Reference(
            "previous best AI",
            "AlphaEvolve (later 2025 construction)",
            2025,
            "0.9610",
            "attributed to AlphaEvolve by the TTT-Discover repository",
            0.961021077784024,
            "0.9610210777",
            "ac2_alphaevolve2025_v2.json",
            True,
            "50,000 steps",
        ),
        Reference(
            "TTT-Discover",
            "Yuksekgonul et al.",
            2026,
            "0.9591",
            "arXiv:2601.16175",
            0.959179771148271,
            "0.9591797711",
            "ac2_ttt_discover2026.json",
            True,
            "50,000 steps; not a record",
        ),
        Reference(
            "human (unverified)",
            "Jaech & Joseph",
            2025,
            "0.94136",
            "arXiv:2508.02803",
            note="Simpson-rule evaluation, not the exact formula; unverified",
        ),
        Reference(
            "best known (2026-12)",
            "Together AI (EinsteinArena baseline)",
            2026,
            "0.9612055423",
            "vinid/einstein-arena web/data/baselines/together-ai.json, 2026-03-26",
            0.9612055422690108,
            "0.9612055422",
            "added-2026-12-04/ac2_togetherai2026.json",
            True,
            "100,000 steps",
        ),
    ),
    initial_states=_initials(_AC2_FILES, "score exactly 2/3"),
    default_initial="random",
    picture="autoconvolution",
    score_label="C2 ≥",
    proven_bound="C2 ≤ 1",
    libraries="numpy, scipy",
)

_DOC = """
    ## Description
    {desc}

    ## Action Space
    `UnicodeText`: a Python program defining `run(budget_s, seed)` returning the list a, the JSON
    construction, or a raw LLM answer (the last fenced ```python or ```json block is used).

    ## Observation Space
    `Dict(prompt: UnicodeText, artifact: UnicodeText, value: Box(()))`.

    ## Rewards
    {reward} for an accepted construction; 0.0 for anything rejected.

    ## Starting State
    `options={{"initial": name}}`: {names}; published ones need TTTD_DATA_DIR.
    `options={{"state": State}}` resumes a stored state.

    ## Episode End
    `terminated=True` after `max_turns` steps (default 1).

    ## Info
    `reset` returns `{{"state": State}}`. `step` returns `verdict` (a `verifiers.Verdict`: `status`, one of accepted,
    rejected, crashed, timeout, memory, output_limit, error; `message`, one sentence a model can act on; `score`, in the
    problem's units, only when accepted; `details`), `score`, `accepted`, and `state`: the state the action produced,
    which becomes the current state only when accepted. With `max_turns` > 1 the next prompt repeats the last verdict
    under "Your previous answer". `details`: `construction` (canonical, exact), `display`, `n`, exact and float64
    scores; for a program also `stdout`, `stderr`, `cpu_s`, `elapsed_s`, `isolation`.

    ## Arguments
    `gym.make("{id}", budget_s=300, cpus=1, memory_bytes=4<<30, max_turns=1, initial="random",
    data_dir=None, render_mode=None|"ansi"|"rgb_array")`.

    ## References
    {refs}

    ## Version History
    * v0: exact scoring from the integer autoconvolution; values in [0, 10^6], never clipped.
"""


class AutocorrelationAC1Env(DiscoveryEnv):
    card = AC1_CARD


class AutocorrelationAC2Env(DiscoveryEnv):
    card = AC2_CARD


def _doc(card: ProblemCard, desc: str, reward: str) -> str:
    refs = "; ".join(f"{r.who} {r.year} ({r.published})" for r in card.references)
    return _DOC.format(
        desc=desc, reward=reward, names=", ".join(s.name for s in card.initial_states), id=card.id, refs=refs
    )


AutocorrelationAC1Env.__doc__ = _doc(
    AC1_CARD,
    "Minimise 2n·max_k (a*a)_k / (Σa)² over non-negative step heights a: an upper bound on the\n"
    "    first autocorrelation constant C1 (proven C1 ≥ 1.28). Exact scoring, rounded up.",
    "1 / score",
)
AutocorrelationAC2Env.__doc__ = _doc(
    AC2_CARD,
    "Maximise ‖f*f‖₂² / (‖f*f‖₁ ‖f*f‖∞) over non-negative step functions f: a lower bound on\n"
    "    the second autocorrelation constant C2 (C2 ≤ 1). Exact scoring, rounded down.",
    "score",
)
