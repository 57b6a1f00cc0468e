"""JSSP-v0 verifier: exactness against published bounds, hand-computed schedules, an independent
simulator, and rejection of malformed or cheating solutions (issue 18)."""

import json
import random
from pathlib import Path

import pytest

from verifiers.logistics import jssp
from verifiers.logistics.jssp import JSSPVerifier, parse_instance

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
JSSP_DATA = SHARED / "logistics" / "jssp"

# A 2 × 2 instance, by hand. Job 0: machine 0 for 3, then machine 1 for 2. Job 1: machine 1 for 4, then
# machine 0 for 1. Trivial lower bound: machine 1 is busy 2 + 4 = 6 (jobs take 5 each), so 6 is optimal.
TWO_BY_TWO = "2 2\n0 3 1 2\n1 4 0 1\n"
# Machine 0 runs job 0 then job 1, machine 1 runs job 1 then job 0 (semi-active, by hand):
#   job 0 op 0 on M0: [0, 3)      job 1 op 0 on M1: [0, 4)
#   job 0 op 1 on M1: waits for its job (3) and for job 1 on M1 (4): [4, 6)
#   job 1 op 1 on M0: waits for its job (4) and for job 0 on M0 (3): [4, 5)
#   makespan 6
GOOD_SEQS = [[0, 1], [1, 0]]
GOOD_STARTS = [[0, 4], [0, 4]]
# Both machines run job 0 first: J0 [0,3) M0, [3,5) M1; J1 [5,9) M1, [9,10) M0: makespan 10 (by hand).
SLOW_SEQS = [[0, 1], [0, 1]]
# Machine 0 runs job 1 first, machine 1 runs job 0 first: job 1 reaches M0 only after M1, where job 0
# goes first, and job 0 reaches M1 only after M0, where job 1 goes first: a cycle.
CYCLIC_SEQS = [[1, 0], [0, 1]]

# ft06's optimum, 55 (Fisher & Thompson 1963; proven optimal), as a schedule: the start times CP-SAT
# (OR-Tools 9.15) returned for ft06 on this machine. The test below re-checks it with its own simulator.
FT06_OPT_STARTS = [
    [5, 6, 16, 30, 42, 49],
    [0, 8, 13, 28, 38, 48],
    [0, 5, 9, 18, 27, 42],
    [8, 13, 22, 27, 30, 45],
    [13, 22, 25, 38, 48, 52],
    [13, 16, 19, 28, 38, 42],
]


@pytest.fixture(scope="module")
def data():
    if not (JSSP_DATA / "bounds.json").is_file():
        pytest.skip(f"JSSP data not found at {JSSP_DATA}")
    return SHARED


@pytest.fixture()
def two(tmp_path):
    path = tmp_path / "two.txt"
    path.write_text(TWO_BY_TWO)
    return JSSPVerifier(instance_file=str(path), data_dir=str(tmp_path / "no-data"), budget_s=10)


def _v(verifier, doc):
    return verifier.verify(doc if isinstance(doc, str) else json.dumps(doc))


def _rejected(verdict, *needles):
    assert not verdict.accepted and verdict.score is None, verdict.message
    for n in needles:
        assert n in verdict.message, (n, verdict.message)
    return verdict


# -- an independent simulator (written for the test, shares nothing with the verifier) -------------------
def sim_check(machines, durations, starts):
    """Makespan of a start-time schedule, asserting job order and machine exclusivity by brute force."""
    for j, (ms, ds) in enumerate(zip(machines, durations)):
        for k in range(1, len(ms)):
            assert starts[j][k] >= starts[j][k - 1] + ds[k - 1], (j, k)
    busy = {}
    for j, (ms, ds) in enumerate(zip(machines, durations)):
        for k, (m, d) in enumerate(zip(ms, ds)):
            for t in range(starts[j][k], starts[j][k] + d):  # unit time slots
                assert (m, t) not in busy, f"machine {m} double-booked at {t}: {busy[(m, t)]} and {(j, k)}"
                busy[(m, t)] = (j, k)
    return max(s + d for row, ds in zip(starts, durations) for s, d in zip(row, ds))


def sim_semi_active(machines, durations, seqs):
    """Semi-active start times by fixpoint iteration (relax until nothing moves), not a topological sort."""
    n = len(machines)
    start = [[0] * len(ms) for ms in machines]
    for _ in range(sum(len(ms) for ms in machines) + 2):
        moved = False
        for j in range(n):
            for k in range(len(machines[j])):
                t = start[j][k - 1] + durations[j][k - 1] if k else 0
                seq = seqs[machines[j][k]]
                pos = seq.index(j)
                if pos:
                    pj = seq[pos - 1]
                    pk = machines[pj].index(machines[j][k])
                    t = max(t, start[pj][pk] + durations[pj][pk])
                if t != start[j][k]:
                    start[j][k], moved = t, True
        if not moved:
            return start
    raise AssertionError("no fixpoint: cyclic sequences")


# -- published bounds ----------------------------------------------------------------------------------
def test_bounds_match_the_upstream_table(data):
    """Every instance's lb/ub equals the unmodified upstream table (ScheduleOpt bks.json, a second file
    read here independently), lb ≤ ub everywhere, and the sizes match the table's 'n x m'."""
    upstream = {
        e["instance"].removesuffix("js") if e["family"] == "ta" else e["instance"]: e
        for e in json.loads((JSSP_DATA / "sources" / "ScheduleOpt_jobshop_bks.json").read_text())
    }
    names = jssp.known_names(data)
    assert len(names) == 242
    for name in names:
        inst = jssp.load_instance(name, data)
        e = upstream[name]
        assert (inst.lb, inst.ub) == (e["lower_bound"], e["upper_bound"]), name
        assert inst.lb <= inst.ub and inst.trivial_lb <= inst.lb, name
        assert inst.optimal == (e["status"] == "closed"), name
        assert f"{inst.n_jobs} x {inst.n_machines}" == e["size"], name


@pytest.mark.parametrize(
    "name, ub, lb",
    [
        # Taillard (1993) instances with their well-known optima / the open ta41 (data README: [1926, 2005])
        ("ta01", 1231, 1231),
        ("ta02", 1244, 1244),
        ("ta11", 1357, 1357),
        ("ta21", 1642, 1642),
        ("ta41", 2005, 1926),
        ("ft06", 55, 55),
        ("ft10", 930, 930),
        ("la01", 666, 666),
        ("abz8", 667, 667),
    ],
)
def test_published_values(data, name, ub, lb):
    inst = jssp.load_instance(name, data)
    assert (inst.ub, inst.lb) == (ub, lb)
    assert inst.optimal == (ub == lb)


def test_instance_file_with_a_named_instances_jobs_gets_its_bounds(data, tmp_path):
    copy = tmp_path / "mine.txt"
    copy.write_text((JSSP_DATA / "instances" / "ta01.txt").read_text())
    inst = jssp.load_instance_file(copy, data)
    assert (inst.ub, inst.lb, inst.name) == (1231, 1231, "mine.txt")
    assert inst.bound_source.startswith("same jobs as ta01")


def test_unknown_names_get_the_nearest(data):
    with pytest.raises(ValueError, match=r"unknown JSSP instance 'tb01'; did you mean 'ta01'"):
        jssp.resolve_name("tb01", data)
    assert jssp.resolve_name("TA1", data) == "ta01" and jssp.resolve_name("la01", data) == "la01"


# -- the 2 × 2 instance by hand ----------------------------------------------------------------------------
def test_two_by_two_machine_sequences(two):
    v = _v(two, {"machine_sequences": GOOD_SEQS})
    assert v.accepted and v.score == 6.0 and v.details["start_times"] == GOOD_STARTS
    assert v.details["trivial_lb"] == 6 and v.details["ub"] is None
    assert _v(two, {"machine_sequences": SLOW_SEQS}).score == 10.0
    assert _v(two, {"machine_sequences": [[1, 0], [1, 0]]}).score == 10.0


def test_two_by_two_start_times(two):
    v = _v(two, {"start_times": GOOD_STARTS})
    assert v.accepted and v.score == 6.0 and v.details["machine_sequences"] == GOOD_SEQS
    # a feasible schedule that idles: scored as given (7), never compacted to 6
    assert _v(two, {"start_times": [[1, 5], [0, 4]]}).score == 7.0


def test_two_by_two_raw_answer_and_wrapper(two):
    assert two.verify('Here:\n```json\n{"machine_sequences": [[0, 1], [1, 0]]}\n```').score == 6.0
    assert _v(two, {"construction": {"start_times": GOOD_STARTS}}).score == 6.0


def test_cyclic_sequences_are_named(two):
    v = _rejected(
        _v(two, {"machine_sequences": CYCLIC_SEQS}),
        "cyclic",
        "machine 0 runs job 0 after job 1",
        "machine 1 runs job 1 after job 0",
    )
    assert v.status == "rejected"


@pytest.mark.parametrize(
    "starts, needles",
    [
        ([[0, 3], [0, 4]], ["machine 1 overlap", "job 0 (operation 1) runs [3, 5)", "job 1 (operation 0) runs [0, 4)"]),
        ([[0, 2], [0, 4]], ["precedence", "job 0 operation 1 (machine 1) starts at 2", "ends at 3"]),
        ([[0.0, 4], [0, 4]], ["start_times[0][0] is 0.0, not an integer"]),
        ([[0, 4.5], [0, 4]], ["start_times[0][1] is 4.5"]),
        ([[-1, 4], [0, 4]], ["start_times[0][0] = -1 is negative", "job 0, operation 0 on machine 0"]),
        ([[True, 4], [0, 4]], ["start_times[0][0] is a boolean"]),
        ([[0, 4]], ["start_times has 1 lists; the instance has 2 jobs"]),
        ([[0, 4, 9], [0, 4]], ["start_times[0] has 3 values; job 0 has 2 operations"]),
        ([[0, "4"], [0, 4]], ["start_times[0][1] is a string"]),
        ([[0, 10**30], [0, 4]], ["start_times[0][1] is", "far too large"]),
    ],
)
def test_bad_start_times(two, starts, needles):
    _rejected(_v(two, {"start_times": starts}), *needles)


@pytest.mark.parametrize(
    "seqs, needles",
    [
        ([[0], [1, 0]], ["machine 0's sequence misses job 1"]),
        ([[0, 0], [1, 0]], ["machine 0 lists job 0 twice (positions 0 and 1)"]),
        ([[0, 2], [1, 0]], ["machine_sequences[0][1] = 2 is not a job; jobs are 0..1"]),
        ([[0, 1.0], [1, 0]], ["machine_sequences[0][1] is 1.0, not an integer"]),
        ([[0, 1]], ["machine_sequences has 1 lists; the instance has 2 machines"]),
        ([[0, 1], [1, 0], []], ["machine_sequences has 3 lists"]),
        ([[0, -1], [1, 0]], ["machine_sequences[0][1] = -1 is not a job"]),
    ],
)
def test_bad_machine_sequences(two, seqs, needles):
    _rejected(_v(two, {"machine_sequences": seqs}), *needles)


@pytest.mark.parametrize(
    "text, needle",
    [
        ('{"machine_sequences": [[0, 1], [1, 0]], "start_times": [[0, 4], [0, 4]]}', "exactly one of the keys"),
        ('{"makespan": 1}', "exactly one of the keys"),
        ("[[0, 1], [1, 0]]", "must be a JSON object"),
        ('{"machine_sequences": [[0, 1], [1, 0]]} x', "trailing data"),
        ('{"start_times": [[0, 4], [0, 4]], "start_times": [[0, 4], [0, 4]]}', "duplicate key"),
        ('{"start_times": [[0, NaN], [0, 4]]}', "start_times[0][1] is NaN"),
    ],
)
def test_malformed_json(two, text, needle):
    _rejected(two.verify(text), needle)


def test_huge_json_is_refused_before_parsing(two):
    text = '{"start_times": [[' + ", ".join(["0"] * 3_000_000) + "]]}"
    _rejected(two.verify(text), "larger than the 4 MiB cap")


# -- instance files -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, needle",
    [
        ("", "the file is empty"),
        ("2\n0 3 1 2\n1 4 0 1\n", "line 1: the first line must be two integers"),
        ("3 2\n0 3 1 2\n1 4 0 1\n", "the header says 3 jobs but the file has 2 job lines"),
        ("2 2\n0 3 1\n1 4 0 1\n", "line 2 (job 0): 3 numbers"),
        ("2 2\n0 3 2 2\n1 4 0 1\n", "line 2 (job 0): operation 1 uses machine 2; machines are 0..1"),
        ("2 2\n0 3 0 2\n1 4 0 1\n", "operations 0 and 1 both use machine 0"),
        ("2 2\n0 3 1 -2\n1 4 0 1\n", "operation 1 has duration -2"),
        ("2 2\n0 3 1 2.5\n1 4 0 1\n", "'2.5' is not an integer"),
    ],
)
def test_malformed_instance_files_are_one_sentence(text, needle):
    with pytest.raises(jssp.InstanceError) as e:
        parse_instance(text, "mine.txt")
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_missing_instance_file(tmp_path):
    with pytest.raises(ValueError, match="instance_file .* does not exist"):
        JSSPVerifier(instance_file=str(tmp_path / "nope.txt"))


# -- ft06: the optimum, checked by the test's own simulator -------------------------------------------------
def test_ft06_optimum_both_forms(data):
    v = JSSPVerifier(instance="ft06", data_dir=str(data))
    inst = v.instance
    assert sim_check(inst.machines, inst.durations, FT06_OPT_STARTS) == 55  # the published optimum
    got = _v(v, {"start_times": FT06_OPT_STARTS})
    assert got.accepted and got.score == 55.0 and got.details["gap_to_ub_pct"] == 0.0
    assert got.details["optimal_known"] and got.details["lb"] == got.details["ub"] == 55
    # the machine order of that schedule, as sequences: the semi-active schedule cannot be later (≤ 55) and
    # nothing beats the optimum (≥ 55)
    seqs = [
        [j for _, j in sorted((FT06_OPT_STARTS[j][list(inst.machines[j]).index(m)], j) for j in range(inst.n_jobs))]
        for m in range(inst.n_machines)
    ]
    assert _v(v, {"machine_sequences": seqs}).score == 55.0
    assert sim_check(inst.machines, inst.durations, sim_semi_active(inst.machines, inst.durations, seqs)) == 55


def test_semi_active_schedules_match_an_independent_simulator(data):
    """Random dispatch orders on la01 (10 × 5) and ft06: the verifier's schedule equals the fixpoint one."""
    rng = random.Random(5)
    for name in ("la01", "ft06"):
        v = JSSPVerifier(instance=name, data_dir=str(data))
        inst = v.instance
        for _ in range(20):
            nxt = [0] * inst.n_jobs
            seqs = [[] for _ in range(inst.n_machines)]
            while any(k < inst.n_machines for k in nxt):  # dispatch a random job's next operation
                j = rng.choice([j for j in range(inst.n_jobs) if nxt[j] < inst.n_machines])
                seqs[inst.machines[j][nxt[j]]].append(j)
                nxt[j] += 1
            got = _v(v, {"machine_sequences": seqs})
            expect = sim_semi_active(inst.machines, inst.durations, seqs)
            assert got.details["start_times"] == expect
            assert got.score == sim_check(inst.machines, inst.durations, expect)
            assert got.score >= inst.ub


# -- programs ---------------------------------------------------------------------------------------------
JOB_ORDER_PROGRAM = """
def run(instance, budget_s, seed):
    n, m = instance["n_jobs"], instance["n_machines"]
    return {"machine_sequences": [list(range(n)) for _ in range(m)]}
"""


def test_program_is_scored(two):
    got = two.verify(JOB_ORDER_PROGRAM)
    assert got.accepted and got.score == 10.0 and got.details["artifact_kind"] == "program"  # SLOW_SEQS by hand
    assert got.details["isolation"]["level"]


def test_program_returning_numpy_gets_a_clear_message(two):
    src = "import numpy as np\ndef run(instance, budget_s, seed):\n    return {'start_times': np.zeros((2, 2), int)}\n"
    _rejected(two.verify(src), "not JSON serializable", "tolist()")


def test_program_returning_floats_is_rejected_by_place(two):
    src = "def run(instance, budget_s, seed):\n    return {'start_times': [[0, 4.0], [0, 4]]}\n"
    _rejected(two.verify(src), "start_times[0][1] is 4.0, not an integer")


def test_program_with_huge_output_is_rejected(two):
    src = "def run(instance, budget_s, seed):\n    return {'start_times': [[0] * 3_000_000]}\n"
    _rejected(two.verify(src), "larger than the 4 MiB cap")


@pytest.mark.parametrize(
    "src",
    [
        "import ortools\ndef run(instance, budget_s, seed):\n    pass\n",
        "from ortools.sat.python import cp_model\ndef run(instance, budget_s, seed):\n    pass\n",
        "def run(instance, budget_s, seed):\n    import pyvrp\n",
    ],
)
def test_program_importing_a_solver_is_refused_before_running(two, src):
    got = _rejected(two.verify(src), "a solver package", "numpy and scipy only")
    assert got.status == "rejected" and "isolation" not in got.details


def test_solver_hidden_at_run_time_too(two):
    """A dynamic import gets one sentence from the sandbox, whatever the host has installed."""
    src = (
        "def run(instance, budget_s, seed):\n    import importlib\n"
        "    importlib.import_module('ort' + 'ools.sat.python.cp_model')\n"
    )
    _rejected(two.verify(src), "No module named 'ortools", "not available in the sandbox")


def test_solver_directory_is_empty_in_the_sandbox(two):
    """Even a program that removes the import guard finds nothing: the package directory is empty there."""
    pytest.importorskip("ortools")
    src = (
        "import sys, os, importlib\ndef run(instance, budget_s, seed):\n    sys.meta_path[:] = [f for f in "
        "sys.meta_path if type(f).__name__ != '_RefuseSolvers']\n    pkg = importlib.import_module('ort' + 'ools')\n"
        "    print(sorted(os.listdir(list(pkg.__path__)[0])))\n"
        "    importlib.import_module('ort' + 'ools.sat.python.cp_model')\n"
    )
    got = _rejected(two.verify(src), "No module named 'ortools.sat'")
    assert got.details["stdout"].strip() == "[]"


def test_cycle_detection_agrees_with_the_simulator(tmp_path):
    """Random machine orders on a 3 × 3 instance: accepted exactly when the fixpoint simulator settles, with
    its makespan; otherwise rejected as cyclic."""
    text = "3 3\n0 2 1 3 2 1\n1 2 2 2 0 4\n2 3 0 1 1 2\n"
    path = tmp_path / "three.txt"
    path.write_text(text)
    v = JSSPVerifier(instance_file=str(path), data_dir=str(tmp_path / "no-data"))
    machines = [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
    durations = [[2, 3, 1], [2, 2, 4], [3, 1, 2]]
    rng = random.Random(3)
    seen = {True: 0, False: 0}
    for _ in range(200):
        seqs = [rng.sample(range(3), 3) for _ in range(3)]
        got = _v(v, {"machine_sequences": seqs})
        try:
            starts = sim_semi_active(machines, durations, seqs)
        except AssertionError:
            starts = None
        seen[starts is not None] += 1
        if starts is None:
            _rejected(got, "cyclic")
        else:
            assert got.accepted and got.score == sim_check(machines, durations, starts)
    assert seen[True] > 20 and seen[False] > 20


# -- zero-length operations (orb07 has one) ----------------------------------------------------------------
# Job 0: machine 0 for 5, then machine 1 for 1. Job 1: machine 1 for 1, then machine 0 for 0 (zero length).
ZERO_OP = "2 2\n0 5 1 1\n1 1 0 0\n"


@pytest.fixture()
def zero(tmp_path):
    path = tmp_path / "zero.txt"
    path.write_text(ZERO_OP)
    return JSSPVerifier(instance_file=str(path), data_dir=str(tmp_path / "no-data"))


def test_zero_length_operation_inside_a_run_is_rejected_by_name(zero):
    # job 1's zero-length operation at 1, 2, 3 or 4 sits strictly inside job 0's run [0, 5) on machine 0
    for t in (1, 2, 4):
        _rejected(
            _v(zero, {"start_times": [[0, 5], [0, t]]}),
            "job 1 (operation 1) has length 0",
            f"starts at {t}",
            "[0, 5)",
            "at or before 0 or at or after 5",
        )


def test_zero_length_operation_at_a_run_boundary_is_accepted(zero):
    # at the run's end: makespan max(0+5, 5+1, 5+0) = 6 by hand; at 6 or later it only idles
    got = _v(zero, {"start_times": [[0, 5], [0, 5]]})
    assert got.accepted and got.score == 6
    got = _v(zero, {"start_times": [[0, 5], [0, 9]]})
    assert got.accepted and got.score == 9
    # the semi-active schedule of machine 0 = [job 0, job 1] puts it at 5 too
    got = _v(zero, {"machine_sequences": [[0, 1], [1, 0]]})
    assert got.accepted and got.score == 6 and got.details["start_times"] == [[0, 5], [0, 5]]
    # machine 0 = [job 1, job 0]: the zero-length operation (ready at 1) goes first, job 0 waits for it
    got = _v(zero, {"machine_sequences": [[1, 0], [1, 0]]})
    assert got.accepted and got.details["start_times"] == [[1, 6], [0, 1]] and got.score == 7


def test_cpsat_applies_the_same_zero_length_rule():
    """The rule is the one OR-Tools CP-SAT applies: a zero-size interval strictly inside a 5-long one is
    infeasible under no-overlap, at either end it is feasible."""
    cp_model = pytest.importorskip("ortools.sat.python.cp_model")

    def status(at):
        m = cp_model.CpModel()
        a = m.new_interval_var(0, 5, 5, "a")
        s = m.new_int_var(0, 10, "s")
        m.add_no_overlap([a, m.new_interval_var(s, 0, s, "b")])
        m.add(s == at)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        return solver.status_name(solver.solve(m))

    assert [status(t) for t in (0, 1, 4, 5)] == ["OPTIMAL", "INFEASIBLE", "INFEASIBLE", "OPTIMAL"]


def test_cpsat_schedule_for_orb07_is_accepted(data, monkeypatch):
    """orb07 holds a zero-length operation (job 9's last, on machine 0); CP-SAT's schedule passes our verifier
    at the proven optimum 397, and an independent check finds that operation outside every run on machine 0."""
    pytest.importorskip("ortools")
    from agents.baselines import baseline

    monkeypatch.setenv("TTTD_DATA_DIR", str(data))
    row = baseline("JSSP-v0")({"instance": "orb07", "workers": 2}, 10.0, 0)
    inst = jssp.load_instance("orb07", str(data))
    zero_ops = [(j, k) for j in range(inst.n_jobs) for k in range(inst.n_machines) if inst.durations[j][k] == 0]
    assert zero_ops == [(9, 9)] and inst.machines[9][9] == 0
    starts = row["solution"]["start_times"]
    t = starts[9][9]
    for j in range(inst.n_jobs):
        k = inst.machines[j].index(0)
        if j != 9:
            assert not starts[j][k] < t < starts[j][k] + inst.durations[j][k]
    again = _v(JSSPVerifier(instance="orb07", data_dir=str(data)), {"start_times": starts})
    assert again.accepted and again.score == row["cost"] == max(
        s + d for r, ds in zip(starts, inst.durations) for s, d in zip(r, ds)
    )
    if row["status"] == "OPTIMAL":
        assert row["cost"] == 397 == inst.ub
