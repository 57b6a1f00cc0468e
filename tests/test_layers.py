"""Imports point downwards only: verifiers <- tttd_envs <- agents, leaderboards (docs/architecture.md)."""

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


# -- the leaderboard judges with the verifiers layer, never as a verifier or through an env --------------
GYM = {"gym", "gymnasium"}


def leaderboard_violations(source: str, filename: str = "<string>") -> list[str]:
    """What breaks the leaderboard's rule in one module's source: a class deriving from ``Verifier``
    (trusted scoring belongs to ``verifiers/``; the leaderboard only calls it) or an import of gym /
    gymnasium (the leaderboard replays runs through the verifiers layer, not through an env)."""
    tree = ast.parse(source, filename=filename)
    out, verifier_names = [], {"Verifier"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            verifier_names |= {a.asname or a.name for a in node.names if a.name == "Verifier"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name.split(".")[0] in GYM]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in GYM:
            out.append(f"line {node.lineno}: imports from {node.module}")
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
                if name in verifier_names or name == "Verifier":
                    out.append(f"line {node.lineno}: class {node.name} subclasses {name}")
    return out


def test_leaderboard_neither_subclasses_verifier_nor_imports_gym():
    bad = {
        str(p.relative_to(REPO)): v
        for p in (REPO / "leaderboards").rglob("*.py")
        if (v := leaderboard_violations(p.read_text(), str(p)))
    }
    assert bad == {}


@pytest.mark.parametrize(
    "snippet,found",
    [
        ("from verifiers.base import Verifier\nclass R(Verifier):\n    pass\n", "class R subclasses Verifier"),
        ("import verifiers.base\nclass R(verifiers.base.Verifier):\n    pass\n", "class R subclasses Verifier"),
        ("from verifiers.base import Verifier as V\nclass R(V):\n    pass\n", "class R subclasses V"),
        ("def f():\n    import gymnasium as gym\n    return gym.make('X')\n", "imports gymnasium"),
        ("from gymnasium.utils import seeding\n", "imports from gymnasium.utils"),
        ("import gym\n", "imports gym"),
    ],
)
def test_leaderboard_rule_catches_a_bad_module(snippet, found):
    assert [v for v in leaderboard_violations(snippet) if found in v]


def test_leaderboard_rule_passes_a_caller_of_the_verifiers_layer():
    ok = (
        "from verifiers import get_verifier\nfrom verifiers.molecules.replay import RunLogVerifier\n"
        "class Boards:\n    pass\n\n"
        "def judge(text):\n    return get_verifier('molecule_run', env_id='X').verify(text)\n"
    )
    assert leaderboard_violations(ok) == []
