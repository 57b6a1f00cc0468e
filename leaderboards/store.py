"""The storage layer: every read and write of the leaderboard tables. Writes are single short
transactions (an entry, its first evaluation and its artifact commit together or not at all); nothing
here runs a verifier.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, overload
from typing import cast as type_cast

from sqlalchemy import Integer, cast, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from leaderboards.db import read_session, write_session
from leaderboards.schema import ArtifactRow, EntryRow, EvaluationRow, FlagEventRow

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

#: verdict statuses that may go away on a second try: a resubmission re-verifies them
TRANSIENT_STATUSES = ("error", "timeout")
#: details never copied to the compact per-entry summary (they stay in the evaluation's details)
_BULKY = ("construction", "cases", "seeds", "picture_case", "stdout", "stderr", "traceback", "isolation")
_SUMMARY_VALUE_CAP = 2048
_TEXT_CAP = 20_000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: dt.datetime | None) -> dt.datetime | None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands datetimes back naive (they were stored as UTC); PostgreSQL gives them aware."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclasses.dataclass
class Evaluation:
    """A verdict as the leaderboard stores it (built by the API from a Verdict it computed)."""

    kind: str  # submit, retime, resubmit, reverify
    requested_by: str
    status: str
    accepted: bool
    score: float | None
    score_exact: str | None
    display: str | None
    message: str
    verifier: str
    tttd_version: str
    hardware: dict[str, Any] | None
    hardware_key: str
    details: dict[str, Any]
    verifier_kwargs: dict[str, Any]
    elapsed_s: float = 0.0
    construction_sha256: str | None = None
    created_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    applied: bool = True


@dataclasses.dataclass
class NewSubmission:
    problem: str
    case_set: str
    artifact_sha256: str
    artifact_bytes: bytes
    artifact_kind: str
    submitter: str
    notes: str
    run_id: str | None
    client_score_sent: str | None
    evaluation: Evaluation
    run_cost: dict[str, Any] | None = None  # the producing run's cost (checked by the API)


# -- cleaning what goes into the database -----------------------------------------------------------
@overload
def clean_text(value: str, cap: int = ...) -> str: ...
@overload
def clean_text(value: str | None, cap: int = ...) -> str | None: ...
def clean_text(value: str | None, cap: int = _TEXT_CAP) -> str | None:
    """Text columns hold valid UTF-8 without NUL on every backend (PostgreSQL refuses both)."""
    if value is None:
        return None
    s = str(value)
    if "\x00" in s:
        s = s.replace("\x00", "\ufffd")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "replace").decode("utf-8")
    return s if len(s) <= cap else s[:cap] + "…"


def clean_json(obj: Any) -> Any:
    """Strict JSON: numpy scalars to Python, non-finite floats to strings, text cleaned."""
    if isinstance(obj, dict):
        return {clean_text(str(k), 200): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)
    if isinstance(obj, str):
        return clean_text(obj, 1 << 22)
    for attr in ("item", "tolist"):  # numpy scalars and arrays
        if hasattr(obj, attr):
            return clean_json(getattr(obj, attr)())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return clean_json(dataclasses.asdict(obj))
    return clean_text(str(obj))


def compact(details: dict[str, Any]) -> dict[str, Any]:
    """The part of a verdict's details a board row carries: small values only."""
    out = {}
    for k, v in details.items():
        if k in _BULKY:
            continue
        if len(json.dumps(v, default=str)) > _SUMMARY_VALUE_CAP:
            continue
        out[k] = v
    iso = details.get("isolation")
    if isinstance(iso, dict) and "level" in iso:
        out["isolation_level"] = iso["level"]
    return out


# -- writes ---------------------------------------------------------------------------------------
def _evaluation_row(entry_id: int, ev: Evaluation) -> EvaluationRow:
    return EvaluationRow(
        entry_id=entry_id,
        kind=ev.kind,
        created_at=ev.created_at,
        requested_by=clean_text(ev.requested_by, 200),
        status=ev.status,
        accepted=ev.accepted,
        score=ev.score,
        score_exact=ev.score_exact,
        display=ev.display,
        message=clean_text(ev.message),
        verifier=clean_text(ev.verifier, 100),
        tttd_version=ev.tttd_version,
        hardware=clean_json(ev.hardware),
        hardware_key=ev.hardware_key,
        details=clean_json(ev.details),
        verifier_kwargs=clean_json(ev.verifier_kwargs),
        elapsed_s=float(ev.elapsed_s),
        applied=ev.applied,
    )


def _apply(row: EntryRow, ev: Evaluation) -> None:
    """Make ``ev`` the entry's current verdict."""
    row.status, row.accepted, row.score = ev.status, ev.accepted, ev.score
    row.score_exact, row.display, row.message = ev.score_exact, ev.display, clean_text(ev.message)
    row.verifier, row.tttd_version = clean_text(ev.verifier, 100), ev.tttd_version
    row.hardware = clean_json(ev.hardware)
    row.summary = clean_json(compact(ev.details))
    row.construction_sha256 = ev.construction_sha256
    row.verified_at = ev.created_at


def _new_entry(sub: NewSubmission) -> EntryRow:
    ev = sub.evaluation
    row = EntryRow(
        problem=sub.problem,
        hardware_key=ev.hardware_key,
        case_set=sub.case_set,
        artifact_sha256=sub.artifact_sha256,
        artifact_kind=sub.artifact_kind,
        artifact_size=len(sub.artifact_bytes),
        submitter=clean_text(sub.submitter, 200),
        notes=clean_text(sub.notes) or "",
        run_id=clean_text(sub.run_id, 200),
        client_score_sent=clean_text(sub.client_score_sent, 100),
        created_at=ev.created_at,
        evaluation_count=1,
        run_cost=None if sub.run_cost is None else clean_json(sub.run_cost),
    )
    _apply(row, ev)
    return row


def store_submission(engine: Engine, sub: NewSubmission, *, append: bool) -> tuple[int, str]:
    """Insert the submission, or — when an entry with the same identity (problem, artifact hash,
    hardware, case set) exists — either return it untouched (``append=False``; unless its verdict was
    transient) or add this evaluation to it as a re-timing (``append=True``).

    Returns (entry id, "created" | "existing" | "appended"). One transaction; under a race on
    PostgreSQL the unique constraint decides and the loser retries against the winner's row.
    """
    ev = sub.evaluation
    identity = (
        EntryRow.problem == sub.problem,
        EntryRow.artifact_sha256 == sub.artifact_sha256,
        EntryRow.hardware_key == ev.hardware_key,
        EntryRow.case_set == sub.case_set,
    )
    for attempt in range(5):
        try:
            with write_session(engine) as s:
                row = s.execute(select(EntryRow).where(*identity).with_for_update()).scalar_one_or_none()
                if row is None:
                    row = _new_entry(sub)
                    s.add(row)
                    s.flush()
                    s.add(_evaluation_row(row.id, ev))
                    s.add(
                        ArtifactRow(
                            entry_id=row.id,
                            sha256=sub.artifact_sha256,
                            size=len(sub.artifact_bytes),
                            content=sub.artifact_bytes,
                        )
                    )
                    return row.id, "created"
                if not append and row.status not in TRANSIENT_STATUSES:
                    return row.id, "existing"
                ev = dataclasses.replace(ev, kind="retime" if append else "resubmit")
                _append(s, row, ev)
                return row.id, "appended"
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _append(s, row: EntryRow, ev: Evaluation) -> None:
    s.add(_evaluation_row(row.id, ev))
    row.evaluation_count = (row.evaluation_count or 0) + 1
    if ev.applied:
        _apply(row, ev)


def append_evaluation(engine: Engine, entry_id: int, ev: Evaluation) -> None:
    """Store one more verdict for an entry (re-verification); it becomes current if ``ev.applied``."""
    with write_session(engine) as s:
        row = s.execute(select(EntryRow).where(EntryRow.id == entry_id).with_for_update()).scalar_one()
        _append(s, row, ev)


def bulk_insert(engine: Engine, subs: Sequence[NewSubmission], batch: int = 1000) -> list[int]:
    """Insert many already-verified submissions (benchmarks, imports); each batch is one transaction."""
    ids: list[int] = []
    for i in range(0, len(subs), batch):
        with write_session(engine) as s:
            rows = [_new_entry(sub) for sub in subs[i : i + batch]]
            s.add_all(rows)
            s.flush()
            for row, sub in zip(rows, subs[i : i + batch]):
                s.add(_evaluation_row(row.id, sub.evaluation))
                s.add(
                    ArtifactRow(
                        entry_id=row.id,
                        sha256=sub.artifact_sha256,
                        size=len(sub.artifact_bytes),
                        content=sub.artifact_bytes,
                    )
                )
                ids.append(row.id)
    return ids


def set_flag(engine: Engine, entry_id: int, flag: str | None, reason: str, operator: str) -> bool:
    """Flag (or clear, ``flag=None``) an entry and log it. False if no such entry."""
    now = utcnow()
    with write_session(engine) as s:
        # an UPDATE statement gives a CursorResult (Session.execute is typed with the generic Result)
        res: CursorResult[Any] = type_cast(
            "CursorResult[Any]",
            s.execute(
                update(EntryRow)
                .where(EntryRow.id == entry_id)
                .values(
                    flag=flag,
                    flag_reason=clean_text(reason) if flag else None,
                    flagged_by=clean_text(operator, 200) if flag else None,
                    flagged_at=now if flag else None,
                )
            ),
        )
        if res.rowcount == 0:
            return False
        s.add(
            FlagEventRow(
                entry_id=entry_id,
                flag=flag,
                reason=clean_text(reason) or "",
                operator=clean_text(operator, 200),
                created_at=now,
            )
        )
    return True


# -- reads ----------------------------------------------------------------------------------------
_ENTRY_COLUMNS = EntryRow.__table__.c


def find(engine: Engine, problem: str, sha: str, hardware_key: str, case_set: str) -> dict | None:
    with read_session(engine) as s:
        row = (
            s.execute(
                select(EntryRow.__table__).where(
                    _ENTRY_COLUMNS.problem == problem,
                    _ENTRY_COLUMNS.artifact_sha256 == sha,
                    _ENTRY_COLUMNS.hardware_key == hardware_key,
                    _ENTRY_COLUMNS.case_set == case_set,
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None


def entry_rows(
    engine: Engine,
    problem: str | None = None,
    *,
    hardware_key: str | None = None,
    case_set: str | None = None,
    accepted_only: bool = False,
    unflagged_only: bool = False,
    ids: Iterable[int] | None = None,
) -> list[dict]:
    """Entry rows (compact: no artifacts, no evaluation details) matching the filters."""
    c = _ENTRY_COLUMNS
    q = select(EntryRow.__table__)
    if problem is not None:
        q = q.where(c.problem == problem)
    if hardware_key is not None:
        q = q.where(c.hardware_key == hardware_key)
    if case_set is not None:
        q = q.where(c.case_set == case_set)
    if accepted_only:
        q = q.where(c.accepted.is_(True))
    if unflagged_only:
        q = q.where(c.flag.is_(None))
    if ids is not None:
        q = q.where(c.id.in_(list(ids)))
    with read_session(engine) as s:
        result = s.execute(q.order_by(c.id))
        keys = list(result.keys())
        return [dict(zip(keys, r)) for r in result.all()]


def entry_row(engine: Engine, entry_id: int) -> dict | None:
    rows = entry_rows(engine, ids=[int(entry_id)])
    return rows[0] if rows else None


def evaluations(engine: Engine, entry_id: int) -> list[dict]:
    with read_session(engine) as s:
        rows = s.execute(
            select(EvaluationRow.__table__).where(EvaluationRow.entry_id == entry_id).order_by(EvaluationRow.id)
        ).mappings()
        return [dict(r) for r in rows]


def artifact(engine: Engine, entry_id: int) -> tuple[str, bytes] | None:
    with read_session(engine) as s:
        row = s.execute(select(ArtifactRow.sha256, ArtifactRow.content).where(ArtifactRow.entry_id == entry_id)).first()
        return (row[0], bytes(row[1])) if row is not None else None


def flag_events(engine: Engine, entry_id: int) -> list[dict]:
    with read_session(engine) as s:
        rows = s.execute(
            select(FlagEventRow.__table__).where(FlagEventRow.entry_id == entry_id).order_by(FlagEventRow.id)
        ).mappings()
        return [dict(r) for r in rows]


def counts(engine: Engine) -> dict[str, tuple[int, int]]:
    """problem -> (entries, accepted entries)."""
    c = _ENTRY_COLUMNS
    with read_session(engine) as s:
        rows = s.execute(select(c.problem, func.count(), func.sum(cast(c.accepted, Integer))).group_by(c.problem)).all()
    return {p: (int(n), int(a or 0)) for p, n, a in rows}
