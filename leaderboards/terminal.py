"""Plain-text renderings of entries, boards and the index for the terminal (`tttd submit`, `tttd board`)."""

from __future__ import annotations

from collections.abc import Sequence

from leaderboards import scoring
from leaderboards.api_values import Board, Entry, ProblemSummary, ReferenceRow
from tttd_envs.card import Reference


def _table(header: tuple[str, ...], body: Sequence[tuple[str, ...]]) -> list[str]:
    rows = [header, *body]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]


def _direction(card) -> str:
    return "lower is better" if card.direction == "min" else "higher is better"


def _ref_text(r: ReferenceRow) -> str:
    how = _how(r)
    est = f"; est. rank {r.estimated_rank}, perf {r.estimated_performance}" if r.estimated_rank else ""
    context = "" if r.comparable else f"; {r.note}: context only, not ranked against"
    return f"[{r.name}] {r.who} {r.year} ({r.source}); {how}{est}{context}"


def _usd(x: float) -> str:
    """Dollars: cents from one dollar up, three significant digits below."""
    return "$0" if x == 0 else f"${x:,.2f}" if abs(x) >= 1 else f"${x:.3g}"


def _count(x) -> str:
    return f"{int(x):,}" if isinstance(x, int) or (isinstance(x, float) and x.is_integer()) else f"{x:,.6g}"


#: how run_cost's usual fields read (agents/cost.py names them); other keys are shown as "key value"
_TOKENS = (("prompt_tokens", "prompt"), ("completion_tokens", "completion"))
_SECONDS = (
    ("sampler_device_s", "sampler", ".1f", "device-s"),
    ("trainer_device_s", "trainer", ".1f", "device-s"),
    ("eval_cpu_s", "evaluation", ".3g", "CPU-s"),
)


def run_cost_text(rc: dict) -> str:
    """One line: ``$0.0042 (38,584 prompt + 922 completion tokens, 858 trained; sampler 38.9 device-s, …)``
    with whichever fields the record has."""
    cost = rc.get("cost_usd")
    head = _usd(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else str(cost)
    groups = []
    tokens = " + ".join(f"{_count(rc[k])} {label}" for k, label in _TOKENS if k in rc)
    tokens = f"{tokens} tokens" if tokens else ""
    if "train_tokens" in rc:
        tokens = (
            f"{tokens}, {_count(rc['train_tokens'])} trained"
            if tokens
            else f"{_count(rc['train_tokens'])} tokens trained"
        )
    if tokens:
        groups.append(tokens)
    seconds = [
        f"{label} {rc[k]:{fmt}} {unit}"
        for k, label, fmt, unit in _SECONDS
        if isinstance(rc.get(k), (int, float)) and not isinstance(rc.get(k), bool)
    ]
    if seconds:
        groups.append(", ".join(seconds))
    known = {
        "cost_usd",
        "train_tokens",
        *(k for k, _ in _TOKENS),
        *(k for k, *_ in _SECONDS if k in rc and not isinstance(rc[k], str)),
    }
    if rc.get("rates") in ("set", "unset"):  # the agent's: were any of its rates set?
        known.add("rates")
        if rc["rates"] == "unset":
            groups.append("no rates set, nothing priced")
    other = [
        f"{k} {_count(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v}"
        for k, v in rc.items()
        if k not in known
    ]
    if other:
        groups.append(", ".join(other))
    return head + (f" ({'; '.join(groups)})" if groups else "")


def gap_text(gap: float) -> str:
    """``gap +1.234% to the best known`` (negative: a new record)."""
    return f"gap {gap:+.3f}% to the best known" + (" (a new record)" if gap < 0 else "")


def _entry_notes(e: Entry, card=None) -> str:
    bits = []
    if e.flag:
        bits.append(f"FLAGGED {e.flag.upper()}: {e.flag_reason} (by {e.flagged_by})")
    if not e.accepted:
        bits.append(f"{e.status.upper()}: {e.message}")
    if e.reproduction_of:
        bits.append(f"reproduces {e.reproduction_of}")
    gap = scoring.gap_pct(card, e.details) if card is not None and e.accepted else None
    if gap is not None:
        bits.append(gap_text(gap))
    if e.accepted and "top10" in e.details:
        bits.append(f"top-10 {e.details['top10']:.4f}, {e.details.get('calls')} calls")
    if e.beats:
        bits.append("beats " + ", ".join(e.beats))
    if e.estimated_rank is not None:
        bits.append(f"est. AtCoder rank {e.estimated_rank}, perf {e.estimated_performance}")
    if e.run_cost and e.run_cost.get("rates") != "unset" and "cost_usd" in e.run_cost:
        bits.append(f"run cost {run_cost_text({'cost_usd': e.run_cost['cost_usd']})}")
    if e.notes:
        bits.append(e.notes.splitlines()[0][:60])
    return "; ".join(bits)


def board_text(card, boards: list[Board]) -> str:
    lines = [f"{card.id} — {card.title}", f"{card.units}; {_direction(card)}"]
    for b in boards:
        n = sum(1 for r in b.rows if r.entry is not None and r.entry.rank is not None)
        head = [f"board: {b.title}"] if b.title else []
        if b.hardware_key:
            head.append(f"hardware: {b.hardware_key}")
        if b.case_set and not b.title:
            head.append(
                f"case set: {b.case_set}"
                + ("" if b.comparable else " (estimate; references are official-set contest totals)")
            )
        lines.append("")
        if head:
            lines.append(" · ".join(head))
        rows = []
        for r in b.rows:
            if r.reference is not None:
                ref = r.reference
                rows.append(("ref", ref.display or ref.published, "", "", "", _ref_text(ref)))
            else:
                e = r.entry
                assert e is not None  # a board row holds a reference or an entry
                rows.append(
                    (
                        str(e.rank) if e.rank is not None else "-",
                        e.display or "—",
                        e.submitter[:32],
                        f"#{e.id}",
                        e.created_at.strftime("%Y-%m-%d %H:%M"),
                        _entry_notes(e, card),
                    )
                )
        lines += _table(("RANK", "SCORE", "SUBMITTER", "ID", "SUBMITTED (UTC)", "NOTES"), rows)
        lines.append(f"{n} ranked entr{'y' if n == 1 else 'ies'}")
    return "\n".join(lines)


def family_text(card, fam) -> str:
    """The family view (``leaderboards.family_view``): mean gap, instances at or beyond the best known, and one
    line per instance board."""
    lines = [
        f"{card.id}: family view over {len(fam.rows)} instance board{'s' if len(fam.rows) != 1 else ''} "
        "with a ranked entry"
    ]
    if fam.with_gap:
        lines.append(
            f"mean gap to the best known: {fam.mean_gap_pct:+.3f}% over {fam.with_gap} instance"
            f"{'s' if fam.with_gap != 1 else ''}; at or beyond the best known: {fam.at_or_beyond} of "
            f"{fam.with_gap}"
        )
    else:
        lines.append("no instance with a best known value has an entry yet")
    rows = []
    for r in fam.rows:
        known = r.best_known
        rows.append(
            (
                r.board if not r.board.startswith(scoring.FILE_BOARD) else r.title or r.board,
                r.best.display or "—",
                "—" if known is None else (known.display or known.published),
                "—" if r.gap_pct is None else f"{r.gap_pct:+.3f}%",
                str(r.ranked),
                f"#{r.best.id} {r.best.submitter[:32]}" + ("" if known is None else f"; best known: {_how(known)}"),
            )
        )
    lines += _table(("INSTANCE", "BEST", "BEST KNOWN", "GAP", "ENTRIES", "BEST ENTRY"), rows)
    return "\n".join(lines)


def _how(r: ReferenceRow) -> str:
    return Reference.RE_VERIFIED if (r.rechecked or r.verified) else Reference.QUOTED


def summary_text(items: list[ProblemSummary]) -> str:
    def ref(r: ReferenceRow | None) -> str:
        if r is None:
            return "—"
        return f"{r.display or r.published}{'' if r.rechecked else '*'}"

    rows = []
    for s in items:
        best = "—" if s.best is None else f"{s.best.display} ({s.best.submitter[:24]}, #{s.best.id})"
        rows.append(
            (
                s.problem,
                s.direction,
                f"{s.accepted}/{s.entries}",
                best,
                ref(s.best_human),
                ref(s.previous_ai),
                ref(s.ttt_discover),
            )
        )
    lines = _table(("PROBLEM", "DIR", "ACCEPTED", "BEST ENTRY", "BEST HUMAN", "PREVIOUS AI", "TTT-DISCOVER"), rows)
    lines.append(
        f"* {Reference.QUOTED}: the number is quoted from its source (no public construction, or the data is "
        "absent); re-verified: tttd's verifier scored the construction"
    )
    return "\n".join(lines)


def _references_above(e: Entry) -> int:
    """References of the entry's board with a number, measured like its entries, that this entry
    neither beats nor reproduces (they rank above it)."""
    from leaderboards.reference_rows import references

    return sum(
        1
        for r in references(e.problem, e.case_set)
        if r.comparable
        and r.sort_value is not None
        and r.name not in e.beats
        and e.reproduction_of not in (r.name, r.label)
    )


def entry_text(card, e: Entry) -> str:
    outcome = {
        "created": "new entry",
        "existing": "already on the board (same artifact); nothing new stored",
        "appended": "same artifact: re-timed, the new verdict was added to this entry",
    }.get(e.outcome or "", "")
    lines = [f"entry #{e.id}  {e.problem}" + (f"  ({outcome})" if outcome else "")]
    lines.append(f"status:    {e.status}" + (f" — {e.message}" if not e.accepted else ""))
    title = scoring.board_title(card, e.case_set)
    if title:
        lines.append(f"board:     {title}")
    if e.accepted:
        lines.append(f"score:     {e.display}  {card.units}, {_direction(card)}")
        above = _references_above(e)
        lines.append(
            f"rank:      {f'{e.rank} among entries' if e.rank is not None else 'not ranked'}"
            + (f", below {above} reference{'s' if above != 1 else ''}" if e.rank is not None and above else "")
            + (f" (hardware {e.hardware_key})" if e.hardware_key else "")
            + (f" (board {e.case_set})" if e.case_set and title else f" (case set {e.case_set})" if e.case_set else "")
        )
        if "top10" in e.details:
            lines.append(
                f"top-10:    {e.details['top10']:.4f} after {e.details.get('calls')} calls "
                f"(headline {e.details.get('metric')})"
            )
        lines.append(f"beats:     {', '.join(e.beats) if e.beats else 'none of the references'}")
        if e.reproduction_of:
            lines.append(f"reproduces: {e.reproduction_of} (same canonical construction)")
        gap = scoring.gap_pct(card, e.details)
        if gap is not None:
            lines.append(f"gap:       {gap_text(gap)}")
        if e.estimated_rank is not None:
            lines.append(
                f"AtCoder:   estimated rank {e.estimated_rank}, estimated performance {e.estimated_performance}"
            )
        elif e.case_set and not e.comparable:
            lines.append(f"AtCoder:   {e.case_set} total (estimate): no standings rank (official cases only)")
        lines.append(f"message:   {e.message}")
    if e.flag:
        lines.append(f"flag:      {e.flag} — {e.flag_reason} (by {e.flagged_by})")
    if e.client_score_ignored:
        lines.append("note:      the score sent with the submission was ignored; this one is the leaderboard's own")
    lines.append(
        f"submitter: {e.submitter}   at {e.created_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f"   run {e.run_id}" if e.run_id else "")
    )
    if e.run_cost:
        lines.append(f"run cost:  {run_cost_text(e.run_cost)}")
    lines.append(
        f"verifier:  {e.verifier}   tttd {e.tttd_version}   artifact {e.artifact_kind} sha256 {e.artifact_sha256}"
    )
    if e.evaluations:
        lines.append("history:")
        for ev in e.evaluations:
            lines.append(
                f"  {ev['created_at']:%Y-%m-%d %H:%M:%S}  {ev['kind']:<9} {ev['status']:<9} "
                f"{ev['display'] or '—':<16} {ev['verifier']}" + ("" if ev["applied"] else "  (not applied)")
            )
    return "\n".join(lines)
