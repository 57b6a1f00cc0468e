"""The local leaderboard: re-verified submissions in a database, CLI boards and a web page
(docs/leaderboard.md). It may import ``tttd_envs`` and ``verifiers``, never ``agents``.

Python API (the database is SQLite under ``$XDG_DATA_HOME/tttd`` unless ``db=`` or
``$TTTD_LEADERBOARD_URL`` gives another file or a ``postgresql://`` URL)::

    import leaderboards
    e = leaderboards.submit("CirclePacking26-v0", text, submitter="alice / run-7", notes="...")
    e.status, e.display, e.rank, e.beats
    leaderboards.board("CirclePacking26-v0")            # list[Entry], best first
    leaderboards.boards("CirclePacking26-v0")           # per board, with reference rows interleaved
    leaderboards.references("CirclePacking26-v0")       # list[ReferenceRow]
    leaderboards.entry(e.id); leaderboards.artifact(e.id)
    leaderboards.history("CirclePacking26-v0")          # [(created_at, score)] for best-so-far plots
    leaderboards.problems_summary()                     # the index: best entry vs references
    leaderboards.family("CVRP-v0")                      # instances: mean gap, how many at or beyond the best known
    leaderboards.flag(e.id, "hacked", "reason", operator="bob")
    leaderboards.reverify("CirclePacking26-v0")         # after a verifier version bump
    leaderboards.submit("MolSimilarity-v0", "runs/mol-1", submitter="bob")   # a molecule run directory,
                                                        # replayed (leaderboards.molruns)

Importing this package is cheap: SQLAlchemy and the verifiers load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "submit": "leaderboards.api",
    "board": "leaderboards.api",
    "boards": "leaderboards.api",
    "entry": "leaderboards.api",
    "artifact": "leaderboards.api",
    "flag": "leaderboards.api",
    "reverify": "leaderboards.api",
    "history": "leaderboards.api",
    "problems_summary": "leaderboards.api",
    "family": "leaderboards.api",
    "Family": "leaderboards.family_view",
    "references": "leaderboards.reference_rows",
    "Entry": "leaderboards.api_values",
    "ReferenceRow": "leaderboards.api_values",
    "Board": "leaderboards.api_values",
    "BoardRow": "leaderboards.api_values",
    "ProblemSummary": "leaderboards.api_values",
    "LeaderboardError": "leaderboards.errors",
    "SubmissionRefused": "leaderboards.errors",
    "EntryNotFound": "leaderboards.errors",
    "DatabaseUnavailable": "leaderboards.errors",
    "resolve_url": "leaderboards.db",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'leaderboards' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
