"""From one submitted string to the stereo-free canonical key of its neutral form
(docs/molecules.md#from-a-string-to-a-key, steps 2–7).

``hygiene`` runs in the trusted parent and never touches RDKit (a 200-character cap comes before
any parsing). ``canonical_key`` runs inside a worker process (parsing untrusted text is isolated
too) and returns ``(key, None, None)`` or ``(None, reason, message)``. Every rejection is free.
"""

from __future__ import annotations

import os
from typing import Any

ELEMENTS = frozenset({"C", "N", "O", "S", "P", "F", "Cl", "Br", "I"})
MAX_CHARS = 200
MAX_HEAVY = 50
MAX_GOBBI_FEATURES = 40

#: Every per-item reason code of docs/molecules.md#from-a-string-to-a-key, in pipeline order.
REASONS = (
    "not_string",
    "empty",
    "too_long",
    "bad_chars",
    "multi_fragment",
    "invalid_smiles",
    "element",
    "isotope",
    "radical",
    "too_small",
    "too_large",
    "charge",
    "unstable_key",
    "too_complex",
    "timeout",
    "error",
    "over_k",
    "over_budget",
)


class MisconfiguredRDKit(RuntimeError):
    """The installed RDKit is not the pinned one (scores would not be comparable)."""


def check_rdkit(allow_unpinned: bool | None = None) -> bool:
    """Check the RDKit pin and the SA table; return ``pinned``. Raises on a mismatch unless
    ``TTTD_MOL_ALLOW_UNPINNED=1`` (then the Verdicts say ``pinned: false``)."""
    from verifiers.molecules import RDKIT_PIN

    if allow_unpinned is None:
        allow_unpinned = os.environ.get("TTTD_MOL_ALLOW_UNPINNED") == "1"
    try:
        from rdkit import RDConfig, rdBase
    except ImportError:
        raise MisconfiguredRDKit("the molecule problems need RDKit: pip install 'tttd[mol]'") from None
    pinned = rdBase.rdkitVersion == RDKIT_PIN
    if not pinned and not allow_unpinned:
        raise MisconfiguredRDKit(
            f"RDKit {rdBase.rdkitVersion} is installed but the molecule scores are pinned to "
            f"{RDKIT_PIN}: pip install 'tttd[mol]' (or set TTTD_MOL_ALLOW_UNPINNED=1 for "
            "unofficial runs)"
        )
    sa_table = os.path.join(RDConfig.RDContribDir, "SA_Score", "fpscores.pkl.gz")
    if not os.path.exists(sa_table):
        raise MisconfiguredRDKit(f"the SA score table {sa_table} is missing from the RDKit installation")
    return pinned


def hygiene(item: Any) -> tuple[str | None, str | None]:
    """Step 2: (trimmed string, None) if the item may be parsed, else (None, reason)."""
    if not isinstance(item, str):
        return None, "not_string"
    s = item.strip()
    if not s:
        return None, "empty"
    if len(s) > MAX_CHARS:
        return None, "too_long"
    if any(not (0x21 <= ord(c) <= 0x7E) for c in s):
        return None, "bad_chars"
    if "." in s:
        return None, "multi_fragment"
    return s, None


def _problem_type(smiles: str) -> str:
    """RDKit's name for what is wrong with an unparseable SMILES (feedback for agents), or ''."""
    from rdkit import Chem

    try:
        raw = Chem.MolFromSmiles(smiles, sanitize=False)
        if raw is None:
            return "syntax error"
        problems = Chem.DetectChemistryProblems(raw)
        return problems[0].GetType() if problems else ""
    except Exception:  # noqa: BLE001 - feedback only
        return ""


def canonical_key(
    smiles: str, max_heavy: int = MAX_HEAVY, max_features: int | None = None, elements: frozenset[str] = ELEMENTS
) -> tuple[str | None, str | None, str | None]:
    """Steps 3–7 for a string that passed :func:`hygiene`: (key, None, None) or (None, reason, message)."""
    from rdkit import Chem
    from rdkit.Chem.MolStandardize import rdMolStandardize

    try:
        mol = Chem.MolFromSmiles(smiles)
    except Exception:  # noqa: BLE001 - RDKit raises on some malformed input
        mol = None
    if mol is None:
        kind = _problem_type(smiles)
        return None, "invalid_smiles", "RDKit cannot parse it" + (f" ({kind})" if kind else "")
    for atom in mol.GetAtoms():  # isotopes first: [2H] is also an explicit H atom
        if atom.GetIsotope():
            return None, "isotope", f"isotope labels such as [{atom.GetIsotope()}{atom.GetSymbol()}] are not allowed"
    for atom in mol.GetAtoms():
        sym = atom.GetSymbol()
        if sym not in elements:
            return None, "element", f"element {sym} is not allowed (allowed: {', '.join(sorted(elements))})"
        if atom.GetNumRadicalElectrons():
            return None, "radical", f"atom {sym}{atom.GetIdx()} has unpaired electrons (a radical)"
    if len(Chem.GetMolFrags(mol)) != 1:
        return None, "multi_fragment", "the molecule must be one connected fragment"
    heavy = mol.GetNumHeavyAtoms()
    if heavy < 1:
        return None, "too_small", "the molecule has no heavy atoms"
    if heavy > max_heavy:
        return None, "too_large", f"{heavy} heavy atoms; at most {max_heavy} are allowed"
    mol = rdMolStandardize.Uncharger().uncharge(mol)
    charges = [a.GetFormalCharge() for a in mol.GetAtoms()]
    if sum(charges) != 0 or any(abs(c) > 1 for c in charges):
        return None, "charge", f"net charge {sum(charges):+d} after neutralisation; submit a neutral molecule"
    Chem.RemoveStereochemistry(mol)
    key = Chem.MolToSmiles(mol, isomericSmiles=False)
    again = Chem.MolFromSmiles(key)
    if again is None or Chem.MolToSmiles(again, isomericSmiles=False) != key:
        return None, "unstable_key", "its canonical SMILES does not survive a round trip through RDKit"
    if max_features is not None:
        from rdkit.Chem.Pharm2D import Gobbi_Pharm2D

        # rdkit-stubs do not declare SigFactory.featFactory (an attribute set in __init__)
        n = len(Gobbi_Pharm2D.factory.featFactory.GetFeaturesForMol(again))  # type: ignore[attr-defined]
        if n > max_features:
            return None, "too_complex", f"{n} pharmacophore features; at most {max_features} for this task"
    return key, None, None
