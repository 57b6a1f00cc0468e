"""Parallel training inside a run (agents/data_parallel.py): ``trainer_devices=cpu,cpu`` runs two gloo
ranks, rank 0 sampling and both training, and must give the run one process gives: the same samples,
rewards and metrics at every step and the same adapter at the end, within float rounding (the gradient
is summed in a different order). The same holds with the decoder layers sharded over the two ranks
(``trainer_parallel=fsdp``), where every forward pass, sampling included, needs both ranks, and for a
sharded run stopped after one step and resumed."""

import json

import pytest
from test_agent_live import CHAR, discover, only_run

TWO = ["--set", "trainer_devices=cpu,cpu"]
FSDP = [*TWO, "--set", "trainer_parallel=fsdp"]


def _run(tiny_dir, runs_dir, *extra, steps: int = 2):
    assert discover(*CHAR, "--steps", steps, "--model", tiny_dir, "--runs-dir", runs_dir, "--quiet", *extra) == 0
    return only_run(runs_dir)


def _log(run) -> str:
    return "".join(p.read_text() for p in run.glob("*.log"))


def _same_run(torch1, one, two) -> None:
    """Step by step the same metrics, and the same adapter at the end."""
    from safetensors.torch import load_file

    metrics = [[json.loads(x) for x in (r / "metrics.jsonl").read_text().splitlines()] for r in (one, two)]
    assert [m["step"] for m in metrics[1]] == [1, 2]
    for a, b in zip(*metrics):
        assert a["train_tokens"] == b["train_tokens"] > 0
        for key in ("reward_mean", "reward_max", "loss", "rho_mean"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), key
    a, b = (load_file(str(sorted(r.rglob("adapter_model.safetensors"))[-1])) for r in (one, two))
    assert a.keys() == b.keys() and a
    for k in a:
        assert torch1.allclose(a[k], b[k], atol=1e-5), k


@pytest.fixture(scope="module")
def one_process_run(torch1, tiny_dir, tmp_path_factory):
    return _run(tiny_dir, tmp_path_factory.mktemp("one"))


@pytest.mark.slow
def test_two_trainer_processes_make_the_run_of_one(torch1, tiny_dir, tmp_path, one_process_run):
    two = _run(tiny_dir, tmp_path, *TWO)
    assert "placement: trainer cpu,cpu;" in _log(two)
    _same_run(torch1, one_process_run, two)
    cfg = json.loads((two / "config.json").read_text()) if (two / "config.json").exists() else None
    assert cfg is None or "cpu,cpu" in json.dumps(cfg)


@pytest.mark.slow
def test_sharded_training_makes_the_run_of_one(torch1, tiny_dir, tmp_path, one_process_run):
    run = _run(tiny_dir, tmp_path, *FSDP)
    log = _log(run)
    assert "placement: trainer cpu,cpu (fsdp: decoder layers sharded)" in log
    # each of the two ranks holds half of every decoder layer (the tiny model's layer sizes are even)
    assert "fsdp: rank 0 holds 50.0% of the decoder layers' weights" in log
    _same_run(torch1, one_process_run, run)


@pytest.mark.slow
def test_a_sharded_run_resumes_exactly(torch1, tiny_dir, tmp_path, one_process_run):
    """One sharded step, then resumed (sharded) for the second: the saved adapter and optimizer state
    are gathered from both ranks and shared out again, so the run is the one-process run."""
    run = _run(tiny_dir, tmp_path, *FSDP, steps=1)
    assert discover("--resume", run, "--steps", 2, "--quiet") == 0
    assert _log(run).count("fsdp: rank 0 holds") == 2  # sharded again on resume
    _same_run(torch1, one_process_run, run)
