"""Live views of a run (agents/live.py): plots/ and TensorBoard events rewritten after every step, so a
SIGKILLed run keeps them and its resume ends with exactly one event per step; a line per group's
sampling and evaluation on piped output; optional Weights & Biases logging."""

import os
import signal
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

from agents.loop import TIMING_FIELDS

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
CHAR = [
    "CharFraction-test-v0",
    "--set",
    'env_imports=["agent_envs"]',
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


def discover(*args) -> int:
    from tttd_envs.cli import main

    return main(["discover", *map(str, args)])


def only_run(runs_dir: Path) -> Path:
    (run,) = [p for p in runs_dir.glob("*/*") if p.is_dir()]
    return run


def read_jsonl(p: Path):
    import json

    return [json.loads(x) for x in p.read_text().splitlines() if x.strip()]


def untimed(rows):
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


def tb_scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag's (step, value) events, as TensorBoard's own reader sees them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def assert_pictures(run: Path) -> None:
    from PIL import Image

    names = sorted(p.name for p in (run / "plots").iterdir())
    assert names == ["best_so_far.png", "lineage.png", "reward.png"], names  # no temporary files left
    for p in (run / "plots").iterdir():
        assert p.read_bytes()[:8] == PNG, p
        with Image.open(p) as im:
            im.load()  # decodes the whole picture
            assert im.size[0] > 100 and im.size[1] > 100


def assert_tb_matches(tb: dict, metrics: list[dict], steps: list[int]) -> None:
    """One event per step for each tag, equal to metrics.jsonl where it has the field."""
    from agents.live import SCALARS

    for tag, events in tb.items():
        assert [s for s, _ in events] == sorted({s for s, _ in events}), (tag, events)  # no duplicates
    by_step = {m["step"]: m for m in metrics}
    for field, tag in SCALARS:
        want = [s for s in steps if by_step[s].get(field) is not None]
        if field in TIMING_FIELDS and not want:
            continue
        got = dict(tb.get(tag, []))
        if field not in TIMING_FIELDS:
            assert sorted(got) == want, (tag, got, want)
        for s in want:
            assert got[s] == pytest.approx(by_step[s][field], rel=1e-6, abs=1e-9), (tag, s)


@pytest.mark.slow
def test_killed_run_keeps_live_plots_and_tensorboard_and_resumes_to_the_same_results(torch1, tiny_dir, tmp_path):
    pytest.importorskip("tensorboard")
    steps = 3
    assert discover(*CHAR, "--steps", steps, "--model", tiny_dir, "--runs-dir", tmp_path / "a", "--quiet") == 0
    a = only_run(tmp_path / "a")
    tb_a = tb_scalars(a)
    assert_tb_matches(tb_a, read_jsonl(a / "metrics.jsonl"), [1, 2, 3])
    for tag in (
        "reward/mean",
        "reward/max",
        "best/score",
        "best/reward",
        "beta/mean",
        "valid_frac",
        "tokens/sampled",
        "tokens/prompt",
        "tokens/trained",
        "time/sample_s",
        "time/eval_wait_s",
        "time/train_s",
        "time/step_s",
    ):
        assert [s for s, _ in tb_a[tag]] == [1, 2, 3], tag

    # the same run in a subprocess (piped stderr), SIGKILLed once step 1's line is out: the display
    # prints it after the step's checkpoint, plots and TensorBoard events
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
        "--steps",
        str(steps),
        "--model",
        tiny_dir,
        "--runs-dir",
        str(tmp_path / "b"),
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines, step1 = [], threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("step 1/"):
                step1.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        step1.wait(240)
        assert step1.is_set() and proc.poll() is None, "".join(lines)[-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
        reader.join(10)
    assert any(x.startswith("step 1: group 2/2 evaluated") for x in lines), "".join(lines)
    b = only_run(tmp_path / "b")
    done = read_jsonl(b / "metrics.jsonl")
    assert done and done[0]["step"] == 1
    assert_pictures(b)
    tb_b = tb_scalars(b)
    assert_tb_matches(tb_b, done, [m["step"] for m in done])
    assert sorted(tb_b) == sorted(tb_a)
    untimed_tags = [t for t in tb_a if not t.startswith(("time/", "cost/"))]
    assert {t: tb_b[t][:1] for t in untimed_tags} == {t: tb_a[t][:1] for t in untimed_tags}
    assert (b / "tensorboard" / "last_step.txt").read_text().strip() == str(done[-1]["step"])

    # resumed: the same results as the uninterrupted run, one event per step and tag
    assert discover("--resume", b, "--quiet") == 0
    metrics = read_jsonl(b / "metrics.jsonl")
    assert untimed(metrics) == untimed(read_jsonl(a / "metrics.jsonl"))
    assert (b / "archive.jsonl").read_text() == (a / "archive.jsonl").read_text()
    assert_pictures(b)
    tb_b = tb_scalars(b)
    assert sorted(tb_b) == sorted(tb_a)
    for tag in tb_a:
        assert [s for s, _ in tb_b[tag]] == [s for s, _ in tb_a[tag]], tag
    assert_tb_matches(tb_b, metrics, [1, 2, 3])
    assert len(list((b / "tensorboard").glob("events.out.tfevents.*"))) == 2


def test_tensorboard_resume_redoes_and_fills_steps_exactly_once(tmp_path):
    """The two ways a kill can leave the events out of step with the checkpoint: events of a step after
    it (redone on resume, the old values purged), and a checkpointed step without events (written on resume)."""
    pytest.importorskip("tensorboard")
    from types import SimpleNamespace

    from agents.config import AgentConfig
    from agents.live import LiveOutputs

    def row(step, reward):
        return {"step": step, "reward_mean": reward, "best_score": None, "train_tokens": 7}

    def session(checkpoint, rows, metrics):
        disc = SimpleNamespace(run_dir=tmp_path, cfg=AgentConfig(env="X-v0"), step_no=checkpoint, metrics=metrics)
        out = LiveOutputs(disc, plots_every_step=False)
        for m in rows:
            out.after_step(disc, m)
        return out  # never closed: a SIGKILL

    session(0, [row(1, 0.1), row(2, 0.2), row(3, 0.3)], [])
    # checkpoint 2, events up to 3: step 3 is redone with another value
    session(2, [row(3, 0.33)], [row(1, 0.1), row(2, 0.2)])
    # a kill after checkpoint 4 but before its events (last_step.txt says 3): step 4 is written on resume
    assert (tmp_path / "tensorboard" / "last_step.txt").read_text() == "3\n"
    out = session(4, [row(5, 0.5)], [row(1, 0.1), row(2, 0.2), row(3, 0.33), row(4, 0.4)])
    out.close()
    tb = tb_scalars(tmp_path)
    assert [s for s, _ in tb["reward/mean"]] == [1, 2, 3, 4, 5]
    assert [round(v, 6) for _, v in tb["reward/mean"]] == [0.1, 0.2, 0.33, 0.4, 0.5]
    assert [s for s, _ in tb["tokens/trained"]] == [1, 2, 3, 4, 5]
    assert "best/score" not in tb  # None: no valid answer yet, nothing logged


def test_piped_output_shows_each_group_sampled_and_evaluated(torch1, tiny_dir, tmp_path, capsys):
    assert discover(*CHAR, "--steps", 2, "--model", tiny_dir, "--runs-dir", tmp_path / "a") == 0
    err = capsys.readouterr().err.splitlines()
    metrics = read_jsonl(only_run(tmp_path / "a") / "metrics.jsonl")
    import re

    for m in metrics:
        t, valid = m["step"], 0
        for g in (1, 2):
            sampled = [
                i
                for i, x in enumerate(err)
                if re.fullmatch(rf"step {t}: group {g}/2 sampled \(4 answers, \d+ tokens, \d+\.\ds\)", x)
            ]
            evaluated = [
                i
                for i, x in enumerate(err)
                if re.fullmatch(rf"step {t}: group {g}/2 evaluated: \d/4 valid, best reward \S+", x)
            ]
            assert len(sampled) == 1 and len(evaluated) == 1, (t, g, err)
            assert sampled[0] < evaluated[0]
            valid += int(err[evaluated[0]].split(": ")[2].split("/")[0])
        done = [i for i, x in enumerate(err) if x.startswith(f"step {t}/2:")]
        assert len(done) == 1 and done[0] > evaluated[0]
        assert valid == round(m["valid_frac"] * m["rollouts"])
    # --quiet keeps its promise: one line per step
    assert discover(*CHAR, "--steps", 1, "--model", tiny_dir, "--runs-dir", tmp_path / "q", "--quiet") == 0
    assert " group " not in capsys.readouterr().err


def test_wandb_not_installed_is_one_sentence_before_any_run_directory(tiny_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` raises ImportError
    assert discover(*CHAR, "--steps", 1, "--model", tiny_dir, "--runs-dir", tmp_path / "r", "--wandb", "proj") == 2
    err = capsys.readouterr().err
    assert "pip install wandb" in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


class FakeWandb(types.ModuleType):
    """Records ``wandb.init(...)`` and the run's ``log``/``finish`` calls."""

    def __init__(self):
        super().__init__("wandb")
        self.inits, self.logs, self.finished = [], [], 0

    def init(self, **kw):
        self.inits.append(kw)
        fake = self

        class Run:
            def log(self, data, step=None):
                fake.logs.append((step, dict(data)))

            def finish(self):
                fake.finished += 1

        return Run()


def test_wandb_logs_the_config_once_and_each_step_once(torch1, tiny_dir, tmp_path, monkeypatch):
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    args = [*CHAR, "--steps", 2, "--model", tiny_dir, "--quiet"]
    assert discover(*args, "--runs-dir", tmp_path / "r", "--wandb", "proj", "--stop-after", 1) == 0
    run = only_run(tmp_path / "r")
    assert discover("--resume", run, "--quiet") == 0  # goes on in the same W&B run
    assert len(fake.inits) == 2 and fake.finished == 2
    first, again = fake.inits
    assert first["project"] == "proj" and first["config"]["env"] == "CharFraction-test-v0"
    assert first["config"]["wandb"] == "proj" and first["dir"] == str(run)
    assert again["id"] == first["id"] and again["resume"] == "allow"
    assert [s for s, _ in fake.logs] == [1, 2]
    metrics = read_jsonl(run / "metrics.jsonl")
    for (_step, data), m in zip(fake.logs, metrics):
        assert {
            "reward/mean",
            "reward/max",
            "best/score",
            "best/reward",
            "beta/mean",
            "valid_frac",
            "tokens/sampled",
            "tokens/prompt",
            "tokens/trained",
            "time/sample_s",
            "time/eval_wait_s",
            "time/train_s",
            "time/step_s",
        } <= data.keys()
        assert data["reward/mean"] == m["reward_mean"] and data["tokens/sampled"] == m["sampled_tokens"]


def test_a_plotting_error_is_reported_once_and_the_run_goes_on(torch1, tiny_dir, tmp_path, monkeypatch, capsys):
    from agents import plots

    calls = []

    def broken(*a, **k):
        calls.append(1)
        raise RuntimeError("no room for pictures (simulated)")

    monkeypatch.setattr(plots, "write_all", broken)
    assert discover(*CHAR, "--steps", 2, "--model", tiny_dir, "--runs-dir", tmp_path / "r", "--quiet") == 0
    run = only_run(tmp_path / "r")
    assert [m["step"] for m in read_jsonl(run / "metrics.jsonl")] == [1, 2]
    assert len(calls) == 3  # after each step, and once more at the end
    assert capsys.readouterr().err.count("plotting failed (RuntimeError: no room for pictures (simulated))") == 1
    assert (run / "run.log").read_text().count("plotting failed") == 1
