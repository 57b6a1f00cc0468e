"""TriMul kernel boards (docs/leaderboard.md#ranking): one board per GPU model, and a clear, stored,
unranked "unverified-timing" outcome for a submission on a machine without a GPU."""

from pathlib import Path

import pytest

import leaderboards
from leaderboards import scoring, store
from tttd_envs.registration import card as get_card

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trimul_torch.py"
ID = "TriMul-H100-v0"


def _cuda() -> bool:
    try:
        import torch
    except ModuleNotFoundError:
        return False
    return torch.cuda.is_available()


def test_gpu_verdicts_are_filed_under_the_device_name():
    card = get_card(ID)
    h100 = {"device": "cuda:0", "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "sm_count": 132}
    assert scoring.hardware_key(card, h100) == "NVIDIA H100 80GB HBM3"
    assert scoring.hardware_key(card, {"device": "cpu", "pinned_slots": False}) == scoring.CPU_UNTIMED
    assert scoring.hardware_key(get_card("CirclePacking26-v0"), h100) == ""  # untimed problems: one board


def _timed(gpu: str, us: float, sha: str) -> store.NewSubmission:
    ev = store.Evaluation(
        kind="submit",
        requested_by="t",
        status="accepted",
        accepted=True,
        score=us,
        score_exact=repr(us),
        display=f"{us:.7g}",
        message="timed",
        verifier="trimul@1",
        tttd_version="test",
        hardware={"device": "cuda:0", "name": gpu},
        hardware_key=gpu,
        details={},
        verifier_kwargs={},
    )
    return store.NewSubmission(
        problem=ID,
        case_set="",
        artifact_sha256=sha,
        artifact_bytes=b"x",
        artifact_kind="python",
        submitter=f"{gpu} {us}",
        notes="",
        run_id=None,
        client_score_sent=None,
        evaluation=ev,
    )


def test_times_from_different_gpus_are_ranked_on_separate_boards(db_url):
    """Rows stored as a GPU run would store them (no GPU is needed to check the grouping)."""
    from leaderboards.db import get_engine

    store.bulk_insert(
        get_engine(db_url),
        [
            _timed("NVIDIA H100 80GB HBM3", 1500.0, "a" * 64),
            _timed("NVIDIA H100 80GB HBM3", 1200.0, "b" * 64),
            _timed("NVIDIA H200", 900.0, "c" * 64),
        ],
    )
    boards = {b.hardware_key: b for b in leaderboards.boards(ID, db=db_url)}
    assert set(boards) == {"NVIDIA H100 80GB HBM3", "NVIDIA H200"}
    h100 = [(e.rank, e.score) for e in boards["NVIDIA H100 80GB HBM3"].entries]
    assert h100 == [(1, 1200.0), (2, 1500.0)]  # lower is better
    assert [(e.rank, e.score) for e in boards["NVIDIA H200"].entries] == [(1, 900.0)]


@pytest.mark.skipif(_cuda(), reason="checks the CPU-only outcome; a CUDA machine times the kernel instead")
def test_cpu_submission_is_stored_unranked_and_the_board_renders(db_url, capsys):
    pytest.importorskip("torch")
    from tttd_envs.cli import main

    assert main(["submit", ID, str(EXAMPLE), "--name", "alice / cpu box", "--db", db_url]) == 1
    out = capsys.readouterr().out
    assert "status:    unverified-timing" in out and "cannot be timed here" in out
    [e] = leaderboards.board(ID, include_rejected=True, db=db_url)
    assert e.status == "unverified-timing" and not e.accepted and e.rank is None
    assert e.hardware_key == scoring.CPU_UNTIMED
    assert leaderboards.board(ID, db=db_url) == []  # nothing ranked
    assert main(["board", ID, "--all", "--db", db_url]) == 0
    text = capsys.readouterr().out
    assert f"hardware: {scoring.CPU_UNTIMED}" in text and "UNVERIFIED-TIMING" in text and "0 ranked entries" in text
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from leaderboards.web.app import create_app

    client = TestClient(create_app(db=db_url))
    page = client.get(f"/p/{ID}")
    assert page.status_code == 200
    assert "unverified-timing" in page.text and scoring.CPU_UNTIMED in page.text
    assert client.get(f"/entry/{e.id}").status_code == 200
    assert client.get(f"/p/{ID}/plot.png").content[:4] == b"\x89PNG"
