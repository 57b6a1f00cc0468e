"""The plain values the leaderboard API returns (no ORM objects escape the storage layer)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any


@dataclasses.dataclass
class Entry:
    """One deduplicated submission with its current verdict, as stored and re-verified by the
    leaderboard. ``rank``, ``beats``, ``reproduction_of`` and the AtCoder estimates are computed
    against the board the entry belongs to (problem, hardware, case set) when it is read."""

    id: int
    problem: str
    hardware_key: str  # "" for untimed problems; the CPU (AtCoder) or GPU model otherwise
    case_set: str  # "" for single-case problems; public150/official for AtCoder
    status: str
    accepted: bool
    score: float | None
    display: str | None  # per the card (math: the verdict's 10-digit outward display)
    score_exact: str | None  # the value the board sorts by (math: 20 digits, outward)
    message: str
    submitter: str
    notes: str
    run_id: str | None
    created_at: dt.datetime  # UTC
    artifact_sha256: str
    artifact_kind: str
    artifact_size: int
    verifier: str  # name@version of the verdict shown
    tttd_version: str
    hardware: dict[str, Any] | None
    details: dict[str, Any]  # verdict details (compact on boards; full from entry())
    flag: str | None = None  # None, "hacked" or "withdrawn"
    flag_reason: str | None = None
    flagged_by: str | None = None
    flagged_at: dt.datetime | None = None
    run_cost: dict[str, Any] | None = None  # what the producing run cost (cost_usd, tokens, device-seconds…)
    rank: int | None = None  # 1-based within its board; None if rejected or flagged
    beats: list[str] = dataclasses.field(default_factory=list)
    reproduction_of: str | None = None
    comparable: bool = True  # comparable to the references (AtCoder: official set only)
    estimated_rank: int | None = None  # AtCoder, contest mode over the official set only
    estimated_performance: int | None = None
    client_score_ignored: bool = False  # the client sent a score; it was ignored
    construction_sha256: str | None = None
    verified_at: dt.datetime | None = None
    evaluation_count: int = 1
    details_complete: bool = False  # True when `details` is the full verdict details
    evaluations: list[dict[str, Any]] | None = None  # verdict history, from entry() only
    flag_history: list[dict[str, Any]] | None = None  # operator log, from entry() only
    outcome: str | None = None  # from submit(): created, existing (deduplicated) or appended (re-timed)

    @property
    def ranked(self) -> bool:
        return self.rank is not None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class ReferenceRow:
    """A published result shown beside the entries (not an entry)."""

    name: str  # the label, made unique within the card ("AI (ShinkaEvolve)")
    label: str
    who: str
    year: int
    published: str
    source: str
    value: float | None  # the card's recomputed value (None when only quoted)
    display: str | None  # what the board prints
    verified: bool  # the card says our verifier reproduced it
    rechecked: bool  # this process re-ran our verifier on the published data just now
    recheck_note: str  # why not, or what the re-check found
    note: str
    data_file: str | None
    category: str  # human, previous_ai, ttt_discover, other
    construction_sha256: str | None = None  # canonical construction (re-checked, else the card's pin)
    score_exact: str | None = None  # 20 digits from the re-check
    sort_value: str | None = None  # the number rows are placed by (Decimal as text); None: unplaced
    estimated_rank: int | None = None  # AtCoder: where the published total stands
    estimated_performance: int | None = None
    comparable: bool = True  # measured like this board's entries (molecules: same budget and metric)

    @property
    def quoted(self) -> bool:
        return not self.rechecked

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


@dataclasses.dataclass
class BoardRow:
    """One line of a rendered board: an entry or a reference row at its position."""

    kind: str  # "entry" or "reference"
    entry: Entry | None = None
    reference: ReferenceRow | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entry": self.entry.to_dict() if self.entry else None,
            "reference": self.reference.to_dict() if self.reference else None,
        }


@dataclasses.dataclass
class Board:
    """The rows of one board of a problem: entries of one hardware and case set, with the
    references interleaved at their positions."""

    problem: str
    hardware_key: str
    case_set: str
    direction: str
    units: str
    comparable: bool  # the entries compare with the references (AtCoder: official set)
    rows: list[BoardRow]
    title: str | None = None  # molecule boards: the key spelled out, with the docs/molecules.md#tasks label

    @property
    def entries(self) -> list[Entry]:
        return [r.entry for r in self.rows if r.entry is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "hardware_key": self.hardware_key,
            "case_set": self.case_set,
            "direction": self.direction,
            "units": self.units,
            "comparable": self.comparable,
            "title": self.title,
            "rows": [r.to_dict() for r in self.rows],
        }


@dataclasses.dataclass
class ProblemSummary:
    """One line of the index: the best entry against the best references."""

    problem: str
    title: str
    domain: str
    direction: str
    units: str
    entries: int
    accepted: int
    best: Entry | None
    best_human: ReferenceRow | None
    previous_ai: ReferenceRow | None
    ttt_discover: ReferenceRow | None
    best_reference: ReferenceRow | None

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for k in ("best", "best_human", "previous_ai", "ttt_discover", "best_reference"):
            d[k] = d[k].to_dict() if d[k] is not None else None
        return _jsonable(d)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, dt.datetime):
        return obj.isoformat()
    return obj
