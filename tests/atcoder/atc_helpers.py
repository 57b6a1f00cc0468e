"""Shared helpers for the AtCoder tests: where the cross-check data lives and how to read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ATCODER_DATA = REPO.parent / "shared" / "data" / "atcoder"


def data_dir() -> Path:
    """The published cross-check data folder, or skip the test when it is absent."""
    if not ATCODER_DATA.is_dir():
        pytest.skip(f"AtCoder cross-check data not found at {ATCODER_DATA}")
    return ATCODER_DATA


def data_file(rel: str) -> Path:
    path = data_dir() / rel
    if not path.is_file():
        pytest.skip(f"data file {path} not found")
    return path


def load_json(rel: str):
    return json.loads(data_file(rel).read_text())


def read_sha256_manifest(rel: str) -> list[tuple[str, str]]:
    """``sha256sum`` lines as (digest, path) pairs, in file order."""
    out = []
    for line in data_file(rel).read_text().splitlines():
        if line.strip():
            digest, path = line.split(None, 1)
            out.append((digest, path.strip().lstrip("*")))
    return out


def public_manifest(problem: str) -> list[str]:
    """Digests of ``<problem>/in/0000.txt`` ... ``0149.txt`` from data/atcoder/sha256.txt."""
    by_path = dict((p, d) for d, p in read_sha256_manifest("sha256.txt"))
    return [by_path[f"{problem}/in/{s:04d}.txt"] for s in range(150)]


def private_seeds() -> list[int]:
    return [int(line) for line in data_file("ahc039/private_seeds.txt").read_text().split()]


def private_manifest() -> list[str]:
    pairs = read_sha256_manifest("ahc039/private_sha256.txt")
    assert [p for _, p in pairs] == [f"ahc039/private/{k:04d}.txt" for k in range(len(pairs))]
    return [d for d, _ in pairs]
