"""End to end through ``tttd discover`` with the tiny model (docs/agent.md#one-step): a real
tttd env writes every artifact of the run directory, and a run stopped (or killed) after step 1 and
resumed reproduces step 2 exactly — metrics, archive, adapter weights and optimizer state."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.loop import TIMING_FIELDS

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def discover(*args) -> int:
    from tttd_envs.cli import main

    return main(["discover", *map(str, args), "--quiet"])


def only_run(runs_dir: Path) -> Path:
    (run,) = [p for p in runs_dir.glob("*/*") if p.is_dir()]
    return run


def untimed(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


def read_jsonl(p: Path):
    return [json.loads(x) for x in p.read_text().splitlines() if x.strip()]


def assert_same_checkpoint(a: Path, b: Path, step: int, torch):
    from safetensors.torch import load_file

    sa, sb = a / "adapters" / f"step_{step:04d}", b / "adapters" / f"step_{step:04d}"
    wa, wb = load_file(sa / "adapter_model.safetensors"), load_file(sb / "adapter_model.safetensors")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    oa = torch.load(sa / "optimizer.pt", weights_only=False)["optimizer"]["state"]
    ob = torch.load(sb / "optimizer.pt", weights_only=False)["optimizer"]["state"]
    assert oa.keys() == ob.keys()
    for k in oa:
        assert all(torch.equal(oa[k][n], ob[k][n]) for n in ("exp_avg", "exp_avg_sq", "step")), k
    assert untimed(read_jsonl(a / "metrics.jsonl")) == untimed(read_jsonl(b / "metrics.jsonl"))
    assert (a / "archive.jsonl").read_text() == (b / "archive.jsonl").read_text()


ERDOS = ["ErdosMinOverlap-v0", "--steps", 2, "--max-new-tokens", 32, "--workers", 1, "--budget-s", 5]


def test_erdos_two_steps_write_every_artifact(torch1, tiny_dir, tmp_path, capsys):
    assert discover(*ERDOS, "--model", tiny_dir, "--runs-dir", tmp_path / "a") == 0
    run = only_run(tmp_path / "a")
    assert run.parent.name == "ErdosMinOverlap-v0"
    for name in (
        "config.toml",
        "archive.jsonl",
        "metrics.jsonl",
        "run.log",
        "plots/best_so_far.png",
        "plots/reward.png",
        "plots/lineage.png",
    ):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    for png in (run / "plots").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for step in (1, 2):
        d = run / "adapters" / f"step_{step:04d}"
        assert (d / "adapter_model.safetensors").is_file() and (d / "adapter_config.json").is_file()
    metrics = read_jsonl(run / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [1, 2]
    for field in (
        "reward_mean",
        "reward_max",
        "valid_frac",
        "best_score",
        "beta",
        "adv_min",
        "adv_max",
        "tokens_per_s",
        "sample_s",
        "eval_wait_s",
        "train_s",
        "archive_size",
    ):
        assert field in metrics[0], field
    assert all(m["rollouts"] == 8 and m["sampled_tokens"] > 0 for m in metrics)
    archive = read_jsonl(run / "archive.jsonl")
    assert archive[0]["initial"] and archive[0]["state"]["problem"] == "ErdosMinOverlap-v0"
    assert archive[-1]["totals"]["T"] == 16  # every rollout is a visit, valid or not
    # a random tiny model writes no valid program: that is reported, not hidden
    if metrics[-1]["best_score"] is None:
        assert (run / "best" / "NONE.txt").is_file()
        assert "no valid answer" in capsys.readouterr().err
    else:
        assert (run / "best" / "verdict.json").is_file()
    from agents.config import AgentConfig

    cfg = AgentConfig.load(run / "config.toml")
    assert cfg.env == "ErdosMinOverlap-v0" and cfg.steps == 2 and cfg.model == tiny_dir
    assert "rejected" in (run / "run.log").read_text()


def test_erdos_stop_after_one_then_resume_is_exact(torch1, tiny_dir, tmp_path):
    assert discover(*ERDOS, "--model", tiny_dir, "--runs-dir", tmp_path / "a") == 0
    assert discover(*ERDOS, "--model", tiny_dir, "--runs-dir", tmp_path / "b", "--stop-after", 1) == 0
    b = only_run(tmp_path / "b")
    assert [m["step"] for m in read_jsonl(b / "metrics.jsonl")] == [1]
    assert not (b / "adapters" / "step_0002").exists()
    from agents.config import AgentConfig

    assert AgentConfig.load(b / "config.toml").stop_after == 0  # an invocation option, not saved
    assert discover("--resume", b) == 0
    assert_same_checkpoint(only_run(tmp_path / "a"), b, 2, torch1)


CHAR = [
    "CharFraction-test-v0",
    "--set",
    'env_imports=["agent_envs"]',
    "--steps",
    2,
    "--groups",
    2,
    "--group-size",
    4,
    "--max-new-tokens",
    10,
    "--lr",
    0.05,
    "--workers",
    1,
    "--seed",
    3,
]


def test_resume_is_exact_when_the_adapter_trains(torch1, tiny_dir, tmp_path):
    """The same with the test text env, where every group has signal and the adapter really moves;
    evaluation runs in a spawned worker process that imports the test env."""
    assert discover(*CHAR, "--model", tiny_dir, "--runs-dir", tmp_path / "a") == 0
    a = only_run(tmp_path / "a")
    metrics = read_jsonl(a / "metrics.jsonl")
    assert all(m["train_tokens"] > 0 and m["groups_dropped"] < m["groups"] for m in metrics)
    assert json.loads((a / "best" / "verdict.json").read_text())["accepted"] is True
    assert (a / "best" / "answer.txt").is_file()
    from safetensors.torch import load_file

    w1 = load_file(a / "adapters" / "step_0001" / "adapter_model.safetensors")
    w2 = load_file(a / "adapters" / "step_0002" / "adapter_model.safetensors")
    assert any(not torch1.equal(w1[k], w2[k]) for k in w1)
    assert discover(*CHAR, "--model", tiny_dir, "--runs-dir", tmp_path / "b", "--stop-after", 1) == 0
    assert discover("--resume", only_run(tmp_path / "b")) == 0
    assert_same_checkpoint(a, only_run(tmp_path / "b"), 2, torch1)


def _children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (field 4 of /proc/N/stat is the parent's pid)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_kill_after_step_one_then_resume_is_exact(torch1, tiny_dir, tmp_path):
    """SIGKILL the CLI in a subprocess once the step-1 checkpoint exists, resume, compare with an
    uninterrupted run."""
    assert discover(*CHAR, "--model", tiny_dir, "--runs-dir", tmp_path / "a") == 0
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    cmd = [
        sys.executable,
        "-m",
        "agents.cli",
        *map(str, CHAR),
        "--model",
        tiny_dir,
        "--runs-dir",
        str(tmp_path / "b"),
        "--quiet",
        "--set",
        "max_new_tokens=10",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if list((tmp_path / "b").glob("*/*/adapters/step_0001/checkpoint.json")):
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    # Its spawned evaluation workers cannot be shut down by a SIGKILLed parent; they must exit by themselves.
    assert workers, "the CLI had no worker processes to check"
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], f"orphaned worker processes: {workers}"
    b = only_run(tmp_path / "b")
    assert discover("--resume", b) == 0
    assert_same_checkpoint(only_run(tmp_path / "a"), b, 2, torch1)


def test_a_failed_checkpoint_write_leaves_the_previous_one(torch1, tiny_dir, tmp_path, monkeypatch):
    """Atomic checkpoints: a crash while writing step 2 leaves step 1 complete and nothing half-written
    that resume would pick up."""
    from agents import rundir

    assert discover(*ERDOS, "--model", tiny_dir, "--runs-dir", tmp_path / "b", "--stop-after", 1) == 0
    run = only_run(tmp_path / "b")
    real = rundir.atomic_write_text

    def crash(path, text):
        if Path(path).name == "checkpoint.json":
            raise OSError("disk full (simulated)")
        return real(path, text)

    monkeypatch.setattr(rundir, "atomic_write_text", crash)
    with pytest.raises(OSError, match="simulated"):
        discover("--resume", run)
    monkeypatch.undo()
    assert not (run / "adapters" / "step_0002").exists()
    assert not [p for p in (run / "adapters").iterdir() if p.name.startswith(".tmp")]
    # a partial folder left by a hard kill (no checkpoint.json) is ignored too
    (run / "adapters" / "step_0002").mkdir()
    (run / "adapters" / "step_0002" / "adapter_model.safetensors").write_bytes(b"partial")
    assert rundir.latest_checkpoint(run)[0] == 1
