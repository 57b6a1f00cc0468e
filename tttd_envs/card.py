"""Problem cards: everything an environment needs to know about one problem (docs/architecture.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

#: How a raw score becomes a reward (higher is better). Failures get the card's fail_reward.
REWARD_TRANSFORMS: dict[str, Callable[[float], float]] = {
    "identity": lambda s: s,
    "reciprocal": lambda s: 1.0 / s if s > 0 else 0.0,
    "negate": lambda s: -s,
    "mean_scaled": lambda s: s,  # handled in ProblemCard.reward (needs the number of cases)
    # reference / score for minimised problems with a per-instance reference (the verifier's trusted
    # details["reward_reference"], e.g. a best-known cost): 1.0 matches it, above 1 beats it
    "reference_ratio": lambda s: s,  # handled in ProblemCard.reward (needs the details)
}


@dataclasses.dataclass(frozen=True)
class Reference:
    """A published result shown beside users' rows (best human, previous AI, TTT-Discover …)."""

    label: str  # "best human", "previous best AI", "TTT-Discover", "AI"
    who: str
    year: int
    published: str  # the value as published (text, as the source wrote it)
    source: str
    value: float | None = None  # our exact recomputation (rounded outward), None if unverified
    display: str | None = None  # 10 significant digits, outward
    data_file: str | None = None  # file name in the data directory, if the construction is public
    verified: bool = False
    note: str = ""

    #: the two words every view uses (list, board, web page, help, prompt): our verifier scored the
    #: construction, or the number is taken from its source
    RE_VERIFIED: ClassVar[str] = "re-verified"
    QUOTED: ClassVar[str] = "quoted, not re-verified"

    @property
    def how(self) -> str:
        return self.RE_VERIFIED if self.verified and self.value is not None else self.QUOTED

    @property
    def shown_value(self) -> str:
        """Our exact value when re-verified, else the number as published."""
        return self.display if self.verified and self.display else self.published

    def describe(self) -> str:
        """``2.635977394 (test-time-training/discover 2026, re-verified)``: one line, the same everywhere."""
        return f"{self.shown_value} ({self.who} {self.year}, {self.how})"


@dataclasses.dataclass(frozen=True)
class InitialState:
    """A named starting point. Either `build(rng) -> construction` or a published `data_file`."""

    name: str
    description: str
    build: Callable[[Any], Any] | None = None
    data_file: str | None = None
    construction_sha256: str | None = None  # pin for published data (canonical construction)


@dataclasses.dataclass(frozen=True)
class BoardPolicy:
    """How the leaderboard takes and ranks this problem's submissions (docs/leaderboard.md). The
    leaderboard asks the card, never the problem's domain; the default is one text artifact judged by
    the card's verifier, one untimed board."""

    #: a submission is one artifact ("") or a whole logged run of this kind ("molecule-run"), stored as
    #: one bundle and replayed by ``run_verifier`` (a ``verifiers`` registry name)
    run: str = ""
    run_verifier: str = ""
    #: verifier options a submitter may set; None: the card's limits
    options: tuple[str, ...] | None = None
    #: timed problems rank per machine and re-time a resubmitted artifact: the verdict's hardware
    #: fields that name the machine, tried in order (empty: untimed, one board)
    hardware: tuple[str, ...] = ()
    #: the case sets the board takes (empty: whatever the verifier evaluates)
    full_case_sets: tuple[str, ...] = ()
    #: the full case sets in words, for a submitter whose set is refused: which one goes with which
    #: option, and where the smaller sets belong
    full_case_sets_help: str = ""
    #: entries compare with the references only on this case set ("" : on every board); it is also
    #: the board shown before any entry
    comparable_case_set: str = ""
    #: the contest whose final standings place a total (an estimated rank and performance), if any
    standings: str = ""
    #: the option that picks an instance ("instance" for CVRP-v0 and JSSP-v0; "" : no instances). Each
    #: instance is its own board, keyed by its name, and a user's own ``instance_file`` gets a board keyed by
    #: its content (``file:`` + the file's sha256, first 40 hex digits); a board's references are those of the
    #: card made for its instance (``ProblemCard.for_options``), and a family view sums the boards up
    instances: str = ""
    #: the verdict detail that holds the gap to the best known value in % (positive: worse), shown per
    #: entry and averaged in the family view
    gap_detail: str = ""
    #: an entry whose verdict kept no construction is drawn by re-verifying its stored JSON artifact with the
    #: card's own verifier options (cheap and exact for the math problems; False where options pick the
    #: instance or re-verifying is costly)
    redraw_from_json: bool = False

    @property
    def timed(self) -> bool:
        return bool(self.hardware)


@dataclasses.dataclass(frozen=True)
class ProblemCard:
    id: str
    title: str
    domain: str  # math, kernels, algorithms, molecules
    artifact: str  # python, cpp, kernel, smiles …
    direction: str  # "min" or "max"
    units: str
    statement: str  # the task as given to an agent (content of the prompt)
    verifier: str  # registry name in verifiers.base.REGISTRY
    verifier_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    limits: dict[str, Any] = dataclasses.field(default_factory=dict)  # budget_s, cpus, memory_bytes …
    reward_transform: str = "identity"
    fail_reward: float = 0.0
    references: tuple[Reference, ...] = ()
    initial_states: tuple[InitialState, ...] = ()
    default_initial: str = ""
    picture: str | None = None  # "erdos", "autoconvolution", "circles" (tttd_envs.render)
    score_label: str = "score"  # e.g. "C5 ≤", "Σr ≥"
    proven_bound: str = ""  # what mathematics says about the optimum
    libraries: str = ""
    nondeterministic: bool = False
    board: BoardPolicy = BoardPolicy()  # how the leaderboard takes and ranks submissions
    target: str = ""  # what to beat, when the best verified reference is not it
    reward_scale: float = 1.0  # for reward_transform "mean_scaled"
    statement_for: Callable[[dict[str, Any]], str] | None = None  # the statement for an env's limits
    #: for a card made for some options (``for_options``): what it was made for (e.g. the instance)
    context: dict[str, Any] = dataclasses.field(default_factory=dict)

    def check_limits(self, given: dict[str, Any]) -> dict[str, Any]:
        """``given`` checked against the card's limits: every key must be one, and a value whose default is a
        number must be a number (ints stay ints where the default is an int). One sentence otherwise, naming
        the bad value and the choices (the nearest name for a misspelt key)."""
        out = {}
        for key, value in given.items():
            if key not in self.limits:
                import difflib

                close = difflib.get_close_matches(key, list(self.limits), n=1)
                raise ValueError(
                    f"{self.id} has no option {key!r}"
                    + (f"; did you mean {close[0]!r}?" if close else "")
                    + f" (options: {', '.join(sorted(self.limits))})"
                )
            default = self.limits[key]
            if isinstance(default, (int, float)) and not isinstance(default, bool) and value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{self.id}: {key} must be a number like its default {default!r}, not {value!r}")
                if isinstance(default, int) and isinstance(value, float) and not value.is_integer():
                    raise ValueError(
                        f"{self.id}: {key} must be a whole number like its default {default!r}, not {value!r}"
                    )
                if value < 0:
                    raise ValueError(f"{self.id}: {key} must not be negative (got {value!r})")
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ValueError(f"{self.id}: {key} must be true or false, not {value!r}")
            out[key] = value
        return out

    def for_options(self, options: dict[str, Any]) -> ProblemCard:
        """The card for these options (an env's limits plus its ``data_dir``, `tttd eval -o`, a leaderboard
        submission's options): itself, unless the statement, references and board depend on an option (the
        logistics problems build one card per instance). The one hook for that: the env, `tttd eval` and the
        leaderboard all call it."""
        return self

    def statement_with(self, limits: dict[str, Any]) -> str:
        """The statement as an env with these limits gives it (``statement`` uses the card's own)."""
        return self.statement_for({**self.limits, **limits}) if self.statement_for else self.statement

    def __post_init__(self) -> None:
        if self.direction not in ("min", "max"):
            raise ValueError(f"{self.id}: direction must be 'min' or 'max'")
        if self.reward_transform not in REWARD_TRANSFORMS:
            raise ValueError(f"{self.id}: unknown reward transform {self.reward_transform!r}")

    # -- score → reward / value ---------------------------------------------------------------
    def reward(self, score: float | None, details: dict | None = None) -> float:
        if score is None:
            return float(self.fail_reward)
        if self.reward_transform == "mean_scaled":
            # Multi-case problems: the mean case score over the evaluated set, divided by a scale
            # (TTT-Discover's RL reward for AtCoder: mean/1500, mean/3e6).
            n = (details or {}).get("n_cases") or 1
            return float(score) / n / self.reward_scale
        if self.reward_transform == "reference_ratio":
            ref = (details or {}).get("reward_reference")
            return float(ref) / float(score) if ref and score > 0 else float(self.fail_reward)
        return float(REWARD_TRANSFORMS[self.reward_transform](score))

    def value(self, score: float | None) -> float | None:
        """State value: higher is better (−score for minimised problems)."""
        if score is None:
            return None
        return -float(score) if self.direction == "min" else float(score)

    def better(self, a: float, b: float) -> bool:
        return a < b if self.direction == "min" else a > b

    def initial(self, name: str) -> InitialState:
        for s in self.initial_states:
            if s.name == name:
                return s
        raise KeyError(
            f"{self.id} has no initial state {name!r}; choose one of: " + ", ".join(s.name for s in self.initial_states)
        )

    def best_reference(self) -> Reference | None:
        """The best re-verified reference (our own exact value), or None."""
        vals = [(r.value, r) for r in self.references if r.value is not None and r.verified]
        if not vals:
            return None
        return (min if self.direction == "min" else max)(vals, key=lambda vr: vr[0])[1]

    def better_quoted(self) -> Reference | None:
        """The best quoted (not re-verified) reference whose published number beats the best re-verified one."""
        import re

        best = self.best_reference()
        best_value = best.value if best is not None else None  # a re-verified reference always has a value
        out: tuple[float, Reference] | None = None
        for r in self.references:
            if r.how != Reference.QUOTED:
                continue
            m = re.match(r"\s*([0-9][0-9,]*(?:\.[0-9]+)?)", r.published)
            if not m:
                continue
            v = float(m.group(1).replace(",", ""))
            beats = best_value is None or (v < best_value if self.direction == "min" else v > best_value)
            if beats and (out is None or (v < out[0] if self.direction == "min" else v > out[0])):
                out = (v, r)
        return out[1] if out else None

    def reference_summary(self) -> str:
        """The best re-verified reference, and a better quoted one when there is one: what list, help and
        the prompt's target show."""
        best, quoted = self.best_reference(), self.better_quoted()
        parts = [best.describe()] if best else []
        if quoted is not None:
            parts.append(("a better value is " if best else "") + quoted.describe())
        return "; ".join(parts) or "—"
