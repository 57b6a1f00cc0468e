"""Test-only objectives, imported by the molecule worker processes through the trusted
``{"callable": "mol_test_objectives:NAME"}`` objective (never reachable from an action)."""

import time


def chain_length(key: str) -> float:
    """The number of 'C' characters / 10: hand-computable scores for ledger tests."""
    return key.count("C") / 10


def tricky(key: str) -> float:
    """Misbehaves on purpose for a few keys: sleeps, allocates 4 GiB, returns out-of-range values."""
    if key == "CCCCO":
        time.sleep(30)
    if key == "CCCCN":
        block = bytearray(4 << 30)
        return float(len(block) > 0)
    if key == "CCCCS":
        return 1.5
    if key == "CCCCF":
        return float("nan")
    return chain_length(key)
