"""CVRP verifier: exactness against CVRPLIB's published solutions, a hand-computed instance, the VRPLIB
reader's errors, and every malformed or cheating solution rejected with a message naming route and customer.
Fast: no sandbox here (programs are in test_cvrp_programs.py)."""

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest

from verifiers import get_verifier
from verifiers.logistics.cvrp import CVRPVerifier, instance_names, load_instance, split_action
from verifiers.logistics.cvrp_instance import InstanceError, check_routes, nint_sqrt, parse_sol, parse_vrp

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "logistics"
X = DATA / "cvrp" / "X"


@pytest.fixture()
def cvrp_data(monkeypatch):
    if not (X / "X-n101-k25.vrp").is_file():
        pytest.skip(f"CVRP data not found at {X}")
    monkeypatch.setenv("TTTD_DATA_DIR", str(DATA.parent))
    return DATA / "cvrp"


# -- a hand-computed instance ------------------------------------------------------------------------
# Depot (node 1) at (0, 0); customer 1 (node 2) at (3, 4), demand 4; customer 2 (node 3) at (6, 8), demand 3;
# customer 3 (node 4) at (1, 1), demand 5; capacity 8. Rounded distances by hand:
#   0-1: sqrt(9+16) = 5          0-2: sqrt(36+64) = 10       0-3: sqrt(2) = 1.414 -> 1
#   1-2: sqrt(9+16) = 5          1-3: sqrt(4+9) = 3.606 -> 4  2-3: sqrt(25+49) = 8.602 -> 9
# Routes [[1, 2], [3]]: loads 7 and 5 (≤ 8); cost (5 + 5 + 10) + (1 + 1) = 22.
# Routes [[2, 1], [3]]: the same edges reversed, 22.   [[1, 3, 2]]: load 12 > 8 (over at customer 3).
# Star solution [[1], [2], [3]]: 10 + 20 + 2 = 32.
TINY = (
    "NAME : tiny3\r\nCOMMENT : hand-made\r\nTYPE : CVRP\r\nDIMENSION : 4\r\nEDGE_WEIGHT_TYPE : EUC_2D\r\n"
    "CAPACITY : 8\r\nNODE_COORD_SECTION\r\n1 0 0\r\n2 3 4\r\n3 6 8\r\n4 1 1\r\nDEMAND_SECTION\r\n"
    "1 0\r\n2 4\r\n3 3\r\n4 5\r\nDEPOT_SECTION\r\n1\r\n-1\r\nEOF\r\n"
)


@pytest.fixture()
def tiny(tmp_path):
    path = tmp_path / "tiny3.vrp"
    path.write_bytes(TINY.encode())
    return get_verifier("cvrp", instance_file=str(path)), path


def test_hand_computed_instance(tiny):
    v, _ = tiny
    verdict = v.verify('{"routes": [[1, 2], [3]]}')
    assert verdict.accepted, verdict.message
    assert verdict.score == 22 and verdict.details["cost"] == 22 and verdict.details["routes"] == 2
    assert verdict.details["route_costs"] == [20, 2] and verdict.details["loads"] == [7, 5]
    assert verdict.details["bks"] is None and verdict.details["gap_pct"] is None
    assert verdict.details["reward_reference"] == 32  # the star solution, by hand above
    assert v.verify('{"routes": [[2, 1], [3]]}').score == 22
    assert v.verify("Route #1: 1\nRoute #2: 2\nRoute #3: 3\nCost 32\n").score == 32
    over = v.verify("[[1, 3, 2]]")
    assert (
        over.status == "rejected"
        and "route #1 (index 0)" in over.message
        and "capacity 8" in over.message
        and "customer 3" in over.message
        and "12" in over.message
    )


def test_hand_computed_reward_with_reference_cost(tiny):
    from tttd_envs.problems.cvrp import CVRP_CARD

    v, path = tiny
    verdict = v.verify("[[1, 2], [3]]")
    assert CVRP_CARD.reward(verdict.score, verdict.details) == pytest.approx(32 / 22)
    v2 = get_verifier("cvrp", instance_file=str(path), reference_cost=20)
    verdict = v2.verify("[[1, 2], [3]]")
    assert verdict.details["reward_reference"] == 20
    assert CVRP_CARD.reward(verdict.score, verdict.details) == pytest.approx(20 / 22)
    with pytest.raises(ValueError, match="positive integer"):
        get_verifier("cvrp", instance_file=str(path), reference_cost=2.5)


def test_nint_matches_float_rounding_and_hand_values():
    # second method: float sqrt, which is exact enough for integers this small (no k has sqrt(k) = m + 1/2)
    for k in range(0, 200_000):
        assert nint_sqrt(k) == int(math.sqrt(k) + 0.5)
    assert [nint_sqrt(k) for k in (2, 6, 7, 12, 13, 74)] == [1, 2, 3, 3, 4, 9]
    # rational squared distances (decimal coordinates): halves round up, exactly
    assert nint_sqrt(Fraction(1, 4)) == 1 and nint_sqrt(Fraction(9, 4)) == 2 and nint_sqrt(Fraction(25, 4)) == 3
    assert nint_sqrt(Fraction(24, 4)) == 2  # sqrt(6) = 2.449


def test_decimal_coordinates_are_exact(tmp_path):
    text = TINY.replace("2 3 4", "2 0.5 0").replace("3 6 8", "3 2.5 0")
    inst = parse_vrp(text)
    # 0 -> 0.5 -> 2.5 -> 0: nint(0.5) + nint(2.0) + nint(2.5) = 1 + 2 + 3 = 6
    assert inst.route_cost([1, 2]) == 6


# -- published solutions ------------------------------------------------------------------------------
def test_every_published_solution_reproduces_its_cost(cvrp_data):
    bks = json.loads((cvrp_data / "bks.json").read_text())
    names = sorted(p.stem for p in X.glob("*.vrp"))
    assert len(names) == 100 and names == sorted(instance_names())
    equal_to_bks = 0
    for name in names:
        inst = parse_vrp((X / f"{name}.vrp").read_bytes().decode())
        assert inst.name == name
        routes, claimed = parse_sol((X / f"{name}.sol").read_text())
        result = check_routes(routes, inst)
        assert result["cost"] == int(claimed) == bks[name]["sol_cost_verified"], name
        assert result["cost"] >= bks[name]["bks"], name
        equal_to_bks += result["cost"] == bks[name]["bks"]
    assert equal_to_bks == 94  # the data README: 6 .sol files are not the current BKS
    assert sum(bks[n]["optimal"] for n in names) == 61


@pytest.mark.parametrize("name,cost", [("X-n101-k25", 27591), ("X-n502-k39", 69226), ("X-n1001-k43", 72355)])
def test_published_examples_through_the_verifier(cvrp_data, name, cost):
    # values quoted in the data README (CVRPLIB .sol Cost lines)
    v = CVRPVerifier(instance=name)
    verdict = v.verify((X / f"{name}.sol").read_text())
    assert verdict.accepted and verdict.score == cost and verdict.details["artifact_kind"] == "sol"
    routes, _ = parse_sol((X / f"{name}.sol").read_text())
    assert v.verify(json.dumps({"routes": routes})).score == cost


def test_gap_to_bks(cvrp_data):
    v = CVRPVerifier(instance="X-n284-k15")  # .sol 20226, best known 20215 (proven optimal 2019)
    d = v.verify((X / "X-n284-k15.sol").read_text()).details
    assert d["bks"] == 20215 and d["optimal"] is True and d["routes"] == 15
    assert d["gap_pct"] == round(100 * (20226 - 20215) / 20215, 4)


def test_crlf_and_lf_read_the_same(cvrp_data):
    raw = (X / "X-n101-k25.vrp").read_bytes().decode()
    assert "\r\n" in raw
    a, b = parse_vrp(raw), parse_vrp(raw.replace("\r\n", "\n"))
    assert a == b and a.capacity == 206 and a.dimension == 101
    # customer 1 is node 2 of the file: "2\t146\t180" and demand "2\t38"
    assert (a.xs[1], a.ys[1], a.demands[1]) == (146, 180, 38) and (a.xs[0], a.ys[0]) == (365, 689)


def test_unknown_instance_suggests_the_nearest_name(cvrp_data):
    with pytest.raises(InstanceError, match="did you mean 'X-n101-k25'"):
        load_instance("X-n101-k2")
    with pytest.raises(InstanceError, match="100 X instances"):
        load_instance("zzz")


# -- malformed instance files ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "edit,fragment",
    [
        (lambda t: t.replace("CAPACITY : 8\r\n", ""), "no CAPACITY line"),
        (lambda t: t.replace("EUC_2D", "EXPLICIT"), "only EUC_2D"),
        (lambda t: t.replace("DEPOT_SECTION\r\n1\r\n", "DEPOT_SECTION\r\n2\r\n"), "exactly the depot 1"),
        (lambda t: t.replace("4 5\r\n", "4 9\r\n"), "node 4 has demand 9 > CAPACITY 8"),
        (lambda t: t.replace("3 6 8", "3 6 abc"), "line 10: 'abc' is not a number"),
        (lambda t: t.replace("4 1 1", "3 1 1"), "node 3 appears twice"),
        (lambda t: t.replace("DEMAND_SECTION", "TIME_WINDOW_SECTION"), "TIME_WINDOW_SECTION is not supported"),
        (lambda t: t.replace("TYPE : CVRP", "DISTANCE : 100"), "DISTANCE is not supported"),
        (lambda t: t.replace("4 1 1\r\n", ""), "NODE_COORD_SECTION has 3 of 4 nodes (node 4 is missing)"),
        (lambda t: t.replace("3 6 8", "3 6 1e999999"), "not a number"),
        (lambda t: t.replace("DIMENSION : 4", "DIMENSION : 99999999"), "outside 2..20001"),
    ],
)
def test_malformed_instance_files_get_one_sentence(tmp_path, edit, fragment):
    path = tmp_path / "bad.vrp"
    path.write_text(edit(TINY))
    with pytest.raises(InstanceError) as e:
        get_verifier("cvrp", instance_file=str(path))
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_missing_instance_file(tmp_path):
    with pytest.raises(InstanceError, match="does not exist"):
        get_verifier("cvrp", instance_file=str(tmp_path / "nope.vrp"))


# -- rejected solutions ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "action,fragments",
    [
        ("[[1, 2]]", ["1 customer is not visited", ": 3;"]),
        (
            "[[1, 2], [3, 1]]",
            ["customer 1 is visited twice", "route #1 (index 0) position 0", "route #2 (index 1) position 1"],
        ),
        ("[[1, 2], [4]]", ["route #2 (index 1), position 0", "customer 4 does not exist", "1..3"]),
        ("[[1, 2], [-1]]", ["customer -1 does not exist"]),
        ("[[1, 2], [0, 3]]", ["route #2 (index 1), position 0", "0 is the depot"]),
        ("[[1, 2, 0, 3]]", ["position 2", "0 is the depot"]),
        ('{"routes": [[1, 2.0], [3]]}', ["route #1 (index 0), position 1", "2.0, a float"]),
        ('{"routes": [[1, 2], [3e0]]}', ["route #2 (index 1), position 0", "a float"]),
        ('{"routes": [[1, true], [3]]}', ["position 1", "a boolean"]),
        ('{"routes": [[1, "2"], [3]]}', ["'2', not an integer"]),
        ("[[1, 2], [], [3]]", ["route #2 (index 1) is empty"]),
        ('{"routes": [[1, 2], 3]}', ["route #2 (index 1) is", "each route is a list"]),
        ("Route #1: 1 2\nRoute #2: 3.0\nCost 22\n", ["route #2 (index 1), position 0", "'3.0', not an integer"]),
        ("Route #1: 1 2\nhello\n", ["line 2 of the .sol text"]),
        ('{"routes": [[1, 2], [3]], "extra": 1}', ['exactly one of "routes" or "construction"']),
        ('{"problem": "JSSP-v0", "routes": [[1, 2], [3]]}', ["not 'CVRP-v0'"]),
        ("[[1, 2], [3]] trailing", ["invalid JSON"]),
        ('{"routes": []}', ["no routes"]),
    ],
)
def test_bad_solutions_are_rejected_with_route_and_customer(tiny, action, fragments):
    v, _ = tiny
    verdict = v.verify(action)
    assert verdict.status == "rejected" and verdict.score is None
    for f in fragments:
        assert f in verdict.message, (f, verdict.message)


def test_capacity_violation_on_a_published_instance(cvrp_data):
    routes, _ = parse_sol((X / "X-n101-k25.sol").read_text())
    merged = [routes[0] + routes[1]] + routes[2:]  # two full routes on one vehicle
    verdict = CVRPVerifier().verify(json.dumps({"routes": merged}))
    assert verdict.status == "rejected" and "route #1 (index 0) carries more than the capacity 206" in verdict.message


def test_lying_cost_line_is_scored_by_its_routes(cvrp_data):
    sol = (X / "X-n101-k25.sol").read_text().replace("Cost 27591", "Cost 1000")
    verdict = CVRPVerifier().verify(sol)
    assert verdict.score == 27591 and verdict.details["claimed_cost"] == "1000"
    assert "the stated cost 1000 was ignored" in verdict.message
    routes, _ = parse_sol(sol)
    verdict = CVRPVerifier().verify(json.dumps({"routes": routes, "cost": 5}))
    assert verdict.score == 27591 and verdict.details["claimed_cost"] == "5"


def test_huge_outputs_are_rejected(tiny):
    v, _ = tiny
    huge = json.dumps({"routes": [[1, 2], [3]] + [[1]] * 200_000})
    verdict = v.verify(huge)
    assert verdict.status == "rejected" and "larger than the" in verdict.message and "cap" in verdict.message
    many = json.dumps([[1, 2], [3]] + [[1, 1]] * 40)  # under the byte cap, far more entries than customers
    assert "more than 70 entries" in v.verify(many).message
    sol = "Route #1: 1 2\nRoute #2: 3\n" + "Route #3: 1\n" * 20_000
    assert "larger than the" in v.verify(sol).message


def test_action_kinds():
    assert split_action('{"routes": []}')[0] == "json"
    assert split_action("Route #1: 1 2 3\nCost 7")[0] == "sol"
    assert split_action("Here you go:\n```\nRoute #1: 1 2\n```\n")[0] == "sol"
    assert split_action("def run(instance, budget_s, seed):\n    return []")[0] == "program"
    assert split_action("text\n```python\ndef run(instance, budget_s, seed):\n    pass\n```\n")[0] == "program"
