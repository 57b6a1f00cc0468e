"""Molecule runs on the leaderboard (docs/molecules.md#tasks, docs/molecules.md#the-run-log-and-the-replay).

A molecule submission is a whole run, not one artifact: the run directory's ``config.json`` and
``items.jsonl`` (what the env's ``write_run_log`` writes). The leaderboard keeps the two files byte
for byte in one canonical JSON *bundle* (``verifiers.molecules.replay``; its sha256 is the entry's
artifact hash, so identical runs deduplicate and ``tttd board --artifact N --unpack DIR`` gives the
files back), and judges the run with the verifiers layer's replay (``RunLogVerifier``): no env, no
gym, and nothing in the files but the items and the settings is read. With B set a oneshot run is
ranked on the same board as budget runs of that B (docs/molecules.md#episodes-and-rewards); an unbounded one
(B = None) has no board.

Runs are ranked per *board*: (id, task, budget B, action mode and ``code_timeout_s``, target pool).
The board key is stored in the entry's ``case_set`` column, e.g. ``albuterol|B100|auto|60s|-`` or
``hidden|B1000|smiles|60s|private:0123456789ab``. This module reads run directories, checks bundles
before anything is stored, and spells board keys out.
"""

from __future__ import annotations

import os
from typing import Any

from leaderboards.errors import SubmissionRefused
from verifiers.molecules.replay import (
    RUN_FILES,
    RunLogError,
    board_kind,
    make_bundle,
    parse_board_key,  # is this module's API too
)

_KEY_CHARS = 50  # the case_set column's width


# -- the bundle: the run's two files, exactly ---------------------------------------------------------
def bundle_from(artifact: Any) -> str:
    """The canonical bundle text of a submission: a run directory (path) is read; a bundle text (what
    the leaderboard stores and hands back) passes through after a check."""
    if isinstance(artifact, os.PathLike) or (
        isinstance(artifact, str) and "\n" not in artifact and len(artifact) < 4096 and os.path.isdir(artifact)
    ):
        return read_run_dir(os.fspath(artifact))
    if isinstance(artifact, (bytes, bytearray)):
        try:
            artifact = bytes(artifact).decode("utf-8")
        except UnicodeDecodeError:
            raise SubmissionRefused("a molecule run bundle must be UTF-8 JSON") from None
    if isinstance(artifact, str):
        files_of(artifact)  # refuses what is not a bundle
        return artifact
    raise SubmissionRefused(
        f"a molecule submission is a run directory (config.json + items.jsonl), not {type(artifact).__name__}"
    )


def read_run_dir(path: str) -> str:
    if not os.path.isdir(path):
        raise SubmissionRefused(f"{path} is not a run directory (config.json + items.jsonl)")
    files = {}
    for name in RUN_FILES:
        full = os.path.join(path, name)
        if not os.path.isfile(full):
            raise SubmissionRefused(
                f"the run directory {path} has no {name}; a molecule submission is the "
                "config.json and items.jsonl that the env's write_run_log() writes"
            )
        with open(full, "rb") as fh:
            data = fh.read()
        try:
            files[name] = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SubmissionRefused(f"{name} is not UTF-8 text (bad byte at offset {e.start})") from None
    return make_bundle(files)


def files_of(bundle: str) -> dict[str, str]:
    """config.json and items.jsonl, exactly as submitted; SubmissionRefused for what is not a bundle."""
    from verifiers.molecules.replay import files_of as files

    try:
        return files(bundle)
    except RunLogError as e:
        raise SubmissionRefused(str(e)) from None


def unpack(bundle: str, directory: str) -> list[str]:
    """Write the bundle's files into ``directory``, byte for byte as they were submitted."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name, text in files_of(bundle).items():
        path = os.path.join(directory, name)
        with open(path, "wb") as fh:
            fh.write(text.encode("utf-8"))
        paths.append(path)
    return paths


# -- boards ---------------------------------------------------------------------------------------
def board_key_of(verifier, bundle: str) -> str:
    """The run's board; refuses (nothing stored) a bundle whose config or items cannot be replayed."""
    from verifiers.molecules.replay import board_key

    try:
        key = board_key(verifier.check(bundle))
    except RunLogError as e:
        raise SubmissionRefused(str(e)) from None
    if len(key) > _KEY_CHARS:
        raise SubmissionRefused(f"the run's board key {key!r} is longer than {_KEY_CHARS} characters")
    return key


def board_title(key: str | None) -> str | None:
    """One line describing a molecule board (its key spelled out, with the docs/molecules.md#tasks label)."""
    k = parse_board_key(key)
    if k is None:
        return None
    head = (
        f"task {k['task']} · budget {k['budget']:,} calls · action mode {k['action_mode']}, "
        f"code limit {k['code_timeout_s']:g} s"
    )
    kind = board_kind(key)
    if kind == "white-box":
        return head + (
            " · WHITE-BOX: the objective is public and can be computed offline, so the budget counts "
            "submissions, not evaluations; compared only within this action mode and limit"
        )
    if kind == "hidden-dev":
        return head + (
            " · HIDDEN TARGET, DEV POOL: trusted only if the agent read neither the shipped pool nor "
            "ZINC250k (targets drawn from the screening library)"
        )
    return head + f" · HIDDEN TARGET, PRIVATE POOL {k['pool']}: operator-held targets"
