import os
import shutil
import tempfile

import pytest


@pytest.fixture
def open_dir():
    """A world-readable, world-writable host directory (pytest's own tmp_path sits under a 0700 dir,
    which would hide it from a uid-dropped child even without a filesystem view; this one does not)."""
    path = tempfile.mkdtemp(prefix="tttd-adv-")
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)
