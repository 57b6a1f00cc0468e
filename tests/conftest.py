import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MATH_DATA = SHARED_DATA / "math"

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def math_data() -> Path:
    if not MATH_DATA.is_dir():
        pytest.skip(f"published data not found at {MATH_DATA}")
    return MATH_DATA


@pytest.fixture()
def data_env(math_data, monkeypatch):
    monkeypatch.setenv("TTTD_DATA_DIR", str(math_data.parent))
    return math_data
