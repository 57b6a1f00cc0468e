"""Reference rows: the card's published results, each re-checked by our own verifier from its
published construction when the data directory holds it (rule 4), otherwise shown as quoted."""

from __future__ import annotations

import functools
import os
import re
from decimal import Decimal

from leaderboards import scoring
from leaderboards.api_values import ReferenceRow


def category(label: str) -> str:
    low = label.lower()
    if low.startswith("ttt-discover"):
        return "ttt_discover"
    if low == "best human":
        return "human"
    if low == "previous best ai":
        return "previous_ai"
    return "other"


def references(env_id: str, case_set: str = "") -> list[ReferenceRow]:
    """The card's references in card order, with re-check results. Problems that take runs
    (molecules) have one set per board: ``case_set`` is the board key (task, budget...; the card's
    default task and budget when empty)."""
    from tttd_envs.registration import card as get_card

    card = get_card(env_id)
    if card.board.run:
        return molecule_references(card, case_set)
    card = scoring.instance_card(card, case_set)  # an instance board: that instance's references
    if card is None:
        return []
    options = tuple(sorted((k, v) for k, v in card.context.items() if k in card.limits and v is not None))
    counts: dict[str, int] = {}
    for r in card.references:
        counts[r.label] = counts.get(r.label, 0) + 1
    rows = []
    for ref in card.references:
        name = ref.label if counts[ref.label] == 1 else f"{ref.label} ({ref.who})"
        pinned = next(
            (s.construction_sha256 for s in card.initial_states if ref.data_file and s.data_file == ref.data_file), None
        )
        rechecked, note, sha, exact, display = (
            False,
            "quoted from the source; not re-run by tttd",
            pinned,
            None,
            ref.display,
        )
        if ref.data_file:
            rechecked, note, sha, exact, shown = _recheck(
                card.id, ref.data_file, ref.display, pinned, _data_signature(card.domain, ref.data_file), options
            )
            display = shown or ref.display
        value = (
            Decimal(exact)
            if exact
            else Decimal(repr(ref.value))
            if ref.value is not None
            else scoring.parse_number(ref.published)
        )
        if display is None and value is not None:
            display = ref.published.split(" ")[0] if scoring.parse_number(ref.published) is not None else None
        est_rank, est_perf = scoring.reference_place(card, value)
        rows.append(
            ReferenceRow(
                name=name,
                label=ref.label,
                who=ref.who,
                year=ref.year,
                published=ref.published,
                source=ref.source,
                value=ref.value,
                display=display,
                verified=ref.verified,
                rechecked=rechecked,
                recheck_note=note,
                note=ref.note,
                data_file=ref.data_file,
                category=category(ref.label),
                construction_sha256=sha,
                score_exact=exact,
                sort_value=None if value is None else str(value),
                estimated_rank=est_rank,
                estimated_performance=est_perf,
            )
        )
    return rows


def _data_signature(domain: str, filename: str):
    """(path, size, mtime) of the data file, or None: the cache key of a re-check."""
    from tttd_envs import data

    try:
        path = data.find(domain, filename)
    except FileNotFoundError:
        return None
    st = os.stat(path)
    return str(path), st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=256)
def _recheck(env_id: str, data_file: str, card_display: str | None, pinned: str | None, signature, options=()):
    """Run the problem's verifier on the published data file (``options``: the instance of an instance
    board). Returns (rechecked, note, construction_sha256, score_exact, display)."""
    if signature is None:
        return (
            False,
            "published data not available here (set TTTD_DATA_DIR); value quoted from the card",
            pinned,
            None,
            None,
        )
    from tttd_envs.registration import card as get_card
    from verifiers import get_verifier

    card = get_card(env_id).for_options(dict(options))
    verifier = get_verifier(card.verifier, **{**card.verifier_kwargs, **card.limits})
    with open(signature[0], encoding="utf-8") as fh:
        verdict = verifier.verify(fh.read())
    if not verdict.accepted:
        return False, f"our verifier rejects the published data ({verdict.message})", pinned, None, None
    sha = verdict.details.get("construction_sha256")
    if pinned and sha != pinned:
        return False, "the data file does not match the card's pinned construction; value quoted", pinned, None, None
    shown = verdict.details.get("display")
    if card_display and shown != card_display:
        return False, f"our verifier gives {shown}, the card says {card_display}", sha, None, None
    return True, f"re-verified from {data_file} by {verdict.verifier}", sha, verdict.details.get("score_exact"), shown


_AT_CALLS = re.compile(r"at ([\d,]+) calls")


def molecule_references(card, case_set: str = "") -> list[ReferenceRow]:
    """The docs/molecules.md#references references of a molecule board's task (from ``molecules_cards.references``). A
    reference is placed on the board (and can be beaten) only when it is the same metric at the same
    budget: its note says "AUC top-10 at N calls" (isomer tasks: "AUC coverage at N calls") with N =
    the board's B. The others (another budget, GuacaMol's unlimited-call task scores, numbers
    docs/molecules.md#references marks not comparable) are listed as context, never ranked against."""
    from leaderboards import molruns
    from tttd_envs.problems.molecules_cards import references as task_references

    key = molruns.parse_board_key(case_set) or {"task": card.limits["task"], "budget": card.limits["budget"]}
    rows = []
    for ref in task_references(key["task"]):
        m = _AT_CALLS.search(ref.note or "")
        at = int(m.group(1).replace(",", "")) if m and ref.note.startswith(("AUC top-10", "AUC coverage")) else None
        published = ref.published.strip()
        value = scoring.parse_number("0" + published if published.startswith(".") else published)
        comparable = at is not None and at == key["budget"]
        how = (
            "same metric and budget as this board"
            if comparable
            else f"measured at {at:,} calls, this board is B={key['budget']:,}: context only"
            if at is not None
            else "a different metric: context only"
        )
        rows.append(
            ReferenceRow(
                name=ref.label,
                label=ref.label,
                who=ref.who,
                year=ref.year,
                published=ref.published,
                source=ref.source,
                value=None if value is None else float(value),
                display=None if value is None else str(value),
                verified=ref.verified,
                rechecked=False,
                recheck_note=f"quoted from the source; {how}",
                note=ref.note,
                data_file=None,
                category=category(ref.label),
                sort_value=None if value is None else str(value),
                comparable=comparable,
            )
        )
    return rows
