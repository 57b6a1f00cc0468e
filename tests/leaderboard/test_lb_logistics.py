"""Logistics boards (issue 18): one board per instance (CVRP-v0, JSSP-v0; a user's own instance file by its
content sha256), the gap to the best known, reference rows from the instance's card, the family view (mean
gap, instances at or beyond the best known) in the API, `tttd board` and the web page, and `tttd submit
-o instance=...` placing the entry on that instance's board. Expected values are read from the data files
(bks.json, bounds.json, .sol files) or computed here by hand, never from the code under test."""

import hashlib
import json
import math
from pathlib import Path

import pytest

import leaderboards
from leaderboards import scoring
from tttd_envs.cli import main
from tttd_envs.registration import card as get_card

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CVRP = SHARED / "logistics" / "cvrp"
JSSP = SHARED / "logistics" / "jssp"
# a 3-customer instance (tests/logistics/test_cvrp.py computes its optimum 22 by hand)
TINY = (
    "NAME : tiny3\nTYPE : CVRP\nDIMENSION : 4\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 8\nNODE_COORD_SECTION\n"
    "1 0 0\n2 3 4\n3 6 8\n4 1 1\nDEPOT_SECTION\n1\n-1\nDEMAND_SECTION\n1 0\n2 4\n3 3\n4 5\nEOF\n"
)
# ft06's optimum 55 (tests/logistics/test_jssp_verifier.py: CP-SAT's start times, re-checked there)
FT06_OPT_STARTS = [
    [5, 6, 16, 30, 42, 49],
    [0, 8, 13, 28, 38, 48],
    [0, 5, 9, 18, 27, 42],
    [8, 13, 22, 27, 30, 45],
    [13, 22, 25, 38, 48, 52],
    [13, 16, 19, 28, 38, 42],
]


@pytest.fixture()
def data(monkeypatch):
    if not (CVRP / "bks.json").is_file() or not (JSSP / "bounds.json").is_file():
        pytest.skip(f"logistics data not found under {SHARED}")
    monkeypatch.setenv("TTTD_DATA_DIR", str(SHARED))
    return SHARED


def _bks(name: str) -> int:
    return json.loads((CVRP / "bks.json").read_text())[name]["bks"]


def _vrp(name: str):
    """(coords, demands, capacity) read here from the .vrp file (depot first)."""
    lines = [line.strip() for line in (CVRP / "X" / f"{name}.vrp").read_text().splitlines()]
    cap = next(int(line.split(":")[1]) for line in lines if line.startswith("CAPACITY"))
    i = lines.index("NODE_COORD_SECTION")
    j = lines.index("DEMAND_SECTION")
    coords = [tuple(int(t) for t in line.split()[1:3]) for line in lines[i + 1 : j]]
    demands = [int(line.split()[1]) for line in lines[j + 1 : j + 1 + len(coords)]]
    return coords, demands, cap


def _star(name: str) -> tuple[str, int]:
    """One route per customer, and its cost by hand: 2 * nint(distance to the depot) per customer."""
    coords, _, _ = _vrp(name)
    (x0, y0) = coords[0]
    cost = sum(2 * math.floor(math.hypot(x - x0, y - y0) + 0.5) for x, y in coords[1:])
    return json.dumps({"routes": [[c] for c in range(1, len(coords))]}), cost


def test_cvrp_entries_go_to_their_instance_boards_with_gap_and_references(db_url, data):
    sol = (CVRP / "X" / "X-n101-k25.sol").read_text()
    a = leaderboards.submit("CVRP-v0", sol, submitter="alice", db=db_url)  # the default instance
    assert a.accepted and a.case_set == "X-n101-k25" and a.score == _bks("X-n101-k25")
    star, star_cost = _star("X-n106-k14")
    b = leaderboards.submit("CVRP-v0", star, submitter="bob", db=db_url, verifier_kwargs={"instance": "X-n106-k14"})
    assert b.accepted and b.case_set == "X-n106-k14" and b.score == star_cost and b.rank == 1
    bks = _bks("X-n106-k14")
    assert scoring.gap_pct(get_card("CVRP-v0"), b.details) == pytest.approx((star_cost - bks) / bks * 100)
    boards = {x.case_set: x for x in leaderboards.boards("CVRP-v0", db=db_url)}
    assert set(boards) == {"X-n101-k25", "X-n106-k14"}
    assert boards["X-n106-k14"].title == "instance X-n106-k14"
    refs = [r.reference for r in boards["X-n106-k14"].rows if r.reference is not None]
    known = next(r for r in refs if r.label == "best known")
    assert known.display == str(bks) and known.rechecked  # its .sol re-scored by the instance's verifier
    # the rows are this instance's: no reference of another instance's value is on the board
    assert str(_bks("X-n101-k25")) not in {r.display for r in refs}
    # the bob entry sits below the best known (it does not beat it)
    kinds = [r.kind for r in boards["X-n106-k14"].rows]
    assert kinds.index("reference") < kinds.index("entry")
    assert b.beats == [] and a.reproduction_of == "best known"


def test_family_view_mean_gap_and_count_at_or_beyond(db_url, data):
    leaderboards.submit("CVRP-v0", (CVRP / "X" / "X-n101-k25.sol").read_text(), submitter="a", db=db_url)
    gaps = [0.0]
    for name in ("X-n106-k14", "X-n110-k13"):
        star, cost = _star(name)
        leaderboards.submit("CVRP-v0", star, submitter="s", db=db_url, verifier_kwargs={"instance": name})
        gaps.append((cost - _bks(name)) / _bks(name) * 100)
    fam = leaderboards.family("CVRP-v0", db=db_url)
    assert fam.with_gap == 3 and fam.at_or_beyond == 1
    assert fam.mean_gap_pct == pytest.approx(sum(gaps) / 3)
    assert [r.gap_pct for r in fam.rows] == pytest.approx(sorted(gaps))  # best gap first
    assert fam.rows[0].board == "X-n101-k25" and fam.rows[0].at_or_beyond
    with pytest.raises(leaderboards.LeaderboardError, match="no instances"):
        leaderboards.family("CirclePacking26-v0", db=db_url)


def test_users_own_instance_file_gets_a_board_keyed_by_its_content(db_url, data, tmp_path):
    path = tmp_path / "tiny3.vrp"
    path.write_text(TINY)
    routes = json.dumps({"routes": [[1, 2], [3]]})  # 22 by hand (test_cvrp.py)
    e = leaderboards.submit("CVRP-v0", routes, submitter="u", db=db_url, verifier_kwargs={"instance_file": str(path)})
    key = "file:" + hashlib.sha256(TINY.encode()).hexdigest()[:40]
    assert e.accepted and e.score == 22 and e.case_set == key
    (board,) = [b for b in leaderboards.boards("CVRP-v0", db=db_url) if b.case_set == key]
    assert board.title.startswith("your own instance file (sha256 ") and not [r for r in board.rows if r.reference]
    # the same content under another name is the same board; other content is another
    copy = tmp_path / "renamed.vrp"
    copy.write_text(TINY)
    e2 = leaderboards.submit(
        "CVRP-v0",
        json.dumps({"routes": [[3], [1, 2]]}),
        submitter="v",
        db=db_url,
        verifier_kwargs={"instance_file": str(copy)},
    )
    assert e2.case_set == key and e2.rank == 2
    fam = leaderboards.family("CVRP-v0", db=db_url)
    (row,) = fam.rows
    assert row.gap_pct is None and row.best_known is None and fam.with_gap == 0 and fam.mean_gap_pct is None


def test_jssp_boards_per_instance_with_the_upper_bound(db_url, data):
    e = leaderboards.submit(
        "JSSP-v0",
        json.dumps({"start_times": FT06_OPT_STARTS}),
        submitter="j",
        db=db_url,
        verifier_kwargs={"instance": "ft06"},
    )
    assert e.accepted and e.case_set == "ft06" and e.score == 55
    (board,) = leaderboards.boards("JSSP-v0", db=db_url)
    known = next(r.reference for r in board.rows if r.reference is not None and r.reference.label == "best known")
    assert known.display == "55" and not known.rechecked and "quoted" in known.recheck_note  # no schedule shipped
    fam = leaderboards.family("JSSP-v0", db=db_url)
    assert fam.at_or_beyond == 1 and fam.mean_gap_pct == 0.0
    # the default board before any entry is the default instance's, with its references
    assert leaderboards.boards("CVRP-v0", db=db_url)[0].case_set == "X-n101-k25"


def test_cli_submit_with_instance_option_and_family_view(db_url, data, tmp_path, capsys):
    star, cost = _star("X-n106-k14")
    f = tmp_path / "sol.json"
    f.write_text(star)
    assert main(["submit", "CVRP-v0", str(f), "-o", "instance=X-n106-k14", "--name", "cli", "--db", db_url]) == 0
    out = capsys.readouterr().out
    bks = _bks("X-n106-k14")
    assert "board:     instance X-n106-k14" in out
    assert f"gap:       gap {(cost - bks) / bks * 100:+.3f}% to the best known" in out
    assert main(["board", "CVRP-v0", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert (
        f"mean gap to the best known: {(cost - bks) / bks * 100:+.3f}% over 1 instance; at or beyond the best "
        "known: 0 of 1" in out
    )
    assert "board: instance X-n106-k14" in out and "re-verified" in out
    assert main(["board", "CVRP-v0", "--family", "--json", "--db", db_url]) == 0
    fam = json.loads(capsys.readouterr().out)
    assert fam["rows"][0]["board"] == "X-n106-k14" and fam["rows"][0]["best_known"]["display"] == str(bks)
    assert main(["board", "CVRP-v0", "--instance", "X-n101-k25", "--db", db_url]) == 0
    assert "board: instance X-n101-k25" in capsys.readouterr().out
    assert main(["board", "CirclePacking26-v0", "--family", "--db", db_url]) == 2
    assert "--family applies to problems with instances" in capsys.readouterr().err


def test_web_page_shows_the_family_view(data, tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from leaderboards.web.app import create_app

    url = f"sqlite:///{tmp_path / 'lb.db'}"
    leaderboards.submit("CVRP-v0", (CVRP / "X" / "X-n101-k25.sol").read_text(), submitter="a", db=url)
    star, cost = _star("X-n106-k14")
    leaderboards.submit("CVRP-v0", star, submitter="s", db=url, verifier_kwargs={"instance": "X-n106-k14"})
    html = TestClient(create_app(db=url)).get("/p/CVRP-v0").text
    gap = (cost - _bks("X-n106-k14")) / _bks("X-n106-k14") * 100
    assert 'id="family"' in html and f"{gap / 2:+.3f}% over 2 instances" in html
    assert "at or beyond the best known: 1 of 2" in html and "instance X-n106-k14" in html
    assert f"gap {gap:+.3f}% to the best known" in html
