"""Imports point downwards only: verifiers <- tttd_envs <- agents, leaderboards (DESIGN.md)."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ALLOWED = {
    "verifiers": {"verifiers"},
    "tttd_envs": {"tttd_envs", "verifiers"},
    "agents": {"agents", "tttd_envs", "verifiers"},
    "leaderboards": {"leaderboards", "tttd_envs", "verifiers"},
}
HEAVY = {"torch", "transformers", "peft", "triton", "rdkit", "ray", "vllm"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0], node
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0], node


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_layering(package):
    for path in (REPO / package).rglob("*.py"):
        for top, _ in _imports(path):
            if top in ALLOWED:
                assert top in ALLOWED[package], f"{path.relative_to(REPO)} imports {top} (layers point downwards only)"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_heavy_imports_are_lazy(package):
    """No module-level import of heavy libraries (function-level imports are fine)."""
    for path in (REPO / package).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for n in names:
                    assert n.split(".")[0] not in HEAVY, f"{path.relative_to(REPO)} imports {n} at module level"
