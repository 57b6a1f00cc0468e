"""What a problem card says about ranking: exact sort keys, display strings, reference values, which
board (hardware, case set) a verdict belongs to, full case sets and contest standings. Every rule is
read from the card's board policy (``card.board``), never from its domain.

Pure functions of the card and the verdict: no database here.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

#: the board of kernel verdicts from a machine without a GPU (correctness only, never ranked)
CPU_UNTIMED = "CPU (no GPU: untimed)"
_NUMBER = re.compile(r"^\s*([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)")


def exact_value(score: float | None, details: dict[str, Any] | None) -> Decimal | None:
    """The value a board sorts by: the verifier's 20-digit exact string when it gives one (math),
    else the float's shortest repr (exact for integers such as AtCoder totals)."""
    if score is None:
        return None
    exact = (details or {}).get("score_exact")
    if isinstance(exact, str):
        try:
            return Decimal(exact)
        except InvalidOperation:
            pass
    return Decimal(repr(float(score)))


def display_value(card, score: float | None, details: dict[str, Any] | None, ref_values=()) -> str | None:
    """The score as a board prints it: the verifier's 10-digit outward-rounded ``display`` (math),
    integers with thousands separators (AtCoder totals), else enough significant digits to separate
    the references (at least 7)."""
    if score is None:
        return None
    shown = (details or {}).get("display")
    if isinstance(shown, str) and shown:
        return shown
    if float(score).is_integer() and abs(score) < 1e15:
        return f"{int(score):,}"
    digits = max(7, separating_digits(ref_values))
    return f"{float(score):.{digits}g}"


def separating_digits(values) -> int:
    vals = sorted({float(v) for v in values if v is not None})
    for k in range(4, 18):
        if len({f"{v:.{k}g}" for v in vals}) == len(vals):
            return k
    return 17


def parse_number(text: str | None) -> Decimal | None:
    """The leading number of a published value ("566,997", "2.635 (2.63586276)", "0.380927"); None for
    "—" and prose."""
    if not text:
        return None
    m = _NUMBER.match(text)
    if not m:
        return None
    try:
        return Decimal(m.group(1).replace(",", ""))
    except InvalidOperation:
        return None


def sort_key(card, value: Decimal) -> Decimal:
    """Ascending key: best first for either direction."""
    return value if card.direction == "min" else -value


def hardware_key(card, hardware: dict[str, Any] | None) -> str:
    """The board a timed verdict belongs to: the first of the card's hardware fields the verdict names
    (the GPU model for kernels, the CPU model for AtCoder); "" for untimed problems, whose scores do
    not depend on the machine."""
    if not card.board.timed or not hardware:
        return ""
    for key in card.board.hardware:
        value = hardware.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    if hardware.get("device") == "cpu":  # kernels in CPU dev mode: never timed
        return CPU_UNTIMED
    return ""


def case_set_of(verifier) -> str:
    """The case set a verifier evaluates ("" for single-case problems)."""
    value = getattr(verifier, "case_set", None)
    return value if isinstance(value, str) else ""


#: the prefix of an instance board keyed by the content of a user's own instance file
FILE_BOARD = "file:"


def board_key(card, verifier, options: dict[str, Any]) -> str:
    """The board a verdict of this verifier belongs to: for problems with instances (``card.board.instances``)
    the instance's name, or ``file:`` + the first 40 hex digits of the sha256 of a user's ``instance_file``;
    else the case set the verifier evaluates."""
    if not card.board.instances:
        return case_set_of(verifier)
    path = options.get("instance_file")
    if path:
        import hashlib
        import os

        with open(os.path.expanduser(str(path)), "rb") as fh:
            return FILE_BOARD + hashlib.sha256(fh.read()).hexdigest()[:40]
    return str(verifier.instance.name)


def default_board(card) -> str:
    """The board shown before any entry: the comparable case set, or the card's default instance."""
    if card.board.instances:
        return str(card.limits.get(card.board.instances) or "")
    return card.board.comparable_case_set


def instance_card(card, case_set: str):
    """The card of an instance board (its statement, references), None for a user's file board (no
    published references) and where the instance data is not installed (the board has no reference
    rows then, as any board without its data); the card itself for problems without instances."""
    if not card.board.instances:
        return card
    if case_set.startswith(FILE_BOARD):
        return None
    try:
        return card.for_options({card.board.instances: case_set or default_board(card)})
    except FileNotFoundError:  # DataMissing / DataNotFound: the data folder does not hold the instance
        return None


def gap_pct(card, details: dict[str, Any] | None) -> float | None:
    """The verdict's gap to the best known value in % (``card.board.gap_detail``), None without one."""
    if not card.board.gap_detail:
        return None
    value = (details or {}).get(card.board.gap_detail)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def board_title(card, case_set: str) -> str | None:
    """A board's key spelled out: an instance (``instance X-n101-k25``, or a user's file by its content
    hash), a molecule run's board (with the white-box / hidden-pool label of docs/molecules.md#tasks), else
    None."""
    if card.board.instances and case_set:
        if case_set.startswith(FILE_BOARD):
            return f"your own instance file (sha256 {case_set[len(FILE_BOARD) :]}…)"
        return f"instance {case_set}"
    if not card.board.run or not case_set:
        return None
    from leaderboards.molruns import board_title as title

    return title(case_set)


def refuse_reason(card, verifier) -> str | None:
    """Why the leaderboard will not take submissions judged by this verifier configuration, or None."""
    full = card.board.full_case_sets
    if full:
        cs = case_set_of(verifier)
        if cs not in full:
            why = card.board.full_case_sets_help or ", ".join(full)
            return f"the leaderboard accepts only full case sets for {card.id} ({why}), not {cs or 'this set'!r}"
    return None


def comparable(card, details: dict[str, Any] | None) -> bool:
    """Whether an accepted score can be compared with the card's references (published contest totals
    for AtCoder are over the official cases; math scores always compare)."""
    only = card.board.comparable_case_set
    if not only:
        return True
    d = details or {}
    return bool(d.get("comparable_to_standings")) and d.get("case_set") == only


def standings_place(card, total: float | None, details: dict[str, Any] | None):
    """(estimated rank, estimated performance) of a contest-mode total over the official set, else
    (None, None) (docs/atcoder.md#rank-and-performance)."""
    if total is None or not card.board.standings or not comparable(card, details):
        return None, None
    d = details or {}
    if d.get("mode") not in ("contest", "ale") or int(d.get("n_cases") or 0) != 150:
        return None, None
    from verifiers.atcoder.standings import NoStandings, for_problem

    try:
        place = for_problem(card.board.standings).place(int(total))
    except NoStandings:
        return None, None
    return place.rank, place.performance


def reference_place(card, value: Decimal | None):
    """Estimated standings of a published contest total (AtCoder references), else (None, None)."""
    if value is None or not card.board.standings:
        return None, None
    from verifiers.atcoder.standings import NoStandings, for_problem

    try:
        place = for_problem(card.board.standings).place(int(value))
    except NoStandings:
        return None, None
    return place.rank, place.performance
