"""Logistics verifiers: vehicle routing (CVRP, ``cvrp.py``) and job-shop scheduling (``jssp.py``).

Their reference data (instances, best known solutions, bounds) is not shipped in the package; it is
read from the data folder, searched in the same order as published constructions are
(``tttd_envs.data``): the ``data_dir`` argument, ``$TTTD_DATA_DIR``, then ``$XDG_CACHE_HOME/tttd/data``.
Each may be the ``logistics`` folder itself or its parent.
"""

from __future__ import annotations

import os
from pathlib import Path

DOMAIN = "logistics"


class DataMissing(FileNotFoundError):
    """The logistics data folder (or one file of it) is not installed; the message says what to do."""


def data_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir))
    if os.environ.get("TTTD_DATA_DIR"):
        dirs.append(Path(os.environ["TTTD_DATA_DIR"]))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    dirs.append(Path(base) / "tttd" / "data")
    return dirs


def find_data(relpath: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The path of ``logistics/<relpath>`` (a file or a folder), or DataMissing naming where it looked."""
    tried = []
    for d in data_dirs(data_dir):
        for p in (d / DOMAIN / relpath, d / relpath):
            tried.append(str(p))
            if p.exists():
                return p
    raise DataMissing(
        f"the logistics data file {relpath!r} is not installed (looked in: {', '.join(tried)}); "
        f"point TTTD_DATA_DIR at the folder that holds {DOMAIN}/"
    )
