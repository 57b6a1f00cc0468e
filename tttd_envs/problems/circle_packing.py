"""Circle packing in the unit square, maximise the sum of radii (docs/math.md#circle-packing)."""

from __future__ import annotations

from tttd_envs.card import InitialState, ProblemCard, Reference
from tttd_envs.env import DiscoveryEnv
from tttd_envs.problems._math_common import MATH_BOARD, MATH_LIMITS, statement


def grid(count: int):
    """Radius 1/16 circles at ((2i+1)/16, (2j+1)/16) on an 8 × 4 grid, row by row (all dyadic:
    exactly tangent and exactly valid). 26 circles score 13/8; 32 score 2."""

    def build(rng):
        pts = [[(2 * i + 1) / 16, (2 * j + 1) / 16, 1 / 16] for j in range(4) for i in range(8)]
        return pts[:count]

    return build


def _statement(n: int, target: str) -> str:
    return f"""\
# Circle packing: {n} circles in the unit square (maximise Σr)

Place {n} circles, each given as [x, y, r], inside the unit square [0, 1]² with pairwise disjoint
interiors (touching is allowed), maximising the sum of the radii. Area bound: Σr ≤ √(n/π).

Validity is decided in exact rational arithmetic with zero tolerance: r ≥ 0; x − r ≥ 0,
x + r ≤ 1, y − r ≥ 0, y + r ≤ 1; and (x_i − x_j)² + (y_i − y_j)² ≥ (r_i + r_j)² for every pair.
Floating-point rounding matters: a 5 × 5 grid with r = 0.1 at 0.1, 0.3, … is invalid in float64.
Leave a margin: shrink every radius by about 1e-12 (it costs < 1e-10 in Σr).

Target: {target}.
"""


def _card(n: int, target: str, refs, initials) -> ProblemCard:
    text = statement(
        f"CirclePacking{n}-v0",
        _statement(n, target),
        f"\nReturn: a list of exactly {n} [x, y, r] triples (or a numpy array of shape ({n}, 3)).",
    )
    return ProblemCard(
        id=f"CirclePacking{n}-v0",
        title=f"Circle packing, {n} circles in the unit square (max Σr)",
        domain="math",
        artifact="python",
        direction="max",
        units="Σr (unit square)",
        statement=text(MATH_LIMITS),
        statement_for=text,
        verifier="circle_packing",
        verifier_kwargs={"n": n},
        limits=dict(MATH_LIMITS),
        board=MATH_BOARD,
        reward_transform="identity",
        references=refs,
        initial_states=initials,
        default_initial="empty",
        picture="circles",
        score_label="Σr ≥",
        proven_bound=f"Σr ≤ √({n}/π) (area bound)",
        libraries="numpy, scipy",
        target=target,
    )


CP26_CARD = _card(
    26,
    "",
    (  # target: the references say it (reference_summary)
        Reference(
            "best human",
            "Erich Friedman, Circles in Squares",
            2025,
            "2.634",
            "https://erich-friedman.github.io/packing/cirRsqu/",
            note="as quoted by AlphaEvolve; unverified",
        ),
        Reference(
            "AI",
            "AlphaEvolve",
            2025,
            "2.635 (2.63586276)",
            "arXiv:2506.13131",
            2.635862756413698,
            "2.635862756",
            "cp26_alphaevolve2025.json",
            True,
        ),
        Reference(
            "AI", "ShinkaEvolve", 2025, "2.63598283", "as listed by ThetaEvolve", note="no public construction checked"
        ),
        Reference(
            "previous best AI",
            "ThetaEvolve (Wang et al.)",
            2025,
            "2.63598308",
            "arXiv:2511.23473",
            note="no public construction checked",
        ),
        Reference(
            "TTT-Discover repository",
            "test-time-training/discover",
            2026,
            "—",
            "tasks/alphaevolve_cp/results/our_best_circles.json",
            2.635977394754257,
            "2.635977394",
            "cp26_discover_repo.json",
            True,
            "provenance undocumented; none published in the paper",
        ),
    ),
    (
        InitialState("empty", "no construction (value 0.0), as in the reference"),
        InitialState("grid", "26 circles of radius 1/16 on an 8 × 4 grid (Σr = 13/8)", build=grid(26)),
        InitialState(
            "previous_ai",
            "AlphaEvolve 2025",
            data_file="cp26_alphaevolve2025.json",
            construction_sha256="e59d85fb4052d6847a25d2629f630a94455d8f05126518bdd597aa2b9ff0afc7",
        ),
        InitialState(
            "discover_repo",
            "TTT-Discover repository",
            data_file="cp26_discover_repo.json",
            construction_sha256="2ce41e151b2ba43b67ab1d72eeb36f2c6bb2c29b058507b78482cef4a99745be",
        ),
    ),
)

CP32_CARD = _card(
    32,
    "",
    (
        Reference(
            "best human",
            "Erich Friedman, Circles in Squares",
            2025,
            "2.936",
            "https://erich-friedman.github.io/packing/cirRsqu/",
            note="as quoted by AlphaEvolve; unverified",
        ),
        Reference(
            "previous best AI",
            "AlphaEvolve",
            2025,
            "2.937",
            "arXiv:2506.13131",
            2.9379445262055177,
            "2.937944526",
            "cp32_alphaevolve2025.json",
            True,
        ),
    ),
    (
        InitialState("empty", "no construction (value 0.0), as in the reference"),
        InitialState("grid", "the full 8 × 4 grid of radius-1/16 circles (Σr = 2)", build=grid(32)),
        InitialState(
            "previous_ai",
            "AlphaEvolve 2025",
            data_file="cp32_alphaevolve2025.json",
            construction_sha256="6df7c7a5a3ef3e814594121229e04cd958775e382a7e964032c70b130265cae5",
        ),
    ),
)

_DOC = """
    ## Description
    Place {n} circles with disjoint interiors in the unit square maximising Σr (AlphaEvolve
    problem B.12). Validity is exact with zero tolerance; the score is the exact Σr, rounded down.

    ## Action Space
    `UnicodeText`: a Python program defining `run(budget_s, seed)` returning {n} [x, y, r] triples,
    the JSON construction, or a raw LLM answer (last fenced ```python or ```json block).

    ## Observation Space
    `Dict(prompt: UnicodeText, artifact: UnicodeText, value: Box(()))`.

    ## Rewards
    Σr for an accepted packing; 0.0 for anything rejected.

    ## Starting State
    `options={{"initial": name}}`: {names} (default empty; published ones need TTTD_DATA_DIR);
    `options={{"state": State}}` resumes a stored state.

    ## Episode End
    `terminated=True` after `max_turns` steps (default 1).

    ## Info
    `reset` returns `{{"state": State}}`. `step` returns `verdict` (a `verifiers.Verdict`: `status`, one of accepted,
    rejected, crashed, timeout, memory, output_limit, error; `message`, one sentence a model can act on; `score`, in the
    problem's units, only when accepted; `details`), `score`, `accepted`, and `state`: the state the action produced,
    which becomes the current state only when accepted. With `max_turns` > 1 the next prompt repeats the last verdict
    under "Your previous answer". `details`: `construction` (canonical centres and radii), `display`, exact feasibility
    evidence; for a program also `stdout`, `stderr`, `cpu_s`, `elapsed_s`, `isolation`.

    ## Arguments
    `gym.make("CirclePacking{n}-v0", budget_s=300, cpus=1, memory_bytes=4<<30, max_turns=1,
    initial="empty", data_dir=None, render_mode=None|"ansi"|"rgb_array")`.

    ## References
    {refs}

    ## Version History
    * v0: exact validity (zero tolerance) and exact Σr.
"""


class CirclePacking26Env(DiscoveryEnv):
    card = CP26_CARD


class CirclePacking32Env(DiscoveryEnv):
    card = CP32_CARD


for _cls, _n in ((CirclePacking26Env, 26), (CirclePacking32Env, 32)):
    _cls.__doc__ = _DOC.format(
        n=_n,
        names=", ".join(s.name for s in _cls.card.initial_states),
        refs="; ".join(f"{r.label}: {r.describe()}" for r in _cls.card.references),
    )
