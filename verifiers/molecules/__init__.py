"""Molecule discovery verifiers (specs/molecules.md).

Modules, bottom up:
- ``pipeline``: input hygiene, parsing, structure gates, neutralisation, the stereo-free key (§5).
- ``objectives``: fingerprints, modifiers and every task's objective (§2, §4).
- ``workers``: a pool of spawned worker processes that parse and score with per-molecule time and
  memory limits (§5 step 9).
- ``ledger``: the PMO budget ledger and the run metrics (AUC top-k with zero padding, §6.2, §6.4).
- ``verifier``: one action (SMILES list or sandboxed program) through the whole pipeline → Verdict.

RDKit is imported lazily (inside functions, and in the worker processes), so importing this package
stays cheap.
"""

RDKIT_PIN = "2026.09.1"
VERSION = "v0"
