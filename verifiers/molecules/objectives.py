"""Scoring primitives and every task's objective (docs/molecules.md#tasks).

An objective is plain JSON data (``{"agg": ..., "terms": [...]}``), so a worker process can rebuild
it from a string, and the task statement can be written from the same data (:func:`describe`).
All arithmetic after the RDKit calls uses Python floats (no numpy): a score depends only on the
RDKit version. Scores are computed only from ``MolFromSmiles(key)`` (docs/molecules.md#from-a-string-to-a-key).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

# -- frozen constants (docs/molecules.md#tasks; a test recomputes them) ---------------------------------------------
LOGP_SITA = 2.0165
TPSA_SITA = 77.04
BERTZ_SITA = 896.380485387178

SITAGLIPTIN = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
T_HOP = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"

#: The reference molecules of docs/molecules.md#tasks (every target SMILES, sitagliptin once), verbatim from
#: GuacaMol v2.
REFERENCE_MOLECULES: dict[str, str] = {
    "celecoxib": "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",
    "troglitazone": "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",
    "thiothixene": "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1",
    "albuterol": "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",
    "mestranol": "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1",
    "aripiprazole": "Clc4cccc(N3CCN(CCCCOc2ccc1c(NC(=O)CC1)c2)CC3)c4Cl",
    "menthol": "CC(C)C1CCC(C)CC1O",
    "camphor": "CC1(C)C2CCC1(C)C(=O)C2",
    "tadalafil": "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C",
    "sildenafil": "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C",
    "osimertinib": "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34",
    "fexofenadine": "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4",
    "ranolazine": "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2",
    "perindopril": "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC",
    "amlodipine": "Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\\C(=O)OC",
    "zaleplon": "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1",
    "sitagliptin": SITAGLIPTIN,
    "hop": T_HOP,
}
R = REFERENCE_MOLECULES


def _sim(fp: str, target: str, mod: list[Any] | None = None) -> dict[str, Any]:
    return {"kind": "sim", "fp": fp, "target": target, "mod": mod or ["id"]}


def _prop(kind: str, mod: list[Any], **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "mod": mod, **kw}


def _isomer(formula: str) -> dict[str, Any]:
    return {"kind": "isomer", "formula": formula, "mod": ["id"]}


def _has(smarts: str, negate: bool = False) -> dict[str, Any]:
    return {"kind": "nothas" if negate else "has", "smarts": smarts, "mod": ["id"]}


def _obj(agg: str, *terms: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"agg": agg, "terms": list(terms), **extra}


_HOP_SCAFFOLD = "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12"

#: id -> task -> objective (public tasks). Hidden tasks are built by :func:`hidden_objective`.
OBJECTIVES: dict[str, dict[str, dict[str, Any]]] = {
    "MolQED-v0": {"qed": _obj("single", _prop("qed", ["id"]))},
    "MolRediscovery-v0": {t: _obj("single", _sim("ECFP4", R[t])) for t in ("celecoxib", "troglitazone", "thiothixene")},
    "MolSimilarity-v0": {
        "albuterol": _obj("single", _sim("FCFP4", R["albuterol"], ["clipped", 0.75])),
        "mestranol": _obj("single", _sim("AP", R["mestranol"], ["clipped", 0.75])),
        "aripiprazole": _obj("single", _sim("ECFP4", R["aripiprazole"], ["clipped", 0.75])),
    },
    "MolMedian-v0": {
        "median1": _obj("gmean", _sim("ECFP4", R["menthol"]), _sim("ECFP4", R["camphor"])),
        "median2": _obj("gmean", _sim("ECFP6", R["tadalafil"]), _sim("ECFP6", R["sildenafil"])),
    },
    "MolIsomers-v0": {
        "c11h24": _obj("single", _isomer("C11H24"), n_target=159),
        "c7h8n2o2": _obj("single", _isomer("C7H8N2O2"), n_target=100),
        "c9h10n2o2pf2cl": _obj("single", _isomer("C9H10N2O2PF2Cl"), n_target=250),
    },
    "MolPhyschemMPO-v0": {
        "osimertinib": _obj(
            "gmean",
            _sim("FCFP4", R["osimertinib"], ["clipped", 0.8]),
            _sim("ECFP6", R["osimertinib"], ["mingauss", 0.85, 0.1]),
            _prop("tpsa", ["maxgauss", 100, 10]),
            _prop("logp", ["mingauss", 1, 1]),
        ),
        "fexofenadine": _obj(
            "gmean",
            _sim("AP", R["fexofenadine"], ["clipped", 0.8]),
            _prop("tpsa", ["maxgauss", 90, 10]),
            _prop("logp", ["mingauss", 4, 1]),
        ),
        "ranolazine": _obj(
            "gmean",
            _sim("AP", R["ranolazine"], ["clipped", 0.7]),
            _prop("logp", ["maxgauss", 7, 1]),
            _prop("count", ["gauss", 1, 1], element="F"),
            _prop("tpsa", ["maxgauss", 95, 20]),
        ),
    },
    "MolScaffoldMPO-v0": {
        "perindopril": _obj("gmean", _sim("ECFP4", R["perindopril"]), _prop("n_arom_rings", ["gauss", 2, 0.5])),
        "amlodipine": _obj("gmean", _sim("ECFP4", R["amlodipine"]), _prop("n_rings", ["gauss", 3, 0.5])),
        "zaleplon": _obj("gmean", _sim("ECFP4", R["zaleplon"]), _isomer("C19H17N3O2")),
        "sitagliptin": _obj(
            "gmean",
            _sim("ECFP4", SITAGLIPTIN, ["gauss", 0, 0.1]),
            _prop("logp", ["gauss", LOGP_SITA, 0.2]),
            _prop("tpsa", ["gauss", TPSA_SITA, 5]),
            _isomer("C16H15F6N5O"),
        ),
    },
    "MolValsartanSMARTS-v0": {
        "valsartan": _obj(
            "gmean",
            _has("CN(C=O)Cc1ccc(c2ccccc2)cc1"),
            _prop("logp", ["gauss", LOGP_SITA, 0.2]),
            _prop("tpsa", ["gauss", TPSA_SITA, 5]),
            _prop("bertz", ["gauss", BERTZ_SITA, 30]),
        ),
    },
    "MolHop-v0": {
        "deco": _obj(
            "amean",
            _sim("PHCO", T_HOP, ["clipped", 0.85]),
            _has("CS([#6])(=O)=O", True),
            _has("[#7]-c1ccc2ncsc2c1", True),
            _has(_HOP_SCAFFOLD),
            max_features=40,
        ),
        "scaffold": _obj(
            "amean",
            _sim("PHCO", T_HOP, ["clipped", 0.75]),
            _has("[#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1"),
            _has(_HOP_SCAFFOLD, True),
            max_features=40,
        ),
    },
    "MolPLogPCapped-v0": {
        "plogp": _obj(
            "single",
            _prop("plogp", ["id"]),
            bounded=False,
            max_heavy=38,
            elements=["C", "N", "O", "S", "F", "Cl", "Br", "I"],
        )
    },
}

#: PMO/TDC oracle names accepted as task names (docs/molecules.md#tasks); the scoring stays this spec's.
ALIASES: dict[str, tuple[str, str]] = {
    "qed": ("MolQED-v0", "qed"),
    "celecoxib_rediscovery": ("MolRediscovery-v0", "celecoxib"),
    "troglitazone_rediscovery": ("MolRediscovery-v0", "troglitazone"),
    "thiothixene_rediscovery": ("MolRediscovery-v0", "thiothixene"),
    "albuterol_similarity": ("MolSimilarity-v0", "albuterol"),
    "mestranol_similarity": ("MolSimilarity-v0", "mestranol"),
    "isomers_c7h8n2o2": ("MolIsomers-v0", "c7h8n2o2"),
    "isomers_c9h10n2o2pf2cl": ("MolIsomers-v0", "c9h10n2o2pf2cl"),
    "osimertinib_mpo": ("MolPhyschemMPO-v0", "osimertinib"),
    "fexofenadine_mpo": ("MolPhyschemMPO-v0", "fexofenadine"),
    "ranolazine_mpo": ("MolPhyschemMPO-v0", "ranolazine"),
    "perindopril_mpo": ("MolScaffoldMPO-v0", "perindopril"),
    "amlodipine_mpo": ("MolScaffoldMPO-v0", "amlodipine"),
    "zaleplon_mpo": ("MolScaffoldMPO-v0", "zaleplon"),
    "sitagliptin_mpo": ("MolScaffoldMPO-v0", "sitagliptin"),
    "valsartan_smarts": ("MolValsartanSMARTS-v0", "valsartan"),
    "deco_hop": ("MolHop-v0", "deco"),
    "scaffold_hop": ("MolHop-v0", "scaffold"),
}

HIDDEN_FAMILIES = ("MolRediscovery-v0", "MolSimilarity-v0", "MolMedian-v0")


def tasks(env_id: str) -> list[str]:
    """The task names of an id, default first."""
    names = list(OBJECTIVES[env_id])
    return names + ["hidden"] if env_id in HIDDEN_FAMILIES else names


def resolve_task(env_id: str, task: str | None) -> str:
    """The canonical task name for `task` (None = default; PMO aliases accepted). Raises ValueError."""
    if task is None:
        return tasks(env_id)[0]
    if not isinstance(task, str):
        raise ValueError(f"task must be a string, not {type(task).__name__}")
    name = task.strip().lower()
    if name in tasks(env_id):
        return name
    if name in ALIASES and ALIASES[name][0] == env_id:
        return ALIASES[name][1]
    hint = f" (that task belongs to {ALIASES[name][0]})" if name in ALIASES else ""
    raise ValueError(f"{env_id} has no task {task!r}{hint}; choose one of: {', '.join(tasks(env_id))}")


def hidden_objective(env_id: str, targets: list[str]) -> dict[str, Any]:
    """The hidden-target objective of a family for the given target keys (docs/molecules.md#tasks)."""
    if env_id == "MolRediscovery-v0":
        return _obj("single", _sim("ECFP4", targets[0]))
    if env_id == "MolSimilarity-v0":
        return _obj("single", _sim("ECFP4", targets[0], ["clipped", 0.75]))
    if env_id == "MolMedian-v0":
        return _obj("gmean", _sim("ECFP4", targets[0]), _sim("ECFP4", targets[1]))
    raise ValueError(f"{env_id} has no hidden-target task")


# -- modifiers and aggregation (docs/molecules.md#tasks) -------------------------------------------------------------
def gaussian(mu: float, sigma: float, x: float) -> float:
    return math.exp(-0.5 * ((x - mu) / sigma) ** 2)


def modify(mod: list[Any], x: float) -> float:
    kind = mod[0]
    if kind == "id":
        return x
    if kind == "clipped":
        limit: float = mod[1]
        return min(1.0, max(0.0, x / limit))
    if kind == "gauss":
        return gaussian(mod[1], mod[2], x)
    if kind == "mingauss":
        return 1.0 if x <= mod[1] else gaussian(mod[1], mod[2], x)
    if kind == "maxgauss":
        return 1.0 if x >= mod[1] else gaussian(mod[1], mod[2], x)
    raise ValueError(f"unknown modifier {kind!r}")


def gmean(values: list[float]) -> float:
    """The running product in order, raised to 1.0/n (GuacaMol's geometric mean)."""
    prod = 1.0
    for v in values:
        prod *= v
    mean: float = prod ** (1.0 / len(values))  # typeshed types float ** float as Any (a complex for a negative base)
    return mean


def amean(values: list[float]) -> float:
    return sum(values) / len(values)


_FORMULA = re.compile(r"([A-Z][a-z]*)(\d*)")


def parse_formula(formula: str) -> list[tuple[str, int]]:
    """'C9H10N2O2PF2Cl' -> [('C', 9), ('H', 10), ...] in the order written (empty count = 1)."""
    return [(e, int(n) if n else 1) for e, n in _FORMULA.findall(formula)]


# -- fingerprints (docs/molecules.md#tasks) --------------------------------------------------------------------------
def fingerprint_fn(kind: str) -> Callable[[Any], Any]:
    """mol -> fingerprint, through RDKit's generator API (PHCO: Gobbi 2D pharmacophores)."""
    from rdkit.Chem import rdFingerprintGenerator as gen

    if kind == "ECFP4":
        return gen.GetMorganGenerator(radius=2).GetSparseCountFingerprint
    if kind == "ECFP6":
        return gen.GetMorganGenerator(radius=3).GetSparseCountFingerprint
    if kind == "FCFP4":
        return gen.GetMorganGenerator(
            radius=2, atomInvariantsGenerator=gen.GetMorganFeatureAtomInvGen()
        ).GetSparseCountFingerprint
    if kind == "AP":
        return gen.GetAtomPairGenerator(maxDistance=10).GetSparseCountFingerprint
    if kind == "PHCO":
        from rdkit.Chem.Pharm2D import Generate, Gobbi_Pharm2D

        # rdkit-stubs leave Gen2DFingerprint unannotated
        return lambda mol: Generate.Gen2DFingerprint(mol, Gobbi_Pharm2D.factory)  # type: ignore[no-untyped-call]
    raise ValueError(f"unknown fingerprint {kind!r}")


def element_count(mol: Any, element: str) -> int:
    from rdkit import Chem

    if element == "H":
        mol = Chem.AddHs(mol)
    return sum(1 for a in mol.GetAtoms() if a.GetSymbol() == element)


def isomer_score(formula: str, mol: Any) -> float:
    """GuacaMol's IsomerScoringFunction (geometric mean); the atom total includes hydrogens."""
    from rdkit import Chem

    parsed = parse_formula(formula)
    terms = [gaussian(n, 1.0, element_count(mol, e)) for e, n in parsed]
    terms.append(gaussian(sum(n for _, n in parsed), 2.0, Chem.AddHs(mol).GetNumAtoms()))
    return gmean(terms)


def is_isomer_hit(formula: str, mol: Any) -> bool:
    """Exact formula: every element count matches and no other element is present (docs/molecules.md#tasks)."""
    from rdkit import Chem

    counts: dict[str, int] = {}
    for a in Chem.AddHs(mol).GetAtoms():
        counts[a.GetSymbol()] = counts.get(a.GetSymbol(), 0) + 1
    return counts == dict(parse_formula(formula))


_SA: Any = None  # the sascorer module (RDKit Contrib, untyped), imported on first use


def sa_score(mol: Any) -> float:
    global _SA
    if _SA is None:
        import os
        import sys

        from rdkit import RDConfig

        sys.path.append(os.path.join(RDConfig.RDContribDir, "SA_Score"))
        import sascorer

        _SA = sascorer
    score: float = _SA.calculateScore(mol)
    return score


def plogp(mol: Any) -> float:
    """Penalised logP with TDC's ZINC250k normalisation; ring size from RDKit SSSR (docs/molecules.md#tasks)."""
    from rdkit.Chem import Descriptors

    rings = mol.GetRingInfo().AtomRings()
    largest = max((len(r) for r in rings), default=0)
    cyc = max(0, largest - 6)
    # Descriptors.MolLogP is assigned at import time, so rdkit-stubs do not declare it
    value: float = (
        (Descriptors.MolLogP(mol) - 2.4570953396190123) / 1.434324401111988  # type: ignore[attr-defined]
        + (-sa_score(mol) + 3.0525811293166134) / 0.8335207024513095
        + (-cyc + 0.0485696876403053) / 0.2860212110245455
    )
    return value


def _property_fn(term: dict[str, Any]) -> Callable[[Any], float]:
    from rdkit import Chem
    from rdkit.Chem import QED, Descriptors, rdMolDescriptors

    kind = term["kind"]
    if kind == "sim":
        from rdkit import DataStructs

        fp = fingerprint_fn(term["fp"])
        target = fp(Chem.MolFromSmiles(term["target"]))
        return lambda mol: DataStructs.TanimotoSimilarity(fp(mol), target)
    if kind in ("has", "nothas"):
        pattern = Chem.MolFromSmarts(term["smarts"])
        hit = 1.0 if kind == "has" else 0.0
        return lambda mol: hit if mol.HasSubstructMatch(pattern) else 1.0 - hit
    # MolLogP and TPSA are assigned in rdkit.Chem.Descriptors at import time, so rdkit-stubs do not declare them
    simple: dict[str, Callable[[Any], float]] = {
        "qed": QED.qed,
        "logp": Descriptors.MolLogP,  # type: ignore[attr-defined]
        "tpsa": Descriptors.TPSA,  # type: ignore[attr-defined]
        "bertz": Descriptors.BertzCT,
        "n_rings": rdMolDescriptors.CalcNumRings,
        "n_arom_rings": rdMolDescriptors.CalcNumAromaticRings,
        "plogp": plogp,
    }
    if kind in simple:
        return simple[kind]
    if kind == "count":
        return lambda mol: element_count(mol, term["element"])
    if kind == "isomer":
        return lambda mol: isomer_score(term["formula"], mol)
    raise ValueError(f"unknown objective term {kind!r}")


def build(objective: dict[str, Any]) -> Callable[[str], float]:
    """key -> raw score for one objective; target fingerprints are computed once, here."""
    from rdkit import Chem

    terms = [(_property_fn(t), t["mod"]) for t in objective["terms"]]
    agg = {"single": lambda v: v[0], "gmean": gmean, "amean": amean}[objective["agg"]]

    def score(key: str) -> float:
        mol = Chem.MolFromSmiles(key)
        return float(agg([modify(mod, float(fn(mol))) for fn, mod in terms]))

    return score


# -- words (task statements are written from the same data) ---------------------------------------
_FP_WORDS = {
    "ECFP4": "ECFP4 (Morgan radius 2, sparse counts)",
    "ECFP6": "ECFP6 (Morgan radius 3, sparse counts)",
    "FCFP4": "FCFP4 (feature Morgan radius 2, sparse counts)",
    "AP": "atom pairs (max distance 10, counts)",
    "PHCO": "Gobbi 2D pharmacophore bits",
}
_PROP_WORDS = {
    "qed": "QED",
    "logp": "Crippen logP",
    "tpsa": "TPSA",
    "bertz": "BertzCT",
    "n_rings": "number of rings",
    "n_arom_rings": "number of aromatic rings",
    "plogp": "penalised logP",
}


def _mod_words(mod: list[Any], x: str) -> str:
    kind = mod[0]
    if kind == "id":
        return x
    if kind == "clipped":
        return f"min(1, {x}/{mod[1]:g})"
    if kind == "gauss":
        return f"Gaussian(μ={mod[1]:g}, σ={mod[2]:g})({x})"
    if kind == "mingauss":
        return f"[1 if {x} ≤ {mod[1]:g} else Gaussian(μ={mod[1]:g}, σ={mod[2]:g})({x})]"
    return f"[1 if {x} ≥ {mod[1]:g} else Gaussian(μ={mod[1]:g}, σ={mod[2]:g})({x})]"


def describe(objective: dict[str, Any], hide_targets: bool = False) -> str:
    """The objective in words and formulas (hidden targets are described, never shown)."""
    if "callable" in objective:
        return f"the test-only objective {objective['callable']}"
    parts = []
    n_sims = sum(t["kind"] == "sim" for t in objective["terms"])
    for i, t in enumerate(objective["terms"]):
        kind = t["kind"]
        if kind == "sim":
            target = ("T" if n_sims == 1 else f"T_{'AB'[i]}") if hide_targets else f"`{t['target']}`"
            x = f"Tanimoto_{t['fp']}(molecule, {target})"
        elif kind == "has":
            x = f"[1 if the molecule matches SMARTS `{t['smarts']}` else 0]"
        elif kind == "nothas":
            x = f"[0 if the molecule matches SMARTS `{t['smarts']}` else 1]"
        elif kind == "count":
            x = f"(number of {t['element']} atoms)"
        elif kind == "isomer":
            x = f"Isomer({t['formula']})"
        else:
            x = _PROP_WORDS[kind]
        parts.append(_mod_words(t["mod"], x))
    if objective["agg"] == "single":
        return parts[0]
    name = "geometric mean" if objective["agg"] == "gmean" else "arithmetic mean"
    return f"{name} of:\n" + "\n".join(f"  {i + 1}. {p}" for i, p in enumerate(parts))


def fingerprints_used(objective: dict[str, Any]) -> list[str]:
    return sorted({_FP_WORDS[t["fp"]] for t in objective.get("terms", []) if t["kind"] == "sim"})
