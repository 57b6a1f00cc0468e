"""Data-parallel training inside a run (agents/data_parallel.py): ``trainer_devices=cpu,cpu`` runs two gloo
ranks, rank 0 sampling and both training, and must give the run one process gives: the same samples,
rewards and metrics at every step and the same adapter at the end, within float rounding (the gradient
is summed in a different order)."""

import json

import pytest
from test_agent_live import CHAR, discover, only_run


@pytest.mark.slow
def test_two_trainer_processes_make_the_run_of_one(torch1, tiny_dir, tmp_path):
    from safetensors.torch import load_file

    runs = {}
    for name, extra in (("one", []), ("two", ["--set", "trainer_devices=cpu,cpu"])):
        assert discover(*CHAR, "--steps", 2, "--model", tiny_dir, "--runs-dir", tmp_path / name, "--quiet", *extra) == 0
        runs[name] = only_run(tmp_path / name)
    assert any("placement: trainer cpu,cpu" in p.read_text() for p in runs["two"].glob("*.log"))
    metrics = {k: [json.loads(x) for x in (r / "metrics.jsonl").read_text().splitlines()] for k, r in runs.items()}
    assert [m["step"] for m in metrics["two"]] == [1, 2]
    for a, b in zip(metrics["one"], metrics["two"]):
        assert a["train_tokens"] == b["train_tokens"] > 0
        for key in ("reward_mean", "reward_max", "loss", "rho_mean"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), key
    cfg = json.loads((runs["two"] / "config.json").read_text()) if (runs["two"] / "config.json").exists() else None
    adapters = {k: sorted(r.rglob("adapter_model.safetensors"))[-1] for k, r in runs.items()}
    one, two = (load_file(str(p)) for p in adapters.values())
    assert one.keys() == two.keys()
    for k in one:
        assert torch1.allclose(one[k], two[k], atol=1e-5), k
    assert cfg is None or "cpu,cpu" in json.dumps(cfg)
