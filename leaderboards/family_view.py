"""The family view of a problem with instances (``card.board.instances``: CVRP-v0, JSSP-v0): one line per
instance board that has a ranked entry (its best entry, the best known value, the gap), the mean gap over
the instances with a best known value, and how many of them are at or beyond it (docs/leaderboard.md).

Pure functions of the card and its boards: no database here."""

from __future__ import annotations

import dataclasses
from typing import Any

from leaderboards import scoring
from leaderboards.api_values import Board, Entry, ReferenceRow, _jsonable

#: the label of an instance's best known value on the logistics cards (CVRPLIB's BKS, the best upper bound)
BEST_KNOWN = "best known"


@dataclasses.dataclass
class FamilyRow:
    board: str  # the board key: the instance name, or file:<sha256 prefix>
    title: str | None
    ranked: int  # ranked entries on the board
    best: Entry  # the board's rank-1 entry
    best_known: ReferenceRow | None  # the instance's best known value (None for a user's own file)
    gap_pct: float | None  # the best entry's gap to it in % (the verifier's), None without one

    @property
    def at_or_beyond(self) -> bool:
        return self.gap_pct is not None and self.gap_pct <= 0


@dataclasses.dataclass
class Family:
    problem: str
    rows: list[FamilyRow]
    with_gap: int  # instances with a best known value
    mean_gap_pct: float | None  # over those
    at_or_beyond: int  # of those, how many have an entry at or beyond the best known

    def to_dict(self) -> dict[str, Any]:
        d = _jsonable(dataclasses.asdict(self))
        for row, out in zip(self.rows, d["rows"]):
            out["at_or_beyond"] = row.at_or_beyond
        return d


def family(card, boards: list[Board]) -> Family:
    """The family view of these boards (those without a ranked entry are left out)."""
    rows = []
    for b in boards:
        ranked = [(e.rank, e) for e in b.entries if e.rank is not None]
        if not ranked:
            continue
        best = min(ranked, key=lambda re: re[0])[1]
        known = next((r.reference for r in b.rows if r.reference is not None and r.reference.label == BEST_KNOWN), None)
        rows.append(FamilyRow(b.case_set, b.title, len(ranked), best, known, scoring.gap_pct(card, best.details)))
    rows.sort(key=lambda r: (r.gap_pct is None, r.gap_pct if r.gap_pct is not None else 0.0, r.board))
    gaps = [r.gap_pct for r in rows if r.gap_pct is not None]
    return Family(
        card.id, rows, len(gaps), sum(gaps) / len(gaps) if gaps else None, sum(1 for r in rows if r.at_or_beyond)
    )
