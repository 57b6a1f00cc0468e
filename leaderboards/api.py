"""The leaderboard's Python API (re-exported by ``leaderboards``). Every score on it was computed here,
by the problem's own verifier, outside any database transaction (docs/leaderboard.md#submitting-and-re-verification)."""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from leaderboards import molruns, ranking, scoring, store
from leaderboards.api_values import Board, Entry, ProblemSummary, ReferenceRow
from leaderboards.db import get_engine
from leaderboards.errors import EntryNotFound, LeaderboardError, SubmissionRefused, SubmissionTooLarge
from leaderboards.reference_rows import references

MAX_ARTIFACT_BYTES = 16 << 20
#: limits of a run's cost record (``submit(run_cost=...)``, ``tttd submit --run-cost``)
RUN_COST_MAX_KEYS = 30
RUN_COST_MAX_TEXT = 100
FLAGS = ("hacked", "withdrawn")
#: verifier options that only steer how progress is shown; never stored
_NOT_STORED = ("progress",)


def _card(env_id: str):
    from tttd_envs.registration import card

    return card(env_id)


@functools.lru_cache(maxsize=1)
def tttd_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tttd")
    except PackageNotFoundError:
        return "unknown"


# -- submitting ---------------------------------------------------------------------------------
def _artifact_bytes(artifact: str | bytes) -> tuple[str, bytes]:
    if isinstance(artifact, (bytes, bytearray, memoryview)):
        data = bytes(artifact)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SubmissionRefused(f"the artifact is not UTF-8 text (bad byte at offset {e.start})") from None
    elif isinstance(artifact, str):
        text = artifact
        data = text.encode("utf-8", "surrogatepass")  # how the verifier hashes it
    else:
        raise SubmissionRefused(f"the artifact must be text (str or UTF-8 bytes), not {type(artifact).__name__}")
    if len(data) > MAX_ARTIFACT_BYTES:
        raise SubmissionTooLarge(
            f"the artifact is {len(data):,} bytes; the leaderboard takes at most {MAX_ARTIFACT_BYTES >> 20} MiB"
        )
    return text, data


def check_run_cost(run_cost: Any, what: str = "run_cost") -> dict[str, Any]:
    """A run's cost record as the leaderboard keeps it: a flat object of at most 30 keys whose values
    are finite numbers ≥ 0 or strings of at most 100 characters, with ``cost_usd`` (a number) among
    them. Returns a copy; raises SubmissionRefused (one sentence naming ``what``) otherwise."""
    if not isinstance(run_cost, dict):
        raise SubmissionRefused(f'{what} must be a JSON object such as {{"cost_usd": 0.5}}, not {_json_kind(run_cost)}')
    if len(run_cost) > RUN_COST_MAX_KEYS:
        raise SubmissionRefused(f"{what} has {len(run_cost)} keys; at most {RUN_COST_MAX_KEYS} are kept")
    for key, value in run_cost.items():
        if not isinstance(key, str) or not key or len(key) > RUN_COST_MAX_TEXT:
            raise SubmissionRefused(
                f"{what} keys must be non-empty strings of at most {RUN_COST_MAX_TEXT} "
                f"characters, not {str(key)[:40]!r}"
            )
        if isinstance(value, str):
            if len(value) > RUN_COST_MAX_TEXT:
                raise SubmissionRefused(
                    f"{what} value of {key!r} is {len(value)} characters long; strings may "
                    f"have at most {RUN_COST_MAX_TEXT}"
                )
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SubmissionRefused(
                f"{what} value of {key!r} is {_json_kind(value)}; values must be numbers ≥ 0 or strings"
            )
        elif not (math.isfinite(value) and value >= 0):
            raise SubmissionRefused(f"{what} value of {key!r} must be a finite number ≥ 0, not {value!r}")
    if "cost_usd" not in run_cost:
        raise SubmissionRefused(f"{what} must contain cost_usd, the run's cost in US dollars")
    if isinstance(run_cost["cost_usd"], str):
        raise SubmissionRefused(f"{what} cost_usd must be a number (US dollars), not a string")
    return dict(run_cost)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    for types, name in (
        (bool, "a boolean"),
        ((int, float), "a number"),
        (str, "a string"),
        (dict, "an object"),
        ((list, tuple), "an array"),
    ):
        if isinstance(value, types):
            return name
    return f"a {type(value).__name__}"


def _overrides(card, verifier_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    kwargs = dict(verifier_kwargs or {})
    options = card.limits if card.board.options is None else card.board.options  # a run's config decides
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        allowed = ", ".join(sorted(options)) or "none"
        raise SubmissionRefused(f"{card.id} takes no verifier option {', '.join(unknown)} (allowed: {allowed})")
    stored = {k: v for k, v in kwargs.items() if k not in _NOT_STORED}
    try:
        json.dumps(stored, allow_nan=False)
    except (TypeError, ValueError):
        raise SubmissionRefused("verifier options must be plain JSON values (numbers, strings, booleans)") from None
    return kwargs


def make_verifier(card, overrides: dict[str, Any]):
    """The card's verifier with its limits and the submission's overrides; refuses configurations the
    leaderboard does not rank (AtCoder partial case sets). Run submissions get the card's run verifier,
    which replays them."""
    from verifiers import get_verifier

    try:
        if card.board.run:
            return get_verifier(card.board.run_verifier, env_id=card.id, **overrides)
        verifier = get_verifier(card.verifier, **{**card.verifier_kwargs, **card.limits, **overrides})
    except (ValueError, TypeError) as e:
        raise SubmissionRefused(f"{card.id}: {e}") from None
    reason = scoring.refuse_reason(card, verifier)
    if reason:
        raise SubmissionRefused(reason)
    return verifier


def _evaluation(
    card, verdict, *, sha: str, kind: str, requested_by: str, overrides: dict[str, Any]
) -> store.Evaluation:
    if verdict.artifact_sha256 != sha:  # the verifier hashed something else: our bug
        raise AssertionError(f"verifier hashed the artifact as {verdict.artifact_sha256}, expected {sha}")
    details = dict(verdict.details or {})
    if details.get("artifact_kind") == "json" and not card.board.run:
        details.pop("construction", None)  # the artifact is the construction
    score_exact = display = None
    if verdict.accepted:
        score_exact = str(scoring.exact_value(verdict.score, details))
        display = scoring.display_value(card, verdict.score, details, [r.value for r in card.references])
    return store.Evaluation(
        kind=kind,
        requested_by=requested_by,
        status=verdict.status,
        accepted=verdict.accepted,
        score=verdict.score,
        score_exact=score_exact,
        display=display,
        message=verdict.message,
        verifier=verdict.verifier,
        tttd_version=tttd_version(),
        hardware=verdict.hardware,
        hardware_key=scoring.hardware_key(card, verdict.hardware),
        details=details,
        verifier_kwargs={k: v for k, v in overrides.items() if k not in _NOT_STORED},
        elapsed_s=float(verdict.elapsed_s or 0.0),
        construction_sha256=details.get("construction_sha256"),
    )


def submit(
    env_id: str,
    artifact: str | bytes,
    *,
    submitter: str,
    notes: str = "",
    run_id: str | None = None,
    client_score: Any = None,
    verifier_kwargs: dict[str, Any] | None = None,
    db: str | None = None,
    progress: Callable | bool | None = None,
    run_cost: dict[str, Any] | None = None,
) -> Entry:
    """Verify ``artifact`` with the problem's own verifier and store the result.

    ``client_score`` is accepted for convenience and ignored (the entry records that one was sent).
    ``verifier_kwargs`` may set the card's options (e.g. AtCoder ``mode="contest"``); AtCoder entries
    must cover a full case set (public150 or official). The same artifact submitted again returns
    the existing entry (``outcome="existing"``); for timed problems it is re-timed and the new verdict
    is added to that entry (``outcome="appended"``). A rejected artifact is stored, never ranked.
    Raises SubmissionRefused (nothing stored) for requests the leaderboard does not take.

    ``run_cost`` is what the run that produced the artifact cost (see :func:`check_run_cost`), kept
    with the entry like ``notes`` and ``run_id``: a deduplicated resubmission leaves the first one's.

    Problems whose card takes runs (molecules) take a whole run: ``artifact`` is the run directory
    (config.json + items.jsonl) or a stored bundle; the run is replayed (leaderboards.molruns) and ranked
    on the board of its task, budget, action mode, code limit and target pool (``-o target_pool=PATH``
    for private pools).
    """
    card = _card(env_id)
    if not isinstance(submitter, str) or not submitter.strip():
        raise SubmissionRefused("a submission needs a submitter name (--name)")
    if len(submitter.strip()) > 200:
        raise SubmissionRefused("the submitter name is longer than 200 characters")
    if run_cost is not None:
        run_cost = check_run_cost(run_cost)
    if card.board.run:
        artifact = molruns.bundle_from(artifact)
    text, data = _artifact_bytes(artifact)
    sha = hashlib.sha256(data).hexdigest()
    overrides = _overrides(card, verifier_kwargs)
    verifier = make_verifier(card, {**overrides, **({"progress": progress} if progress is not None else {})})
    case_set = molruns.board_key_of(verifier, text) if card.board.run else scoring.board_key(card, verifier, overrides)
    timed = card.board.timed
    engine = get_engine(db)
    if not timed:
        existing = store.find(engine, card.id, sha, "", case_set)
        if existing is not None and existing["status"] not in store.TRANSIENT_STATUSES:
            found = entry(existing["id"], db=db, full=False)
            found.outcome = "existing"
            return found
    verdict = verifier.verify(text)  # minutes, maybe: no transaction open
    ev = _evaluation(card, verdict, sha=sha, kind="submit", requested_by=submitter.strip(), overrides=overrides)
    sub = store.NewSubmission(
        problem=card.id,
        case_set=case_set,
        artifact_sha256=sha,
        artifact_bytes=data,
        artifact_kind=_artifact_kind(card, verdict),
        submitter=submitter.strip(),
        notes=notes or "",
        run_id=run_id,
        client_score_sent=None if client_score is None else repr(client_score)[:100],
        evaluation=ev,
        run_cost=run_cost,
    )
    entry_id, outcome = store.store_submission(engine, sub, append=timed)
    result = entry(entry_id, db=db, full=False)
    result.outcome = outcome
    return result


def _artifact_kind(card, verdict) -> str:
    return card.board.run or str(verdict.details.get("artifact_kind") or card.artifact)


def _refs(card):
    """The reference rows of each board of the problem (molecule boards differ by task and budget)."""
    return lambda case_set="": references(card.id, case_set)


# -- reading ------------------------------------------------------------------------------------
def board(
    env_id: str,
    *,
    hardware: str | None = None,
    case_set: str | None = None,
    include_rejected: bool = False,
    include_flagged: bool = True,
    db: str | None = None,
) -> list[Entry]:
    """The problem's entries in board order: per board (hardware, case set), ranked entries first,
    then flagged ones (visible, unranked), then — with ``include_rejected`` — rejected ones."""
    card = _card(env_id)
    engine = get_engine(db)
    rows = store.entry_rows(
        engine, card.id, hardware_key=hardware, case_set=case_set, accepted_only=not include_rejected
    )
    entries = ranking.order(card, ranking.rank(card, rows, _refs(card)))
    if not include_flagged:
        entries = [e for e in entries if e.flag is None]
    return entries


def boards(
    env_id: str,
    *,
    hardware: str | None = None,
    case_set: str | None = None,
    include_rejected: bool = False,
    include_flagged: bool = True,
    db: str | None = None,
) -> list[Board]:
    """The same entries grouped per board, with the reference rows interleaved at their positions
    (what `tttd board ID` and the web page print)."""
    card = _card(env_id)
    entries = board(
        card.id,
        hardware=hardware,
        case_set=case_set,
        include_rejected=include_rejected,
        include_flagged=include_flagged,
        db=db,
    )
    return ranking.boards(card, entries, _refs(card))


def family(env_id: str, db: str | None = None):
    """The family view of a problem with instances (CVRP-v0, JSSP-v0): per instance board its best entry
    and gap to the best known value, the mean gap, and the instances at or beyond the best known
    (``leaderboards.family_view.Family``). Refused for problems without instances."""
    from leaderboards.family_view import family as family_of

    card = _card(env_id)
    if not card.board.instances:
        raise LeaderboardError(f"{card.id} has no instances, so no family view; `tttd board {card.id}` shows its board")
    return family_of(card, boards(card.id, db=db))


def entry(entry_id: int, db: str | None = None, *, full: bool = True) -> Entry:
    """One entry, ranked within its board; with ``full`` its complete verdict details, the verdict
    history and the flag log."""
    engine = get_engine(db)
    row = store.entry_row(engine, int(entry_id))
    if row is None:
        raise EntryNotFound(f"no leaderboard entry #{entry_id}")
    card = _card(row["problem"])
    peers = (
        store.entry_rows(
            engine, card.id, hardware_key=row["hardware_key"], case_set=row["case_set"], accepted_only=True
        )
        if row["accepted"]
        else [row]
    )
    found = next(e for e in ranking.rank(card, peers, _refs(card)) if e.id == row["id"])
    if full:
        evals = store.evaluations(engine, found.id)
        applied = [ev for ev in evals if ev["applied"]]
        if applied:
            found.details = dict(applied[-1]["details"] or {})
            found.details_complete = True
        found.evaluations = [
            {
                k: (store.as_utc(v) if k == "created_at" else v)
                for k, v in ev.items()
                if k not in ("details", "entry_id")
            }
            for ev in evals
        ]
        found.flag_history = [
            {k: (store.as_utc(v) if k == "created_at" else v) for k, v in ev.items() if k != "entry_id"}
            for ev in store.flag_events(engine, found.id)
        ]
    return found


def artifact(entry_id: int, db: str | None = None) -> str:
    """The submitted artifact, exactly as it was sent (checked against its stored sha256)."""
    got = store.artifact(get_engine(db), int(entry_id))
    if got is None:
        raise EntryNotFound(f"no leaderboard entry #{entry_id}")
    sha, data = got
    if hashlib.sha256(data).hexdigest() != sha:
        raise LeaderboardError(
            f"the stored artifact of entry #{entry_id} does not match its sha256; "
            "the database was modified outside tttd"
        )
    return data.decode("utf-8", "surrogatepass")


def history(
    env_id: str, *, hardware: str | None = None, case_set: str | None = None, db: str | None = None
) -> list[tuple[Any, float]]:
    """(created_at, score) of accepted, unflagged entries in submission order (for best-so-far plots)."""
    card = _card(env_id)
    rows = store.entry_rows(
        get_engine(db), card.id, hardware_key=hardware, case_set=case_set, accepted_only=True, unflagged_only=True
    )
    rows.sort(key=lambda r: (store.as_utc(r["created_at"]), r["id"]))
    return [(store.as_utc(r["created_at"]), float(r["score"])) for r in rows]


def problems_summary(db: str | None = None) -> list[ProblemSummary]:
    """Per problem: how many entries, the best one (comparable to the references when any is), and
    the best human, previous AI and TTT-Discover reference rows."""
    from tttd_envs.registration import PROBLEMS

    engine = get_engine(db)
    counts = store.counts(engine)
    out = []
    for env_id in PROBLEMS:
        card = _card(env_id)
        refs = references(env_id)
        best = None
        if counts.get(env_id, (0, 0))[1]:
            rows = store.entry_rows(engine, env_id, accepted_only=True, unflagged_only=True)
            ranked = [e for e in ranking.rank(card, rows, _refs(card)) if e.rank is not None]
            if card.board.instances:  # the default instance's board (its references)
                ranked = [e for e in ranked if e.case_set == scoring.default_board(card)]
            pool = [e for e in ranked if e.comparable] or ranked
            valued = [(v, e) for e in pool if (v := ranking.value_of(e)) is not None]  # every ranked entry has one
            best_valued = min(
                valued, key=lambda ve: (scoring.sort_key(card, ve[0]), ve[1].created_at, ve[1].id), default=None
            )
            best = best_valued[1] if best_valued is not None else None
        n, acc = counts.get(env_id, (0, 0))
        out.append(
            ProblemSummary(
                problem=env_id,
                title=card.title,
                domain=card.domain,
                direction=card.direction,
                units=card.units,
                entries=n,
                accepted=acc,
                best=best,
                best_human=_pick(refs, "human"),
                previous_ai=_pick(refs, "previous_ai"),
                ttt_discover=_pick(refs, "ttt_discover"),
                best_reference=_best_ref(card, refs),
            )
        )
    return out


def _pick(refs: list[ReferenceRow], category: str) -> ReferenceRow | None:
    return next((r for r in refs if r.category == category), None)


def _best_ref(card, refs: list[ReferenceRow]) -> ReferenceRow | None:
    placed = [(Decimal(r.sort_value), r) for r in refs if r.sort_value is not None]
    best = min(placed, key=lambda vr: scoring.sort_key(card, vr[0]), default=None)
    return best[1] if best is not None else None


# -- operators ----------------------------------------------------------------------------------
def flag(entry_id: int, status: str, reason: str, *, operator: str, db: str | None = None) -> Entry:
    """Mark an entry hacked or withdrawn: it leaves the ranking and stays visible, with the reason.
    ``status="clear"`` removes the flag. Every change is logged with the operator's name."""
    if status not in FLAGS + ("clear",):
        raise LeaderboardError(f"flag must be one of {', '.join(FLAGS)} (or clear), not {status!r}")
    if not isinstance(operator, str) or not operator.strip():
        raise LeaderboardError("flagging needs the operator's name")
    if status != "clear" and (not isinstance(reason, str) or not reason.strip()):
        raise LeaderboardError("flagging needs a reason")
    if not store.set_flag(
        get_engine(db), int(entry_id), None if status == "clear" else status, (reason or "").strip(), operator.strip()
    ):
        raise EntryNotFound(f"no leaderboard entry #{entry_id}")
    return entry(entry_id, db=db, full=False)


def reverify(
    env_id: str,
    db: str | None = None,
    *,
    operator: str = "reverify",
    progress: Callable[[int, int, int], None] | None = None,
) -> dict[str, Any]:
    """Re-run the problem's current verifier on every entry (rejected and flagged ones included) and
    store each new Verdict as the entry's current one; earlier verdicts stay in its history. For
    timed problems a verdict measured on other hardware than the entry's is stored, not applied.
    ``progress(i, n, entry_id)`` is called after each entry. Returns counts and the changed entries."""
    card = _card(env_id)
    engine = get_engine(db)
    rows = store.entry_rows(engine, card.id)
    summary: dict[str, Any] = {
        "problem": card.id,
        "entries": len(rows),
        "reverified": 0,
        "unchanged": 0,
        "changed": 0,
        "newly_accepted": 0,
        "newly_rejected": 0,
        "other_hardware": 0,
        "refused": 0,
        "verifiers": set(),
        "changes": [],
    }
    verifiers: dict[str, Any] = {}
    for i, row in enumerate(rows, 1):
        evals = store.evaluations(engine, row["id"])
        overrides = dict(evals[0]["verifier_kwargs"] or {}) if evals else {}
        key = json.dumps(overrides, sort_keys=True)
        try:
            verifier = verifiers.get(key) or verifiers.setdefault(key, make_verifier(card, overrides))
        except SubmissionRefused as e:
            summary["refused"] += 1
            summary["changes"].append({"id": row["id"], "refused": str(e)})
            continue
        text = artifact(row["id"], db=db)
        verdict = verifier.verify(text)
        ev = _evaluation(
            card, verdict, sha=row["artifact_sha256"], kind="reverify", requested_by=operator, overrides=overrides
        )
        if card.board.timed and ev.hardware_key and ev.hardware_key != row["hardware_key"]:
            ev.applied = False
            summary["other_hardware"] += 1
        store.append_evaluation(engine, row["id"], ev)
        summary["reverified"] += 1
        summary["verifiers"].add(verdict.verifier)
        if ev.applied:
            before = (row["status"], row["score_exact"])
            if before == (ev.status, ev.score_exact):
                summary["unchanged"] += 1
            else:
                summary["changed"] += 1
                summary["newly_accepted"] += int(ev.accepted and not row["accepted"])
                summary["newly_rejected"] += int(row["accepted"] and not ev.accepted)
                summary["changes"].append(
                    {
                        "id": row["id"],
                        "before": {"status": row["status"], "display": row["display"], "verifier": row["verifier"]},
                        "after": {
                            "status": ev.status,
                            "display": ev.display,
                            "verifier": ev.verifier,
                            "message": ev.message,
                        },
                    }
                )
        if progress is not None:
            progress(i, len(rows), row["id"])
    summary["verifiers"] = sorted(summary["verifiers"])
    return summary
