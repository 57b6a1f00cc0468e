"""Trusted scoring for tttd: the sandbox, one verifier per problem, and the Verdict.

This layer imports nothing above it and never trusts anything a submission reports about itself.
Submitted code only ever runs in :mod:`verifiers.sandbox`; every score is recomputed here from data.
"""

from verifiers.base import Verifier, get_verifier
from verifiers.verdict import STATUSES, Verdict

__all__ = ["STATUSES", "Verdict", "Verifier", "get_verifier"]
