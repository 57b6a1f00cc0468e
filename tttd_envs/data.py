"""Where published constructions come from at run time.

They are not shipped inside the package. A data directory is searched in this order: the
``data_dir`` argument, ``$TTTD_DATA_DIR``, then the user cache (``$XDG_CACHE_HOME/tttd/data``).
Each domain lives in a sub-folder (``math/``). Every loaded construction is checked against the
card's pinned sha256 of its canonical form, so a corrupted or edited copy is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class DataNotFound(FileNotFoundError):
    """A published construction was asked for but no data directory holds it."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tttd" / "data"


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir))
    if os.environ.get("TTTD_DATA_DIR"):
        dirs.append(Path(os.environ["TTTD_DATA_DIR"]))
    dirs.append(cache_dir())
    return dirs


def find(domain: str, filename: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Locate `filename`; accepts a directory that is the domain folder itself or its parent."""
    tried = []
    for d in candidate_dirs(data_dir):
        for p in (d / filename, d / domain / filename):
            tried.append(str(p))
            if p.is_file():
                return p
    raise DataNotFound(
        f"published construction {filename!r} not found (looked in: {', '.join(tried)}). Point "
        f"TTTD_DATA_DIR (or data_dir=...) at a folder holding the {domain} data files, or place them in "
        f"{cache_dir() / domain}; named initial states that use published data need them, the computed ones do not."
    )


def load_construction(domain: str, filename: str, data_dir: str | os.PathLike | None = None) -> tuple[str, object]:
    """Return (the file's text, its construction). The text is what the verifier will check."""
    path = find(domain, filename, data_dir)
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    return text, doc["construction"] if isinstance(doc, dict) else doc
