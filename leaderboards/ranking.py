"""From stored rows to ranked entries and rendered boards: ranks per board (problem, hardware, case
set) by the card's direction on exact values, the references each entry beats, reproductions of
published constructions, AtCoder standings estimates, and reference rows placed between entries."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from leaderboards import scoring
from leaderboards.api_values import Board, BoardRow, Entry, ReferenceRow
from leaderboards.store import as_utc


def to_entry(card, row: dict[str, Any]) -> Entry:
    summary = row.get("summary") or {}
    return Entry(
        id=row["id"],
        problem=row["problem"],
        hardware_key=row["hardware_key"],
        case_set=row["case_set"],
        status=row["status"],
        accepted=bool(row["accepted"]),
        score=row["score"],
        display=row["display"],
        score_exact=row["score_exact"],
        message=row["message"],
        submitter=row["submitter"],
        notes=row["notes"],
        run_id=row["run_id"],
        created_at=as_utc(row["created_at"]),
        artifact_sha256=row["artifact_sha256"],
        artifact_kind=row["artifact_kind"],
        artifact_size=row["artifact_size"],
        verifier=row["verifier"],
        tttd_version=row["tttd_version"],
        hardware=row["hardware"],
        details=dict(summary),
        flag=row["flag"],
        flag_reason=row["flag_reason"],
        flagged_by=row["flagged_by"],
        flagged_at=as_utc(row["flagged_at"]),
        comparable=scoring.comparable(card, summary),
        client_score_ignored=row["client_score_sent"] is not None,
        construction_sha256=row["construction_sha256"],
        verified_at=as_utc(row["verified_at"]),
        evaluation_count=row["evaluation_count"],
        run_cost=row.get("run_cost"),
    )


#: the references of a problem: one list for every board, or a function of the board's case set
#: (molecule boards differ by task and budget)
Refs = list[ReferenceRow] | Callable[[str], list[ReferenceRow]]


def refs_of(refs: Refs, case_set: str) -> list[ReferenceRow]:
    return refs(case_set) if callable(refs) else refs


def value_of(entry: Entry) -> Decimal | None:
    if not entry.accepted or entry.score_exact is None:
        return None
    return Decimal(entry.score_exact)


def _shown(text: str | None) -> Decimal | None:
    return scoring.parse_number(text)


def _ref_shown(ref: ReferenceRow) -> Decimal | None:
    shown = _shown(ref.display)
    return shown if shown is not None else (Decimal(ref.sort_value) if ref.sort_value is not None else None)


def shown_beats(card, entry: Entry, ref: ReferenceRow) -> bool:
    """The entry's printed value is strictly better than the reference's printed value (10
    significant digits for math, both rounded outward), so a claim "beats X" survives rounding."""
    mine, theirs = _shown(entry.display), _ref_shown(ref)
    return mine is not None and theirs is not None and card.better(mine, theirs)


def rank(card, rows: list[dict[str, Any]], refs: Refs) -> list[Entry]:
    """Entries with ranks, beats, reproductions and estimates. Ranks are per (hardware, case set):
    accepted, unflagged entries by exact value, ties broken by submission time (first wins). An
    entry beats only references comparable with its board."""
    entries = [to_entry(card, r) for r in rows]
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in entries:
        groups.setdefault((e.hardware_key, e.case_set), []).append(e)
    for members in groups.values():
        eligible = [(v, e) for e in members if e.accepted and e.flag is None and (v := value_of(e)) is not None]
        eligible.sort(key=lambda ve: (scoring.sort_key(card, ve[0]), ve[1].created_at, ve[1].id))
        for i, (_, e) in enumerate(eligible, 1):
            e.rank = i
    for e in entries:
        if not e.accepted:
            continue
        board_refs = refs_of(refs, e.case_set)
        by_sha = {r.construction_sha256: r.name for r in board_refs if r.construction_sha256}
        ref_numbers = [(r.name, _ref_shown(r)) for r in board_refs if r.comparable]
        ref_numbers = [(n, v) for n, v in ref_numbers if v is not None]
        e.reproduction_of = by_sha.get(e.construction_sha256) if e.construction_sha256 else None
        mine = _shown(e.display)
        if e.flag is None and e.comparable and mine is not None:
            e.beats = [name for name, theirs in ref_numbers if card.better(mine, theirs)]
        e.estimated_rank, e.estimated_performance = scoring.standings_place(card, e.score, e.details)
    return entries


def order(card, entries: list[Entry]) -> list[Entry]:
    """Board order: per board, ranked entries by rank, then flagged entries by value, then rejected
    ones newest first. Boards: the comparable case set (AtCoder's official) first, then by case set
    and hardware."""

    def group_key(e: Entry):
        return (e.case_set != card.board.comparable_case_set, e.case_set, e.hardware_key)

    def within(e: Entry):
        if e.rank is not None:
            return (0, e.rank, 0)
        v = value_of(e)
        if v is not None:
            return (1, scoring.sort_key(card, v), e.id)
        return (2, -e.created_at.timestamp(), -e.id)

    return sorted(entries, key=lambda e: (group_key(e), within(e)))


def boards(card, entries: list[Entry], refs: Refs) -> list[Board]:
    """One Board per (hardware, case set) present — or one empty board when there are no entries —
    each with the reference rows placed where they stand (references not comparable with the board,
    e.g. measured at another budget, are listed after the ranked entries, unplaced)."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in order(card, entries):
        groups.setdefault((e.hardware_key, e.case_set), []).append(e)
    if not groups:
        groups[("", scoring.default_board(card))] = []
    out = []
    for (hw, cs), members in groups.items():
        board_refs = refs_of(refs, cs)
        placed_values = [(Decimal(r.sort_value), r) for r in board_refs if r.sort_value is not None and r.comparable]
        placed = [r for _, r in sorted(placed_values, key=lambda vr: scoring.sort_key(card, vr[0]))]
        unplaced = [r for r in board_refs if r.sort_value is None or not r.comparable]
        ranked = [e for e in members if e.rank is not None]
        rest = [e for e in members if e.rank is None]
        rows: list[BoardRow] = []
        pending = list(placed)
        for e in ranked:
            # a reference goes right above the first entry that does not beat it (ties: reference first)
            while pending and not shown_beats(card, e, pending[0]):
                rows.append(BoardRow("reference", reference=pending.pop(0)))
            rows.append(BoardRow("entry", entry=e))
        rows += [BoardRow("reference", reference=r) for r in pending + unplaced]
        rows += [BoardRow("entry", entry=e) for e in rest]
        comparable = card.board.comparable_case_set in ("", cs)
        out.append(
            Board(card.id, hw, cs, card.direction, card.units, comparable, rows, title=scoring.board_title(card, cs))
        )
    return out
