"""The PUCT archive against hand-computed scores and picks (docs/agent.md#one-step)."""

import math
import random

import pytest

from agents.puct import Archive, ArchiveConfig


def st(sid, value, parent=None, lineage=(), construction=None, timestep=0):
    c = construction if construction is not None else [sid]
    return {
        "id": sid,
        "problem": "P",
        "artifact": f"art-{sid}",
        "construction": c,
        "value": value,
        "score": -value if value is not None else None,
        "parent_id": parent,
        "lineage": list(lineage),
        "timestep": timestep,
    }


@pytest.fixture
def small():
    """I (initial, value 1) → A (3), B (2); A → C (4); one failed rollout from B."""
    a = Archive(ArchiveConfig(c=1.0))
    a.add_initial(st("I", 1.0))
    assert a.record("I", st("A", 3.0, "I", ["I"])) is True
    assert a.record("I", st("B", 2.0, "I", ["I"])) is True
    assert a.record("A", st("C", 4.0, "A", ["I", "A"])) is True
    assert a.record("B", None) is False  # failed rollout: visits only
    return a


def test_visits_propagate_to_ancestors_and_failures_count(small):
    assert small.T == 4
    assert small.n == {"I": 4, "A": 1, "B": 1, "C": 0}
    assert small.m == {"I": 3.0, "A": 4.0, "B": None, "C": None}


def test_scores_by_hand(small):
    # N = 4; ranks by value C0 A1 B2 I3 → P = (N − rank)/10 = C .4, A .3, B .2, I .1
    # scale = max − min over non-initial values (4, 3, 2) = 2; sqrt(1 + T) = sqrt(5)
    # Q: I → m = 3, A → m = 4, B expanded but no valid child → its value 2, C unexpanded → 4
    s5 = math.sqrt(5)
    expected = {
        "I": 3 + 2 * 0.1 * s5 / 5,
        "A": 4 + 2 * 0.3 * s5 / 2,
        "B": 2 + 2 * 0.2 * s5 / 2,
        "C": 4 + 2 * 0.4 * s5 / 1,
    }
    assert expected["C"] == pytest.approx(5.7888544, abs=1e-7)  # worked on paper
    sc = small.scores()
    for k, v in expected.items():
        assert sc[k] == pytest.approx(v, abs=1e-12), k


def test_selection_blocks_whole_lineages(small):
    # score order C > A > I > B; C blocks its ancestors A and I, so the second pick is B
    assert [s["id"] for s in small.select(2)] == ["C", "B"]
    assert [s["id"] for s in small.select(1)] == ["C"]


def test_fill_repeat_and_shrink(small):
    # after C and B every state is blocked: "repeat" cycles through the picks, "shrink" returns fewer
    assert [s["id"] for s in small.select(3)] == ["C", "B", "C"]
    assert [s["id"] for s in small.select(5)] == ["C", "B", "C", "B", "C"]
    small.config.fill = "shrink"
    assert [s["id"] for s in small.select(3)] == ["C", "B"]


def test_descendants_are_blocked_too():
    a = Archive(ArchiveConfig(c=0.0))  # c = 0: pure exploitation, order by Q
    a.add_initial(st("I", 5.0))
    a.record("I", st("A", 1.0, "I", ["I"]))
    # Q(I) = m(I) = 1 and Q(A) = 1 (unexpanded: its own value); the tie goes to the higher value, I,
    # and A (I's descendant) is then blocked: with "shrink" only one state is returned
    a.config.fill = "shrink"
    assert [s["id"] for s in a.select(2)] == ["I"]


def test_dedup_by_construction_and_topk_children():
    a = Archive(ArchiveConfig(topk_children=2))
    a.add_initial(st("I", 0.0))
    assert a.record("I", st("A", 1.0, "I", ["I"], construction=[1, 2])) is True
    # a different program producing the same construction is a duplicate: counted, not inserted
    assert a.record("I", st("A2", 1.5, "I", ["I"], construction=[1, 2])) is False
    assert set(a.states) == {"I", "A"} and a.n["I"] == 2 and a.m["I"] == 1.5
    assert a.record("I", st("B", 3.0, "I", ["I"])) is True
    # third child of I: only the best two children (B 3.0, C 2.0) survive, A (1.0) is dropped
    assert a.record("I", st("C", 2.0, "I", ["I"])) is True
    assert set(a.states) == {"I", "B", "C"}
    # a worse fourth child is not kept
    assert a.record("I", st("D", 0.5, "I", ["I"])) is False
    assert set(a.states) == {"I", "B", "C"}


def test_cap_evicts_by_value_never_initial_states():
    a = Archive(ArchiveConfig(cap=3, topk_children=10))
    a.add_initial(st("I", -10.0))  # the worst state, but initial
    for sid, v in [("A", 1.0), ("B", 2.0), ("C", 3.0)]:
        a.record("I", st(sid, v, "I", ["I"]))
    assert set(a.states) == {"I", "B", "C"}
    a.record("I", st("D", 0.5, "I", ["I"]))  # worse than everything evictable: not kept
    assert set(a.states) == {"I", "B", "C"}


def test_greedy_and_fixed_samplers(small):
    small.config.sampler = "greedy"
    assert [s["id"] for s in small.select(3)] == ["C", "A", "B"]
    small.config.greedy_eps = 1.0  # always random
    picks = [s["id"] for s in small.select(50, rng=random.Random(1))]
    assert set(picks) == {"I", "A", "B", "C"}
    small.config.sampler = "fixed"
    assert [s["id"] for s in small.select(2)] == ["I", "I"]
    small.config.sampler = "nope"
    with pytest.raises(ValueError, match="unknown sampler"):
        small.select(1)


def test_scale_uses_all_states_when_only_initial_and_is_floored():
    a = Archive(ArchiveConfig())
    a.add_initial(st("I", 2.0))
    a.add_initial(st("J", 2.0))
    # both initial with the same value: scale floored at 1e-6, P = (2, 1)/3 by rank (ties by insertion)
    sc = a.scores()
    assert sc["I"] == pytest.approx(2.0 + 1e-6 * (2 / 3) * 1.0, abs=1e-15)
    assert sc["J"] == pytest.approx(2.0 + 1e-6 * (1 / 3) * 1.0, abs=1e-15)


def test_round_trip_through_records(small):
    b = Archive.from_records(small.to_records(), small.config)
    assert b.scores() == small.scores() and b.T == small.T and b.initial == small.initial
    assert [s["id"] for s in b.select(2)] == ["C", "B"]


def test_group_visits_option_divides_visits_by_the_group_size(small):
    """puct_group_visits (visit_unit G = 2): sqrt(1 + T/G) / (1 + n/G), upstream's formula without its
    G = 1 override. T = 4 → sqrt(3); n: I 4 → 3, A 1 → 1.5, B 1 → 1.5, C 0 → 1 (P, Q, scale as above)."""
    small.config.visit_unit = 2
    s3 = math.sqrt(3)
    expected = {
        "I": 3 + 2 * 0.1 * s3 / 3,
        "A": 4 + 2 * 0.3 * s3 / 1.5,
        "B": 2 + 2 * 0.2 * s3 / 1.5,
        "C": 4 + 2 * 0.4 * s3 / 1,
    }
    assert expected["C"] == pytest.approx(5.3856406, abs=1e-7)  # worked on paper
    sc = small.scores()
    for k, v in expected.items():
        assert sc[k] == pytest.approx(v, abs=1e-12), k


class _FakeEnv:
    """reset(seed) → a state whose construction depends on the seed (random) or not (fixed)."""

    def __init__(self, fixed: bool) -> None:
        self.fixed = fixed

    def reset(self, seed=None, options=None):
        c = [0.5] if self.fixed else [seed % 1000]
        return {}, {"state": st(f"init-{c[0]}", 0.0, construction=c)}


def _distinct_starts_per_step(archive: Archive, steps: int = 4, groups: int = 8) -> list[int]:
    """Every pick gets two valid children (values rising with depth); returns distinct picks per step."""
    out = []
    for t in range(1, steps + 1):
        picks = archive.select(groups)
        out.append(len({p["id"] for p in picks}))
        for g, p in enumerate(picks):
            for j in range(2):
                cid = f"{p['id']}/{t}.{g}.{j}"
                archive.record(
                    p["id"], st(cid, p["value"] + 1 + 0.1 * j + 0.01 * g, p["id"], [*p["lineage"], p["id"]], timestep=t)
                )
    return out


def test_the_archive_starts_from_one_state_per_group():
    """As the reference (one initial state per group): step 1 expands 8 separate trees. With a
    single initial state lineage blocking gives 1, 2, 4, 8 distinct start states in steps 1–4
    (each step only the children of the previous picks are unblocked: 1 root → 2 children → 4 → 8)."""
    from agents.loop import initial_states

    one = Archive(ArchiveConfig())
    one.add_initial(st("root", 0.0))
    assert _distinct_starts_per_step(one) == [1, 2, 4, 8]

    inits = initial_states(_FakeEnv(fixed=False), seed=0, groups=8)
    assert len(inits) == 8 and len({s["id"] for s in inits}) == 8
    many = Archive(ArchiveConfig())
    for s in inits:
        many.add_initial(s)
    assert len(many.initial) == 8
    assert _distinct_starts_per_step(many) == [8, 8, 8, 8]


def test_identical_initial_states_stay_separate_entries():
    """A fixed start (the same construction every reset) still gives one archive entry per group:
    the slot goes into the id, so step 1 expands `groups` trees, as the reference's copies do."""
    from agents.loop import initial_states

    inits = initial_states(_FakeEnv(fixed=True), seed=0, groups=3)
    assert [s["id"] for s in inits] == ["init-0.5", "init-0.5-1", "init-0.5-2"]
    a = Archive(ArchiveConfig())
    for s in inits:
        a.add_initial(s)
    assert [p["id"] for p in a.select(3)] == ["init-0.5", "init-0.5-1", "init-0.5-2"]
