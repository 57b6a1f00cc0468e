"""Every row of the hack table (docs/molecules.md#known-hacks-and-their-guards) against the guard it names, plus the
reason codes of docs/molecules.md#from-a-string-to-a-key and the action-level rejections of
docs/molecules.md#the-action/"""

import json

import pytest
from rdkit import Chem, rdBase
from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions

from verifiers.molecules import objectives, pipeline
from verifiers.molecules.verifier import MoleculeVerifier

ALBUTEROL_FORMS = [
    "CC(C)(C)[NH2+]CC(O)c1ccc(O)c(CO)c1",
    "CC(C)(C)NC[C@H](O)c1ccc(O)c(CO)c1",
    "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",
]


@pytest.fixture(scope="module")
def qed():
    return MoleculeVerifier("MolQED-v0", budget=1000)


def items(v, batch):
    v.start_run()
    return v.verify(json.dumps(batch)).details["items"]


@pytest.mark.parametrize(
    "smiles,reason",
    [
        ("", "empty"),
        ("CC.O", "multi_fragment"),
        ("*C", "element"),
        ("[CH3]", "radical"),
        ("[Se]", "element"),
        ("[2H]C(Cl)(Cl)Cl", "isotope"),
        ("C[N+](C)(C)C", "charge"),
        ("C" * 201, "too_long"),
        ("C" * 51, "too_large"),
        ("C\u200bC", "bad_chars"),
        ("C\tC", "bad_chars"),
        ("C(C", "invalid_smiles"),
        ("[SiH4]", "element"),
        ("CC[Na]", "element"),
        ("[H][H]", "element"),
        ("C1.C1", "multi_fragment"),
        ("c1cc[n+](C)cc1", "charge"),
    ],
)
def test_reason_codes(qed, smiles, reason):
    rec = items(qed, [smiles])[0]
    assert (rec["status"], rec["reason"], rec["charged"]) == ("rejected", reason, False)


def test_not_string_items(qed):
    assert [r["reason"] for r in items(qed, [3, None, True])] == ["not_string"] * 3


def test_invalid_smiles_names_the_rdkit_problem(qed):
    assert "AtomValenceException" in items(qed, ["CC(C)(C)(C)(C)C"])[0]["message"]


# -- hack rows ---------------------------------------------------------------------------------------
def test_giant_chains_are_capped():
    plogp = MoleculeVerifier("MolPLogPCapped-v0", budget=10)
    s38, s39, p = items(plogp, ["S" * 38, "S" * 39, "CCP"])
    assert s38["status"] == "scored" and s38["score"] == pytest.approx(13.09, abs=0.005)  # docs/molecules.md#tasks
    assert s39["reason"] == "too_large" and p["reason"] == "element"
    qed = MoleculeVerifier("MolQED-v0", budget=10)
    assert items(qed, ["S" * 51])[0]["reason"] == "too_large"


def test_expensive_inputs_never_reach_rdkit(monkeypatch):
    """200-character cap before parsing: MolFromSmiles must not be called (inline executor)."""
    v = MoleculeVerifier("MolQED-v0", budget=10, n_workers=0)
    calls = []
    real = Chem.MolFromSmiles
    monkeypatch.setattr(Chem, "MolFromSmiles", lambda *a, **k: calls.append(a) or real(*a, **k))
    rec = items(v, ["C" * 201])[0]
    assert rec["reason"] == "too_long" and calls == []


def test_pharmacophore_gate_stops_phco(monkeypatch):
    from rdkit.Chem.Pharm2D import Generate

    v = MoleculeVerifier("MolHop-v0", task="scaffold", budget=10, n_workers=0)
    called = []
    monkeypatch.setattr(Generate, "Gen2DFingerprint", lambda *a, **k: called.append(1))
    rec = items(v, ["C" + "C(N)" * 19])[0]
    assert rec["reason"] == "too_complex" and called == []


def test_k_cap_and_action_size_cap(qed):
    batch = [f"C{'C' * (i % 30)}O{'C' * (i // 30)}" for i in range(150)]
    recs = items(qed, batch)
    assert len(recs) == 150 and sum(r["status"] == "over_k" for r in recs) == 50
    assert all(r["status"] != "over_k" for r in recs[:100])
    big = json.dumps(["C" * 180] * 400)
    assert len(big.encode()) > 65536
    verdict = qed.verify(big)
    assert not verdict.accepted and "64 KiB" in verdict.message


def test_action_of_65537_bytes_is_rejected(qed):
    text = json.dumps(["CCO"]) + " " * (65537 - len(json.dumps(["CCO"])))
    assert len(text.encode()) == 65537
    verdict = qed.verify(text)
    assert verdict.status == "rejected" and "64 KiB" in verdict.message


def test_stereo_twins_are_one_key():
    v = MoleculeVerifier("MolSimilarity-v0", task="mestranol", budget=100)
    isomers = [
        Chem.MolToSmiles(m)
        for m in EnumerateStereoisomers(
            Chem.MolFromSmiles(objectives.REFERENCE_MOLECULES["mestranol"]),
            StereoEnumerationOptions(onlyUnassigned=False),
        )
    ]
    assert len(set(isomers)) == 32
    recs = items(v, isomers)
    assert len({r["key"] for r in recs}) == 1 and v.ledger.used == 1
    assert sum(r["status"] == "scored" for r in recs) == 1 and all(r["score"] == 1.0 for r in recs)


def test_protonation_twins_are_one_key():
    v = MoleculeVerifier("MolSimilarity-v0", budget=100)
    recs = items(v, ALBUTEROL_FORMS)
    assert {r["key"] for r in recs} == {"CC(C)(C)NCC(O)c1ccc(O)c(CO)c1"} and v.ledger.used == 1
    assert [r["status"] for r in recs] == ["scored", "cached", "cached"]


def test_tautomers_are_not_merged_and_the_statement_says_so():
    import gymnasium as gym

    import tttd_envs  # noqa: F401

    v = MoleculeVerifier("MolQED-v0", budget=100)
    recs = items(v, ["Oc1ccccn1", "O=c1cccc[nH]1"])
    assert recs[0]["key"] != recs[1]["key"] and v.ledger.used == 2
    env = gym.make("MolQED-v0", budget=100)
    assert "tautomers are NOT merged" in env.reset(seed=0)[0]["prompt"]


def test_unstable_key_is_rejected(monkeypatch):
    v = MoleculeVerifier("MolQED-v0", budget=10, n_workers=0)
    real, n = Chem.MolToSmiles, []

    def flaky(mol, **kw):
        n.append(1)
        out = real(mol, **kw)
        return out if len(n) % 2 else out + "C"  # the round trip disagrees

    monkeypatch.setattr(Chem, "MolToSmiles", flaky)
    assert items(v, ["CCO"])[0]["reason"] == "unstable_key"


def test_canonical_round_trip_is_stable_on_zinc():
    from pathlib import Path

    rows = json.loads((Path(__file__).parent / "data" / "mol_golden_v0.json").read_text())["inputs"]
    for key in [r["key"] for r in rows if r["key"]]:
        assert Chem.MolToSmiles(Chem.MolFromSmiles(key), isomericSmiles=False) == key


def test_repeats_earn_nothing():
    import gymnasium as gym

    import tttd_envs  # noqa: F401

    env = gym.make("MolQED-v0", budget=100)
    env.reset(seed=0)
    assert env.step('["CC(=O)Oc1ccccc1C(=O)O"]')[1] > 0
    _, r, _, _, info = env.step('["CC(=O)Oc1ccccc1C(=O)O", "OC(=O)c1ccccc1OC(C)=O"]')
    assert r == 0.0 and info["run"]["budget_used"] == 1


def test_one_good_molecule_then_stop_is_not_rewarded_by_padding():
    import gymnasium as gym

    import tttd_envs  # noqa: F401

    env = gym.make("MolQED-v0", budget=100)
    env.reset(seed=0)
    env.step('["CC(=O)Oc1ccccc1C(=O)O"]')  # QED 0.5501217966938848
    info = env.step('{"stop": true}')[4]
    q = 0.5501217966938848
    assert info["final"]["auc_top10"] == pytest.approx((1 * q / 20 + 99 * q / 10) / 100, abs=1e-12)  # ≈ q/10, not ≈ q


def test_self_reported_scores_are_not_read(qed):
    qed.start_run()
    verdict = qed.verify('[{"smiles": "CCO", "score": 1.0}]')
    assert verdict.status == "rejected" and qed.ledger.used == 0
    assert "not read" in verdict.message


@pytest.mark.parametrize("action", ["hello", "CCO", '{"stop": false}', "42", "[", "```json\n{}\n```"])
def test_garbage_actions_are_rejected(qed, action):
    verdict = qed.verify(action)
    assert verdict.status == "rejected" and verdict.score is None


def test_smiles_block_is_accepted(qed):
    qed.start_run()
    verdict = qed.verify("Here you go:\n```smiles\nCCO\nc1ccccc1\n```")
    assert verdict.accepted and [r["key"] for r in verdict.details["items"]] == ["CCO", "c1ccccc1"]


def test_rdkit_pin(monkeypatch):
    monkeypatch.setattr(rdBase, "rdkitVersion", "2099.01.1")
    monkeypatch.delenv("TTTD_MOL_ALLOW_UNPINNED", raising=False)
    with pytest.raises(pipeline.MisconfiguredRDKit, match="pinned to 2026.09.1"):
        MoleculeVerifier("MolQED-v0")
    monkeypatch.setenv("TTTD_MOL_ALLOW_UNPINNED", "1")
    v = MoleculeVerifier("MolQED-v0", budget=10)
    assert v.verify('["CCO"]').details["verifier"]["pinned"] is False


def test_public_objectives_are_labelled_white_box():
    """docs/molecules.md#known-hacks-and-their-guards: a code action can recompute a public objective offline;
    the statement says so, and the hidden tasks (the guard for sample-efficiency claims) do not show their
    target."""
    import gymnasium as gym

    import tttd_envs  # noqa: F401

    public = gym.make("MolRediscovery-v0", task="celecoxib", budget=100).reset(seed=0)[0]["prompt"]
    hidden = gym.make("MolRediscovery-v0", task="hidden", budget=100).reset(seed=0)[0]["prompt"]
    assert "white-box" in public and objectives.REFERENCE_MOLECULES["celecoxib"] in public
    assert "white-box" not in hidden and "unknown drug-like" in hidden
