"""Kernel tests run torch single-threaded (2 shared cores in CI). Helpers: kern_helpers.py."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
