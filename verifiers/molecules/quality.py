"""Reported, not rewarded (docs/molecules.md#the-run-log-and-the-replay): diversity, scaffolds, synthesisability and
structural-alert pass rate of a run's best molecules. Keys are trusted (already through
docs/molecules.md#from-a-string-to-a-key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdkit.Chem.FilterCatalog import FilterCatalog
    from rdkit.DataStructs import ExplicitBitVect


def _catalog() -> FilterCatalog:
    from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

    params = FilterCatalogParams()
    for cat in ("PAINS", "BRENK", "CHEMBL_Glaxo", "CHEMBL_SureChEMBL"):
        params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, cat))
    return FilterCatalog(params)


def diverse_top(scored: list[tuple[str, float]], k: int = 10, threshold: float = 0.7) -> list[tuple[str, float]]:
    """Greedy: best first, skipping any molecule with Tanimoto ≥ threshold to one already kept."""
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    kept: list[tuple[str, float]] = []
    fps: list[ExplicitBitVect] = []
    for key, score in sorted(scored, key=lambda x: -x[1]):
        fp = gen.GetFingerprint(Chem.MolFromSmiles(key))
        if all(DataStructs.TanimotoSimilarity(fp, f) < threshold for f in fps):
            kept.append((key, score))
            fps.append(fp)
            if len(kept) == k:
                break
    return kept


def report(scored: list[tuple[str, float]], top: int = 100) -> dict[str, Any]:
    """Quality of the `top` best (key, score) pairs."""
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.Chem.Scaffolds import MurckoScaffold

    from verifiers.molecules.objectives import sa_score

    best = sorted(scored, key=lambda x: -x[1])[:top]
    if not best:
        return {"n": 0}
    mols = [Chem.MolFromSmiles(k) for k, _ in best]
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(m) for m in mols]
    sims = [s for i in range(1, len(fps)) for s in DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])]
    catalog = _catalog()
    div10 = diverse_top(best, 10)
    return {
        "n": len(best),
        "internal_diversity": 1.0 - sum(sims) / len(sims) if sims else 0.0,
        # rdkit-stubs leave MurckoScaffoldSmiles unannotated
        "scaffolds": len({MurckoScaffold.MurckoScaffoldSmiles(mol=m) for m in mols}),  # type: ignore[no-untyped-call]
        "mean_sa": sum(sa_score(m) for m in mols) / len(mols),
        "filter_pass": sum(not catalog.HasMatch(m) for m in mols) / len(mols),
        "diverse_top10": sum(s for _, s in div10) / 10,
    }
