"""Estimated rank and performance of a contest total (docs/atcoder.md#rank-and-performance), as ALE-Bench computes
them (`Standings.get_new_rank`, `RankPerformanceMap.get_performance`). Only a contest-mode total over
the official 150 cases may be ranked; AHC058 has no standings data."""

from __future__ import annotations

import dataclasses
import sys


class NoStandings(LookupError):
    """This problem has no (trustworthy) standings table."""


@dataclasses.dataclass(frozen=True)
class Placement:
    rank: int
    perf_rank: float
    performance: int


class Standings:
    def __init__(self, rows: list[tuple[int, int, int]], best_human: int | None = None) -> None:
        """`rows`: (rank, total, performance), best first, the last row being the score-0 rank."""
        if not rows:
            raise NoStandings("empty standings table")
        if best_human is not None and rows[0][1] < best_human:
            # A table whose winner scored less than the published best human belongs to another contest.
            raise NoStandings(
                f"the standings' rank-1 total {rows[0][1]:,} is below the best-human reference "
                f"{best_human:,}: this table is not this contest's"
            )
        self.r0 = rows[-1][0]
        self.buckets: list[tuple[int, int, int]] = []  # (score, start_rank, end_rank)
        body = rows[:-1]
        i = 0
        while i < len(body):
            j = i
            while j + 1 < len(body) and body[j + 1][1] == body[i][1]:
                j += 1
            next_rank = rows[j + 1][0]
            self.buckets.append((body[i][1], body[i][0], next_rank - 1))
            i = j + 1
        self.buckets.append((0, self.r0, self.r0))
        # Performance keys: the mid-rank of each row's tie block; the last row's rank as is.
        self.keys: list[tuple[float, int]] = []
        ranks = [r for r, _, _ in rows]
        for k, (rank, _, perf) in enumerate(rows[:-1]):
            if k > 0 and ranks[k - 1] == rank:
                continue
            nxt = next((r for r in ranks[k + 1 :] if r != rank), rank + 1)
            self.keys.append(((rank + nxt - 1) / 2, perf))
        self.keys.append((float(rows[-1][0]), rows[-1][2]))

    def rank(self, total: int) -> tuple[int, float]:
        if total == 0:
            return self.r0, float(self.r0)
        for score, start, end in self.buckets:
            if total > score:
                return start, float(start)
            if total == score:
                return start, (start + end) / 2
        return self.r0, float(self.r0)

    def performance(self, perf_rank: float) -> int:
        for key, value in self.keys:
            if key == perf_rank:
                return value
        if perf_rank < self.keys[0][0]:
            return self.keys[0][1]  # no extrapolation above rank 1
        for (rh, ph), (rl, pl) in zip(self.keys, self.keys[1:]):
            if rh < perf_rank < rl:
                return round(ph - (ph - pl) * (perf_rank - rh) / (rl - rh))  # half to even, as the reference
        return self.keys[-1][1]

    def place(self, total: int) -> Placement:
        rank, perf_rank = self.rank(int(total))
        return Placement(rank, perf_rank, self.performance(perf_rank))


def for_problem(problem: str) -> Standings:
    if problem == "ahc039":
        from verifiers.atcoder.standings_ahc039 import ROWS

        return Standings(list(ROWS), best_human=566_997)
    if problem == "ahc058":
        raise NoStandings(
            "AHC058 has no standings data (the table shipped with ALE-Bench belongs to another "
            "contest); only the published reference totals can be shown"
        )
    raise NoStandings(f"no standings for {problem!r}")


def module_from_csv(standings_csv: str, performance_csv: str) -> str:
    """The text of a standings module built from ALE-Bench's two CSV files."""
    import csv

    with open(standings_csv) as a, open(performance_csv) as b:
        rows = list(csv.reader(a))[1:]
        perf = list(csv.reader(b))[1:]
    if [r[0] for r in rows] != [p[0] for p in perf]:
        raise ValueError("the two files do not list the same ranks")
    items = [f"({r}, {s}, {p})," for (r, s), (_, p) in zip(rows, perf)]
    body, line = [], "   "
    for it in items:
        if len(line) + len(it) + 1 > 110:
            body.append(line)
            line = "   "
        line += " " + it
    body.append(line)
    return "ROWS = (\n" + "\n".join(body) + "\n)\n"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--from-csv":
        sys.stdout.write(module_from_csv(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("usage: python -m verifiers.atcoder.standings --from-csv STANDINGS.csv PERFORMANCE.csv")
