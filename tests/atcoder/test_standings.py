"""Rank and estimated performance of an AHC039 contest total (docs/atcoder.md#rank-and-performance)."""

import csv
from pathlib import Path

import pytest

from verifiers.atcoder import standings
from verifiers.atcoder.standings_ahc039 import ROWS

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "atcoder"

# spec docs/atcoder.md#rank-and-performance, computed there from the data files by hand
WORKED = [
    (567062, 1, 1.0, 3390),
    (566997, 1, 1.0, 3390),
    (563310, 2, 2.0, 3140),
    (558026, 2, 2.0, 3140),
    (557212, 2, 2.0, 3140),
    (554334, 3, 3.0, 3021),
    (550000, 5, 5.0, 2880),
    (500000, 23, 23.0, 2451),
    (400000, 79, 79.0, 2035),
    (300000, 183, 183.0, 1681),
    (291843, 206, 206.0, 1624),
    (291842, 206, 207.0, 1621),
    (291841, 209, 209.0, 1616),
    (200000, 379, 379.0, 1264),
    (100000, 483, 483.0, 1068),
    (1000, 631, 631.0, 734),
    (150, 640, 659.5, 639),
    (1, 683, 683.0, 265),
    (0, 683, 683.0, 265),
]


@pytest.mark.parametrize("total,rank,perf_rank,performance", WORKED)
def test_worked_examples(total, rank, perf_rank, performance):
    p = standings.for_problem("ahc039").place(total)
    assert (p.rank, p.perf_rank, p.performance) == (rank, perf_rank, performance)


def _csv_rows(folder: Path):
    with open(folder / "standings_scores.csv") as a, open(folder / "performance.csv") as b:
        s, p = list(csv.reader(a))[1:], list(csv.reader(b))[1:]
    return [(int(r), int(sc), int(pf)) for (r, sc), (_, pf) in zip(s, p)]


def test_embedded_table_is_the_published_one():
    if not (DATA / "ahc039").is_dir():
        pytest.skip("data/atcoder not available")
    assert list(ROWS) == _csv_rows(DATA / "ahc039")
    assert len(ROWS) == 583 and ROWS[0] == (1, 566997, 3390) and ROWS[-1] == (683, 0, 265)


def test_ahc058_has_no_standings_and_the_placeholder_table_is_refused():
    with pytest.raises(standings.NoStandings, match="AHC058 has no standings"):
        standings.for_problem("ahc058")
    folder = DATA / "ahc058" / "standings_placeholder_not_ahc058"
    if not folder.is_dir():
        pytest.skip("data/atcoder not available")
    with pytest.raises(standings.NoStandings, match="not this contest"):
        standings.Standings(_csv_rows(folder), best_human=847_674_723)
