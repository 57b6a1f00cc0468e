import os

import pytest

pytest.importorskip("rdkit", reason="the molecule tests need RDKit: pip install 'tttd[mol]'")
os.environ.setdefault("TTTD_MOL_WORKERS", "1")  # one worker per shared pool: CI has 2 cores
