"""AtCoder heuristic contests AHC039 and AHC058 (docs/atcoder.md): one C++ program per action,
judged on a set of generated cases by the official scoring rules."""

from __future__ import annotations

from tttd_envs.card import BoardPolicy, InitialState, ProblemCard, Reference
from tttd_envs.env import DiscoveryEnv

_CPP = """\
## What to submit
One C++ source file (GNU C++20, g++ -O2; at most 512 KiB) that reads one case from standard input and
writes its answer to standard output. A raw answer is fine: the last ```cpp block is taken. Each case:
2.0 s CPU (2.5 s wall), 1 GiB of memory, no network, no files besides its own directory. A crash or a
non-zero exit is RE even if the output is valid. In the default (rl) mode the program is run on the
generated public cases 0…149; every case must be accepted (any WA, TLE, MLE, RE or OLE gives reward 0),
and the reward is the mean case score divided by {scale}.
"""

AHC039_STATEMENT = """\
# AHC039: Purse Seine Fishing (maximise)

N = 5000 mackerels and N = 5000 sardines sit at distinct integer points of the square [0, 100000]².
Output one polygon (a purse seine) that encloses as many mackerels and as few sardines as possible.

Polygon rules: m vertices with 4 ≤ m ≤ 1000; integer coordinates in [0, 100000]; every edge parallel to
an axis; total edge length ≤ 400000; simple (non-adjacent edges share no point, adjacent ones only their
endpoint); vertices distinct. Three consecutive collinear vertices are allowed.

Input: a line N, then 2N lines "x y" — the first N are mackerels, the next N sardines.
Output: m, then m lines "x y" (in order around the polygon). You may print several polygons; only the
last is scored, but every one must parse.

Case score: max(0, a − b + 1), where a and b are the mackerels and sardines inside or on the boundary.
Empty output scores 1. Strong solutions score about 3,400–4,300 per case.

""" + _CPP.format(scale=1500)

AHC058_STATEMENT = """\
# AHC058: production planning (maximise)

N = 10 machine kinds, L = 4 levels, T = 500 turns, starting with K = 1 apple. Machine (i, j) has count
B[i][j] (initially 1) and power P[i][j] (initially 0). Level-0 machine j produces A_j apples per unit
of power (A sorted ascending, A_0 = 1, A_j ≤ 100). Strengthening machine (i, j) costs
C[i][j] · (P[i][j] + 1) apples.

Each turn: first an action — strengthen one machine (i, j) (its power grows by 1; a strengthening
you cannot afford is a wrong answer) or do nothing; then production, level by level in the order
0, 1, 2, 3: level 0 adds A_j · B[0][j] · P[0][j] apples; level i ≥ 1 adds B[i][j] · P[i][j] to B[i−1][j].

Input: "N L T K" (10 4 500 1), then A_0 … A_9, then L lines of N costs C[i][j] (1 ≤ C ≤ 1.25·10^12).
Output: T lines, each "i j" (strengthen) or "-1" (do nothing); lines starting with # are comments.

Case score: round(10^5 · log2 S), where S is the number of apples at the end (S = 1 scores 0). Strong
solutions score about 5.2–5.8 · 10^6 per case. (No rank or performance is estimated for AHC058: its
official cases and standings were never published, so only the public seeds can be evaluated.)

""" + _CPP.format(scale="3,000,000")

_LIMITS = {
    "mode": "rl",
    "case_set": None,
    "jobs": None,
    "stop_on_fail": True,
    "ale_final": False,
    "allow_public_contest": False,
    "progress": None,
}


def _board(problem: str) -> BoardPolicy:
    """docs/atcoder.md#case-sets-and-modes, docs/atcoder.md#rank-and-performance: one board per CPU model, full case
    sets only; contest totals over the official cases compare with the published ones and are placed in the final
    standings."""
    return BoardPolicy(
        hardware=("cpu_model",),
        full_case_sets=("public150", "official"),
        full_case_sets_help=(
            "public150 for the default rl mode, official with mode=contest; "
            "use `tttd eval` for quick checks on lite or public50"
        ),
        comparable_case_set="official",
        standings=problem,
    )


AHC039_CARD = ProblemCard(
    id="AHC039-v0",
    title="AtCoder AHC039: Purse Seine Fishing",
    domain="algorithms",
    artifact="cpp",
    direction="max",
    units="contest points (total over the case set)",
    statement=AHC039_STATEMENT,
    verifier="atcoder",
    verifier_kwargs={"problem": "ahc039"},
    limits=dict(_LIMITS),
    reward_transform="mean_scaled",
    reward_scale=1500.0,
    references=(
        Reference(
            "best human",
            "AHC039 winner",
            2024,
            "566,997",
            "AtCoder AHC039 final standings (rank 1)",
            note="contest total over the 150 official cases, judged by AtCoder; not re-run by tttd",
        ),
        Reference(
            "previous best AI",
            "as listed by TTT-Discover",
            2025,
            "558,026",
            "TTT-Discover README",
            note="system and date not stated by the source (before 2026); not re-run by tttd",
        ),
        Reference(
            "TTT-Discover",
            "Yuksekgonul et al.",
            2026,
            "567,062",
            "arXiv:2601.16175; AtCoder submission 72633477",
            note="post-contest submission; not re-run by tttd",
        ),
    ),
    initial_states=(InitialState("empty", "no program yet"),),
    default_initial="empty",
    picture="ahc039",
    score_label="total",
    target="566,997 (best human, contest total over the official cases)",
    nondeterministic=True,
    board=_board("ahc039"),
)

AHC058_CARD = ProblemCard(
    id="AHC058-v0",
    title="AtCoder AHC058: production planning",
    domain="algorithms",
    artifact="cpp",
    direction="max",
    units="contest points (total over the case set)",
    statement=AHC058_STATEMENT,
    verifier="atcoder",
    verifier_kwargs={"problem": "ahc058"},
    limits=dict(_LIMITS),
    reward_transform="mean_scaled",
    reward_scale=3_000_000.0,
    references=(
        Reference(
            "best human",
            "AHC058 winner",
            2025,
            "847,674,723",
            "TTT-Discover README",
            note="contest total; AHC058 has no public official cases or standings, so no rank is computed",
        ),
        Reference(
            "previous best AI",
            "as listed by TTT-Discover",
            2025,
            "848,373,282",
            "TTT-Discover README",
            note="system and date not stated by the source (before 2026)",
        ),
        Reference(
            "TTT-Discover",
            "Yuksekgonul et al.",
            2026,
            "848,414,228",
            "arXiv:2601.16175; AtCoder submission 72633508",
            note="post-contest submission",
        ),
    ),
    initial_states=(InitialState("empty", "no program yet (as in the reference run)"),),
    default_initial="empty",
    picture=None,
    score_label="total",
    target="847,674,723 (best human, contest total)",
    nondeterministic=True,
    board=_board("ahc058"),
)

_DOC = """
    ## Description
    {desc}

    ## Action Space
    `UnicodeText`: one C++20 source file, or a raw LLM answer (the last ```cpp block is used).

    ## Observation Space
    `Dict(prompt: UnicodeText, artifact: UnicodeText, value: Box(()))`.

    ## Rewards
    mode "rl" (default): the mean case score over public seeds 0…149 divided by {scale} when every case
    is accepted, else 0.0. The raw score (Verdict.score) is the total over the case set.

    ## Starting State
    `empty` (no program). `options={{"state": State}}` resumes a stored state.

    ## Episode End
    `terminated=True` after `max_turns` steps (default 1).

    ## Info
    `reset` returns `{{"state": State}}`. `step` returns `verdict` (a `verifiers.Verdict`: `status`, one of
    accepted, rejected, crashed, timeout, memory, output_limit, error; `message`, one sentence a model can act on;
    `score`, in the problem's units, only when accepted; `details`), `score`, `accepted`, and `state`: the state the
    action produced, which becomes the current state only when accepted. With `max_turns` > 1 the next prompt repeats
    the last verdict under "Your previous answer". `details`: `cases` (per-case scores and times), `n_cases`,
    `accepted_count`, `total`, `mean`, `case_set`, `compiler`, `compile_s`, `isolation`.

    ## Arguments
    `gym.make("{id}", mode="rl"|"contest"|"ale", case_set=None|"lite"|"public50"|"public150"|"official",
    jobs=None, stop_on_fail=True, max_turns=1)`. Registered nondeterministic: timing depends on the machine.

    ## References
    {refs} (contest totals published by AtCoder / TTT-Discover; single runs of time-limited programs).

    ## Version History
    * v0: official scorers re-implemented exactly; sandboxed judge; inputs generated bit for bit.
"""


class AHC039Env(DiscoveryEnv):
    card = AHC039_CARD


class AHC058Env(DiscoveryEnv):
    card = AHC058_CARD


for _cls, _desc, _scale in (
    (
        AHC039Env,
        "Enclose mackerels but not sardines with one axis-parallel polygon (AtCoder Heuristic Contest 039).",
        1500,
    ),
    (AHC058Env, "Plan 500 turns of machine upgrades to maximise apples (AtCoder Heuristic Contest 058).", "3,000,000"),
):
    _cls.__doc__ = _DOC.format(
        desc=_desc,
        scale=_scale,
        id=_cls.card.id,
        refs="; ".join(f"{r.label}: {r.published}" for r in _cls.card.references),
    )
