"""State: one point of a discovery search (docs/architecture.md#the-environment). JSON-serialisable; the agent's
archive and the leaderboard store the same shape."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

STDOUT_KEEP = 4000


@dataclasses.dataclass
class State:
    id: str
    problem: str
    artifact: str = ""  # source text ("" for a constructed initial state)
    construction: Any = None  # the data the artifact produced (canonical form)
    value: float | None = None  # higher is better (−score for minimised problems)
    score: float | None = None  # raw score in the problem's units
    parent_id: str | None = None
    lineage: list[str] = dataclasses.field(default_factory=list)  # ancestor ids, oldest first
    timestep: int = 0
    stdout: str = ""  # trimmed tail of the program's output
    name: str | None = None  # for named initial states ("random", "human", ...)
    parent_score: float | None = None  # the parent's raw score: the prompt shows "before → after"

    @staticmethod
    def make_id(problem: str, artifact: str, construction: Any) -> str:
        """Content-addressed: the same artifact and construction give the same id."""
        h = hashlib.sha256()
        h.update(problem.encode())
        h.update(b"\0")
        h.update(artifact.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
        h.update(json.dumps(construction, separators=(",", ":"), allow_nan=False).encode())
        return h.hexdigest()[:16]

    def child(
        self,
        *,
        artifact: str,
        construction: Any,
        value: float | None,
        score: float | None,
        timestep: int,
        stdout: str = "",
    ) -> State:
        return State(
            id=State.make_id(self.problem, artifact, construction),
            problem=self.problem,
            artifact=artifact,
            construction=construction,
            value=value,
            score=score,
            parent_id=self.id,
            lineage=[*self.lineage, self.id],
            timestep=timestep,
            stdout=stdout[-STDOUT_KEEP:],
            parent_score=self.score,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> State:
        if isinstance(d, State):
            return d
        if not isinstance(d, dict):
            raise TypeError(f"a state must be a State or a dict, not {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown state fields: {', '.join(sorted(unknown))}")
        if "id" not in d or "problem" not in d:
            raise ValueError("a state needs at least 'id' and 'problem'")
        return cls(**d)

    def parent_view(self) -> dict[str, Any]:
        """What a program sees of this state (``parent.json``)."""
        return {"construction": self.construction, "value": self.value}
