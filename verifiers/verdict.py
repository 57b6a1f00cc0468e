"""The Verdict: the one result type every verifier returns (docs/architecture.md#the-verdict)."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

#: Every status a Verdict can carry. Only ``accepted`` has a score.
STATUSES = (
    "accepted",  # valid artifact, score computed by trusted code
    "rejected",  # malformed or invalid artifact / construction
    "crashed",  # the program raised, exited without a result, or died from a signal
    "timeout",  # wall or CPU limit reached
    "memory",  # address-space / memory limit reached
    "output_limit",  # too much stdout/stderr
    "error",  # the verifier's own fault: please report
    "unverified-timing",  # kernels on a machine that cannot time them (correctness only)
    "implausible-timing",  # kernels: timing failed a trusted check (envelope, staging, floor)
    "contended",  # kernels: other GPU work or throttling during timing; retry
    "uncheckable-on-cpu",  # kernels: CPU dev mode cannot run this submission (CUDA C++, CuPy, hard-coded cuda)
)


@dataclasses.dataclass
class Verdict:
    """What a verifier decided about one artifact.

    ``score`` is the raw metric in the problem's own units (None unless accepted); ``message`` is one
    line a person can act on; ``details`` holds per-case data and trimmed logs.
    """

    accepted: bool
    status: str
    message: str
    score: float | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    artifact_sha256: str | None = None
    verifier: str = ""
    hardware: dict[str, Any] | None = None
    elapsed_s: float = dataclasses.field(default=0.0, compare=False)  # timing is not part of the decision

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown Verdict status {self.status!r}; expected one of {STATUSES}")
        if self.accepted != (self.status == "accepted"):
            raise ValueError("Verdict.accepted must be True exactly when status == 'accepted'")
        if self.accepted:
            if self.score is None or not math.isfinite(self.score):
                raise ValueError("an accepted Verdict needs a finite score")
        elif self.score is not None:
            raise ValueError("only an accepted Verdict carries a score")

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def reject(cls, message: str, status: str = "rejected", **kw: Any) -> Verdict:
        return cls(accepted=False, status=status, message=message, score=None, **kw)

    @classmethod
    def accept(cls, score: float, message: str, **kw: Any) -> Verdict:
        return cls(accepted=True, status="accepted", message=message, score=float(score), **kw)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, default=_json_default, **kw)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in fields})

    def summary(self) -> str:
        """A readable multi-line rendering for people (``tttd eval``)."""
        lines = [f"status:   {self.status}", f"message:  {self.message}"]
        if self.accepted:
            shown = self.details.get("display")
            lines.append(
                f"score:    {shown if shown is not None else repr(self.score)}"
                + (f"  (float {self.score!r})" if shown is not None else "")
            )
            if "score_exact" in self.details:
                lines.append(f"exact:    {self.details['score_exact']}")
        for key in ("n", "artifact_kind", "construction_sha256"):
            if key in self.details:
                lines.append(f"{key + ':':<9} {self.details[key]}")
        iso = self.details.get("isolation")
        if isinstance(iso, dict):
            lines.append(f"sandbox:  {iso.get('level')} ({iso.get('summary', '')})")
        lines.append(f"verifier: {self.verifier}   elapsed {self.elapsed_s:.3f} s")
        if self.artifact_sha256:
            lines.append(f"artifact: sha256 {self.artifact_sha256}")
        return "\n".join(lines)


def _json_default(o: Any) -> Any:
    # numpy scalars and similar sneak into details; keep the JSON strict and finite.
    for attr in ("item", "tolist"):
        if hasattr(o, attr):
            return getattr(o, attr)()
    if dataclasses.is_dataclass(o) and not isinstance(o, type):  # an instance, not a dataclass class
        return dataclasses.asdict(o)
    return str(o)
