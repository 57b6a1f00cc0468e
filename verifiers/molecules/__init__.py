"""Molecule discovery verifiers (docs/molecules.md).

Modules, bottom up:
- ``pipeline``: input hygiene, parsing, structure gates, neutralisation, the stereo-free key
  (docs/molecules.md#from-a-string-to-a-key).
- ``objectives``: fingerprints, modifiers and every task's objective (docs/molecules.md#tasks).
- ``workers``: a pool of spawned worker processes that parse and score with per-molecule time and
  memory limits (docs/molecules.md#from-a-string-to-a-key).
- ``ledger``: the PMO budget ledger and the run metrics (AUC top-k with zero padding, docs/molecules.md#the-budget,
  docs/molecules.md#run-metrics).
- ``verifier``: one action (SMILES list or sandboxed program) through the whole pipeline → Verdict.

RDKit is imported lazily (inside functions, and in the worker processes), so importing this package
stays cheap.
"""

RDKIT_PIN = "2026.09.1"
VERSION = "v0"
