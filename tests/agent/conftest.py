"""Fixtures for the agent tests: torch on one thread, the tiny model, imported once per session."""

import pytest


@pytest.fixture(scope="session")
def torch1():
    torch = pytest.importorskip("torch", reason="the agent tests need the agent extra (torch)")
    pytest.importorskip("transformers")
    pytest.importorskip("peft")
    torch.set_num_threads(1)
    return torch


@pytest.fixture(scope="session")
def tiny_tok(torch1):
    from agent_helpers import tiny_tokenizer

    return tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory, tiny_tok):
    """The tiny model saved as a model directory (``--model DIR``)."""
    from agent_helpers import save_tiny

    return save_tiny(tmp_path_factory.mktemp("tiny-model"), seed=0)
