"""Shared helpers for the kernel tests. A module of its own, not conftest.py:
several test folders have a conftest, so `from conftest import ...` would find whichever came last."""

import os
import re
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SHARED_DATA = REPO.parent / "shared" / "data"


def _find_published_kernel():
    """TTT-Discover's results/kernel-engineering/trimul.py, if ../shared/data (or the data directory named
    by TTTD_DATA_DIR, e.g. on a GPU host where ../shared does not exist) holds it; read at test time, never
    copied into the repo. None when absent."""
    roots = [SHARED_DATA] + ([Path(os.environ["TTTD_DATA_DIR"])] if os.environ.get("TTTD_DATA_DIR") else [])
    for root in roots:
        if root.is_dir():
            found = next((p for p in sorted(root.rglob("*trimul*.py")) if p.is_file()), None)
            if found:
                return found
    return None


TTT_DISCOVER_KERNEL = _find_published_kernel()

os.environ.setdefault("OMP_NUM_THREADS", "1")


_INCLUDE = re.compile(r"^from honest_fp32 import trimul\b.*$", re.M)


def _honest_trimul() -> str:
    """The `trimul` function of honest_fp32.py (the plain fp32 implementation), as source text."""
    text = (FIXTURES / "honest_fp32.py").read_text()
    return text[text.index("def trimul(") : text.index("\n\n\ndef custom_kernel")]


def fixture_text(name: str, **subs) -> str:
    """A fixture's source, made a self-contained submission: the line `from honest_fp32 import trimul`
    becomes that function's source (most cheats wrap the honest computation), and top-level constants
    are replaced (NAME = value)."""
    text = (FIXTURES / f"{name}.py").read_text()
    text = _INCLUDE.sub(lambda _m: "\n" + _honest_trimul() + "\n", text)
    for key, value in subs.items():
        line = f"{key} = {value!r}"
        text, n = re.subn(rf"^{key} = .*$", lambda _m, line=line: line, text, count=1, flags=re.M)
        assert n == 1, f"{name}.py has no top-level {key}"
    return text


def example(name: str) -> str:
    return (EXAMPLES / name).read_text()


def cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


needs_gpu = pytest.mark.skipif(not cuda_available(), reason="needs a CUDA GPU")
