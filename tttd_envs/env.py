"""DiscoveryEnv: one Gymnasium environment class for every discovery problem (docs/architecture.md).

A concrete problem subclasses it with a ``card`` and a classic-control style docstring. The action
is one text (a program, a construction, or a raw LLM answer); ``step`` hands it to the problem's
verifier and turns the Verdict into a reward per the card.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tttd_envs import data as data_mod
from tttd_envs.card import ProblemCard
from tttd_envs.spaces import UnicodeText
from tttd_envs.state import State
from verifiers import Verdict, get_verifier

MAX_ACTION_CHARS = 16 << 20
MAX_PROMPT_CHARS = 1 << 20
MAX_ARTIFACT_CHARS = 1 << 20
PROMPT_STDOUT_CHARS = 500  # the tail of the program's output shown in the prompt (as the reference)
_FMAX = float(np.finfo(np.float64).max)


class DiscoveryEnv(gym.Env):
    """Base class; see a concrete problem's docstring (``help(env.unwrapped)``) for its manual."""

    #: the problem (a subclass sets it; ``__init__`` replaces it by the card for the env's options)
    card: ProblemCard
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 1}
    #: the keys ``reset(options=...)`` takes
    reset_options: ClassVar[tuple[str, ...]] = ("state", "initial")

    def __init__(
        self,
        render_mode: str | None = None,
        *,
        max_turns: int = 1,
        initial: str | None = None,
        data_dir: str | None = None,
        **limits: Any,
    ) -> None:
        card = self.card
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, not {render_mode!r}")
        if int(max_turns) < 1:
            raise ValueError("max_turns must be ≥ 1")
        unknown = set(limits) - set(card.limits) - {"grace_s"}
        if unknown:
            import difflib

            key = sorted(unknown)[0]
            close = difflib.get_close_matches(
                key, [*card.limits, "max_turns", "initial", "data_dir", "render_mode"], n=1
            )
            raise TypeError(
                f"{card.id} got an unknown keyword argument {key!r}"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + f" (it accepts max_turns, initial, data_dir, render_mode and {', '.join(sorted(card.limits))})"
            )
        card.check_limits({k: v for k, v in limits.items() if k != "grace_s"})
        self.render_mode = render_mode
        self.max_turns = int(max_turns)
        self.initial_name = initial or card.default_initial
        card.initial(self.initial_name)  # validates the name now, not at reset
        self.data_dir = data_dir
        self.limits = {**card.limits, **limits}
        # the card for these options (an instance's statement, references, verifier data folder); itself for
        # most problems
        self.card = card = card.for_options({**self.limits, **({"data_dir": data_dir} if data_dir else {})})
        self.verifier = self._make_verifier()
        self.statement = card.statement_with(self.limits)

        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self.observation_space = spaces.Dict(
            {
                "prompt": UnicodeText(MAX_PROMPT_CHARS),
                "artifact": UnicodeText(MAX_ARTIFACT_CHARS),
                "value": spaces.Box(-_FMAX, _FMAX, shape=(), dtype=np.float64),
            }
        )
        self.state: State | None = None
        self.last_verdict: Verdict | None = None
        self.last_step_verdict: Verdict | None = None  # the verdict of this episode's last step (multi-turn)
        self._seed = 0
        self._turn = 0

    # -- Gymnasium API -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if options is not None and not isinstance(options, dict):
            raise TypeError(
                f"reset options must be a dict such as {{'initial': 'random'}} or {{'state': ...}}, "
                f"not a {type(options).__name__}"
            )
        options = dict(options or {})
        self._seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self._turn = 0
        self.last_verdict = None
        self.last_step_verdict = None
        self.state = None  # a reset that raises leaves no stale state behind (step: ResetNeeded)
        unknown = set(options) - set(self.reset_options)
        if unknown:
            *rest, last = [repr(k) for k in self.reset_options]
            raise ValueError(f"unknown reset options {sorted(unknown)}; use {', '.join(rest)} or {last}")
        self._start_episode(options)
        if options.get("state") is not None:
            state = State.from_dict(options["state"])
            if state.problem != self.card.id:
                raise ValueError(f"the state is for {state.problem!r}, not {self.card.id!r}")
            self.state = state
        else:
            self.state = self._initial_state(options.get("initial") or self.initial_name, self._seed)
        return self._obs(), {"state": self.state}

    def step(self, action: str):
        if self.state is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        verdict = self.verifier.verify(action, parent=self.state.parent_view(), seed=self._seed + self._turn)
        self.last_verdict = self.last_step_verdict = verdict
        self._turn += 1
        reward = self.card.reward(verdict.score, verdict.details)
        construction = verdict.details.get("construction") if verdict.accepted else None
        new_state = self.state.child(
            artifact=action if isinstance(action, str) else "",
            construction=construction,
            value=self.card.value(verdict.score),
            score=verdict.score,
            timestep=self.state.timestep + 1,
            stdout=str(verdict.details.get("stdout", "")),
        )
        if verdict.accepted:
            self.state = new_state  # later turns improve on the last accepted answer
        terminated = self._turn >= self.max_turns
        info = {"verdict": verdict, "score": verdict.score, "accepted": verdict.accepted, "state": new_state}
        return self._obs(), float(reward), terminated, False, info

    def render(self):
        if self.render_mode == "ansi":
            return self.render_text()
        if self.render_mode == "rgb_array":
            from tttd_envs import render

            return render.rgb_array(self.card, self.state, self.last_verdict)
        return None

    # -- hooks for problems whose episode is more than one verification (molecule runs) ---------------
    def _make_verifier(self):
        """The verifier of this env's limits (called once, by ``__init__``)."""
        return get_verifier(self.card.verifier, **self.card.verifier_kwargs, **self.limits)

    def _start_episode(self, options: dict[str, Any]) -> None:
        """Called by ``reset`` after seeding, before the starting state is built."""

    # -- helpers -----------------------------------------------------------------------------------
    def render_text(self) -> str:
        st, card = self.state, self.card
        lines = [f"{card.id}  ({card.title}; {card.direction}imise, {card.units})"]
        if st is None:
            return lines[0] + "\n(not reset)"
        n = len(st.construction) if isinstance(st.construction, list) else 0
        shown = "—" if st.score is None else self._display(st)
        lines.append(f"state {st.id}  step {st.timestep}  n={n}  {card.score_label} {shown}")
        if self.last_verdict is not None:
            v = self.last_verdict
            lines.append(f"last verdict: {v.message if v.message.startswith(v.status) else f'{v.status}: {v.message}'}")
        if card.best_reference() is not None or card.better_quoted() is not None:
            lines.append(f"best reference: {card.reference_summary()}")
        return "\n".join(lines)

    def _display(self, st: State) -> str:
        v = self.last_verdict
        if v is not None and v.accepted and v.score == st.score and "display" in v.details:
            return v.details["display"]
        return f"{st.score:.10g}"

    def _initial_state(self, name: str, seed: int) -> State:
        init = self.card.initial(name)
        if init.data_file:
            text, construction = data_mod.load_construction(self.card.domain, init.data_file, self.data_dir)
        elif init.build is not None:
            construction = init.build(np.random.default_rng(seed))
        else:
            construction = None
        if construction is None:  # "empty": nothing yet (value 0.0 for maximised problems, as the reference)
            return State(
                id=State.make_id(self.card.id, "", None),
                problem=self.card.id,
                construction=None,
                value=0.0 if self.card.direction == "max" else None,
                name=name,
            )
        verdict = self.verifier.verify(_json_action(construction))
        if not verdict.accepted:
            raise RuntimeError(
                f"{self.card.id}: initial state {name!r} was rejected by the verifier: {verdict.message}"
            )
        if init.construction_sha256 and verdict.details.get("construction_sha256") != init.construction_sha256:
            raise ValueError(
                f"{self.card.id}: the published construction {init.data_file!r} does not match its pinned "
                "sha256; the data file is corrupted or edited"
            )
        canon = verdict.details["construction"]
        self.last_verdict = verdict
        return State(
            id=State.make_id(self.card.id, "", canon),
            problem=self.card.id,
            artifact="",
            construction=canon,
            value=self.card.value(verdict.score),
            score=verdict.score,
            name=name,
        )

    def _obs(self) -> dict[str, Any]:
        st = self.state
        assert st is not None  # reset() and step() set the state before observing it
        value = st.value if st.value is not None else 0.0
        return {
            "prompt": self.prompt(),
            "artifact": st.artifact[:MAX_ARTIFACT_CHARS],
            "value": np.array(value, dtype=np.float64),
        }

    def prompt(self) -> str:
        """Statement + current state + what to improve."""
        st, card = self.state, self.card
        if st is None:
            raise gym.error.ResetNeeded("call reset() before prompt()")
        parts = [self.statement.strip(), "", "## Current state"]
        shown = self._display(st) if st.score is not None else "—"
        if card.domain == "math":
            if st.construction is None:
                parts.append("No construction yet (parent.json holds construction null).")
            else:
                n = len(st.construction) if isinstance(st.construction, list) else "?"
                parts.append(
                    f"parent.json holds the current construction (n = {n}) with {card.score_label} "
                    f"{shown} (state value {st.value!r})."
                )
        elif st.score is not None:
            parts.append(f"The current program scores {card.score_label} {shown} (state value {st.value!r}).")
        if st.artifact:
            fence = {"python": "python", "cpp": "cpp"}.get(card.artifact, "")
            parts += ["The program that produced it:", f"```{fence}", st.artifact.strip()[:20000], "```"]
        else:
            parts.append("No previous program.")
        if st.score is not None and st.parent_score is not None:
            parts.append(f"{card.score_label} before → after this program ran: {st.parent_score:.10g} → {shown}.")
        if st.stdout:
            out = st.stdout.strip()
            if len(out) > PROMPT_STDOUT_CHARS:
                out = "…(truncated)\n" + out[-PROMPT_STDOUT_CHARS:]
            parts += ["Its output (tail):", "```", out, "```"]
        last = self.last_step_verdict
        if last is not None:  # a multi-turn episode: what the verifier said about the previous answer
            parts.append("")
            parts.append("## Your previous answer")
            if last.accepted:
                parts.append(
                    f"It was accepted with {card.score_label} {last.details.get('display', f'{last.score:.10g}')}"
                    + ("; it is the current state above." if st.score == last.score else ".")
                )
            else:
                parts.append(f"It was not accepted ({last.status}): {last.message.strip()[:2000]}")
                parts.append("The current state above is unchanged; fix the problem and try again.")
        goal = "below" if card.direction == "min" else "above"
        best = card.best_reference()
        if card.target:
            parts.append(f"Target: get {goal} {card.target}.")
        elif best is not None or card.better_quoted() is not None:
            parts.append(f"Target: get {goal} {card.reference_summary()}.")
        return "\n".join(parts)


def _json_action(construction: Any) -> str:
    import json

    return json.dumps({"construction": construction}, separators=(",", ":"), allow_nan=False)
