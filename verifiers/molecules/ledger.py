"""The run ledger (PMO budget accounting, docs/molecules.md#the-budget) and the run metrics (AUC top-k,
docs/molecules.md#run-metrics).

Only unique, valid, new keys are charged, one call each, in input order. Everything else is free
but reported. The run metric is PMO's AUC top-k with one change: the top-k mean is zero-padded when
fewer than k molecules exist (this closes the "one good molecule, then stop" exploit of the
fill-to-budget rule).
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import json
import sqlite3
from collections.abc import Iterator
from typing import Any


def top_k_mean(scores: list[float], k: int) -> float:
    """(1/k) · (sum of the k largest scores), missing entries counted as 0."""
    return sum(heapq.nlargest(k, scores)) / k


def freq_log(budget: int) -> int:
    """PMO's logging interval: max(1, min(100, ⌊B/10⌋))."""
    return max(1, min(100, budget // 10))


def auc(curve: list[float], budget: int) -> float:
    """AUC of a curve T(0..n) (curve[0] = T(0) = 0) with checkpoints every freq_log(B) calls and
    the fill-to-budget rule: the last value counts for every unused call (docs/molecules.md#run-metrics)."""
    n = len(curve) - 1
    if n > budget:
        raise ValueError("the curve is longer than the budget")
    f = freq_log(budget)
    area, prev = 0.0, 0
    c = f
    while c < min(n, budget):
        area += f * (curve[c] + curve[prev]) / 2
        prev = c
        c += f
    area += (n - prev) * (curve[n] + curve[prev]) / 2
    area += (budget - n) * curve[n]
    return area / budget


def top_k_curve(scores: list[float], k: int) -> list[float]:
    """T(i) for i = 0..n: the zero-padded top-k mean after i charged calls."""
    heap: list[float] = []
    total = 0.0
    curve = [0.0]
    for s in scores:
        if len(heap) < k:
            heapq.heappush(heap, s)
            total += s
        elif s > heap[0]:
            total += s - heapq.heapreplace(heap, s)
        curve.append(total / k)
    return curve


def coverage_curve(hits: list[bool], n_target: int) -> list[float]:
    curve, count = [0.0], 0
    for h in hits:
        count += bool(h)
        curve.append(min(1.0, count / n_target))
    return curve


@dataclasses.dataclass
class Entry:
    call: int
    key: str
    score: float
    step: int
    input: str
    hit: bool = False


class Ledger:
    """Append-only charged calls, plus a blacklist of keys whose scoring timed out or failed."""

    def __init__(self, budget: int | None, *, n_target: int | None = None, unbounded_score: bool = False) -> None:
        self.budget = budget
        self.n_target = n_target  # isomer tasks: coverage of N distinct hits
        self.unbounded_score = unbounded_score
        self.entries: list[Entry] = []
        self.by_key: dict[str, Entry] = {}
        self.blacklist: dict[str, str] = {}
        self.free_items = 0
        self.reasons: dict[str, int] = {}
        self._heap: list[float] = []
        self._top_sum = 0.0
        self._hits = 0
        self._curve = [0.0]

    # -- charging -------------------------------------------------------------------------------
    @property
    def used(self) -> int:
        return len(self.entries)

    @property
    def left(self) -> int | None:
        return None if self.budget is None else self.budget - self.used

    def charge(self, key: str, score: float, step: int, text: str, hit: bool = False) -> Entry:
        if key in self.by_key:
            raise ValueError(f"key charged twice: {key}")
        if self.budget is not None and self.used >= self.budget:
            raise ValueError("the budget is exhausted")
        e = Entry(self.used + 1, key, score, step, text[:200], hit)
        self.entries.append(e)
        self.by_key[key] = e
        self._hits += bool(hit)
        if len(self._heap) < 10:
            heapq.heappush(self._heap, score)
            self._top_sum += score
        elif score > self._heap[0]:
            self._top_sum += score - heapq.heapreplace(self._heap, score)
        self._curve.append(self.progress())
        return e

    def count_free(self, reason: str) -> None:
        self.free_items += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def add_blacklist(self, key: str, status: str) -> None:
        self.blacklist[key] = status

    def sync(self) -> None:
        """Catch up with charges made by other env instances (only a shared ledger has any)."""

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Ledger]:
        """Dedup, scoring and charging of one action happen inside this (a no-op in memory)."""
        yield self

    # -- metrics --------------------------------------------------------------------------------
    def progress(self) -> float:
        """T(n): coverage for isomer tasks, max(0, top-1) for unbounded scores, else the padded top-10."""
        if self.n_target:
            return min(1.0, self._hits / self.n_target)
        if self.unbounded_score:
            return max(0.0, max(self._heap)) if self._heap else 0.0
        return self._top_sum / 10

    def curve(self) -> list[float]:
        return list(self._curve)

    def scores(self) -> list[float]:
        return [e.score for e in self.entries]

    def top(self, n: int) -> list[Entry]:
        return sorted(self.entries, key=lambda e: (-e.score, e.call))[:n]

    def metrics(self) -> dict[str, Any]:
        """Run metrics of docs/molecules.md#run-metrics/docs/molecules.md#the-run-log-and-the-replay (AUCs with the
        fill-to-budget rule; None for unbounded budgets)."""
        s = self.scores()
        out: dict[str, Any] = {
            "calls": self.used,
            "budget": self.budget,
            "top1": top_k_mean(s, 1) if s else 0.0,
            "top10": top_k_mean(s, 10),
            "top100": top_k_mean(s, 100),
            "free_items": self.free_items,
            "free_by_reason": dict(sorted(self.reasons.items())),
        }
        if self.budget:
            for k in (1, 10, 100):
                out[f"auc_top{k}"] = auc(top_k_curve(s, k), self.budget)
        if self.n_target:
            out["hits"] = self._hits
            out["coverage"] = self.progress()
            if self.budget:
                out["auc_coverage"] = auc(self._curve, self.budget)
            out[f"top{self.n_target}_mean"] = top_k_mean(s, self.n_target)
        return out

    def headline(self) -> tuple[str, float]:
        """(name, value) of the run metric: AUC of coverage / top-1 (pLogP) / AUC top-10."""
        if self.unbounded_score:
            return "top1", max(self.scores(), default=0.0)
        if self.budget is None:
            return ("coverage", self.progress()) if self.n_target else ("top10", self.progress())
        return ("auc_coverage" if self.n_target else "auc_top10"), auc(self._curve, self.budget)


class SharedLedger(Ledger):
    """A ledger in one SQLite file shared by every env instance of a run (oneshot episodes,
    docs/molecules.md#episodes-and-rewards).

    Charges are serialised by SQLite's writer lock (``BEGIN IMMEDIATE``): inside
    :meth:`transaction` the instance first reads the rows other instances committed, then decides
    and charges. ``meta`` (id, task, budget, target commitment) must match the file's, so two
    different runs can never share one ledger by accident.
    """

    def __init__(self, path: str, budget: int | None, meta: dict[str, Any], **kw: Any) -> None:
        super().__init__(budget, **kw)
        self.path = path
        self.db = sqlite3.connect(path, timeout=600, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS ledger (call INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, "
                "score REAL NOT NULL, step INTEGER, input TEXT, hit INTEGER)"
            )
            self.db.execute("CREATE TABLE IF NOT EXISTS blacklist (key TEXT PRIMARY KEY, status TEXT)")
            self.db.execute("CREATE TABLE IF NOT EXISTS free (reason TEXT PRIMARY KEY, n INTEGER NOT NULL)")
            wanted = json.dumps({**meta, "budget": budget}, sort_keys=True)
            row = self.db.execute("SELECT v FROM meta WHERE k = 'run'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('run', ?)", (wanted,))
            elif row[0] != wanted:
                raise ValueError(f"the ledger {path} belongs to another run ({row[0]}); use a new file")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.sync()

    def sync(self) -> None:
        """Load what other instances committed since our last look."""
        rows = self.db.execute(
            "SELECT call, key, score, step, input, hit FROM ledger WHERE call > ? ORDER BY call", (self.used,)
        ).fetchall()
        for call, key, score, step, text, hit in rows:
            if call != self.used + 1:
                raise RuntimeError(f"the ledger {self.path} has a gap at call {self.used + 1}")
            super().charge(key, score, step, text, bool(hit))
        self.blacklist.update(dict(self.db.execute("SELECT key, status FROM blacklist").fetchall()))
        self._load_free()

    def _load_free(self) -> None:
        """Free items are counted in the file too, so every instance reports the whole run's."""
        self.reasons = dict(self.db.execute("SELECT reason, n FROM free").fetchall())
        self.free_items = sum(self.reasons.values())

    def count_free(self, reason: str) -> None:
        self.db.execute("INSERT INTO free VALUES (?, 1) ON CONFLICT(reason) DO UPDATE SET n = n + 1", (reason,))
        self._load_free()

    def metrics(self) -> dict[str, Any]:
        self._load_free()
        return super().metrics()

    def charge(self, key: str, score: float, step: int, text: str, hit: bool = False) -> Entry:
        e = super().charge(key, score, step, text, hit)
        self.db.execute("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)", (e.call, key, score, step, e.input, int(hit)))
        return e

    def add_blacklist(self, key: str, status: str) -> None:
        super().add_blacklist(key, status)
        self.db.execute("INSERT OR REPLACE INTO blacklist VALUES (?, ?)", (key, status))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SharedLedger]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.sync()
            yield self
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()
