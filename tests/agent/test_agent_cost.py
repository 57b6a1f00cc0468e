"""The cost of a discovery (agents/cost.py): every figure of a scripted run checked against numbers
worked out by hand; ``--max-cost`` stops at a step boundary and ``--resume`` with a higher limit
continues to the uninterrupted run's results; the estimate printed before a run; the cost in a
``--submit``'s provenance."""

import itertools
import json
import re
import types
from pathlib import Path

import gymnasium as gym
import pytest
from agent_envs import CharFractionEnv

from agents import cost, executors
from agents.config import AgentConfig
from verifiers import Verdict

ENV_ID = "CostScripted-test-v0"
CHILD_CPU_S = 0.25  # every Verdict says its sandboxed program used 0.25 CPU-seconds
WORKER_CPU_S = 0.5  # the scripted worker clock advances 0.5 s across each env.step
SAMPLE_S = 1.5  # the scripted sampler takes 1.5 s per group
TRAIN_S = 2.0  # ... and the trainer 2 s per update
PROMPT_LEN = 7  # tokens per prompt
TRAIN_TOKENS = 40


class CpuVerdictEnv(CharFractionEnv):
    """CharFraction whose Verdict reports the CPU seconds of a sandboxed child, as math verifiers do."""

    def step(self, action):
        obs, reward, term, trunc, info = super().step(action)
        v = info["verdict"]
        info["verdict"] = Verdict(
            accepted=v.accepted,
            status=v.status,
            message=v.message,
            score=v.score,
            details={"cpu_s": CHILD_CPU_S, "elapsed_s": 9.0},
            verifier=v.verifier,
        )
        return obs, reward, term, trunc, info


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point=CpuVerdictEnv)


class Clock:
    t = 100.0

    def perf_counter(self):
        return self.t


class ScriptedPolicy:
    """Answers of 2, 3, 4, ... tokens to a 7-token prompt; sampling a group takes SAMPLE_S on the
    loop's clock, and an update reports TRAIN_S and TRAIN_TOKENS."""

    def __init__(self, clock: Clock, device: str, cpu_threads: int | None = None) -> None:
        self.clock, self.device, self.cpu_threads = clock, device, cpu_threads

    def prompt_ids(self, prompt):
        return list(range(PROMPT_LEN))

    def sample(self, prompt_ids, n, seed, max_new_tokens=None):
        from agents.transformers_policy import Rollout

        self.clock.t += SAMPLE_S
        return [Rollout(list(prompt_ids), [5] * (2 + i), [-1.0] * (2 + i), "a" * (i + 1) + "b", True) for i in range(n)]

    def update(self, rollouts, advantages):
        return {"loss": 0.0, "train_tokens": TRAIN_TOKENS, "rho_mean": 1.0, "clip_frac": 0.0, "train_s": TRAIN_S}

    def save(self, directory, *, optimizer=True):
        (Path(directory) / "adapter_model.safetensors").write_bytes(b"")

    def load(self, directory):
        pass


def scripted_run(tmp_path, monkeypatch, device, cpu_threads=None, **rates):
    from agents import loop

    clock = Clock()
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    ticks = itertools.count()
    monkeypatch.setattr(executors, "_cpu_clock", lambda: WORKER_CPU_S * next(ticks))
    cfg = AgentConfig(env=ENV_ID, steps=2, groups=2, group_size=3, executor="thread", workers=1, seed=1, **rates)
    result = loop.Discovery(cfg, tmp_path / "run", policy=ScriptedPolicy(clock, device, cpu_threads)).run()
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and result.stop_reason is None
    return rows


# Per step, worked by hand: 2 groups × 3 answers = 6 rollouts of a 7-token prompt → 42 prompt tokens;
# answers of 2 + 3 + 4 tokens per group → 18 completion tokens; sampling 2 × 1.5 s = 3 device-seconds,
# training 2 device-seconds (one device); evaluation 6 × (0.25 child + 0.5 worker) = 4.5 CPU-seconds.
USAGE = {
    "prompt_tokens": 42,
    "completion_tokens": 18,
    "sampled_tokens": 18,
    "train_tokens": 40,
    "sampler_device_s": 3.0,
    "trainer_device_s": 2.0,
    "eval_cpu_s": 4.5,
}


def check_step(row, usage, usd):
    for k, v in usage.items():
        assert row[k] == pytest.approx(v, rel=1e-12, abs=0), k
    for k, v in usd.items():
        assert row[k] == pytest.approx(v, rel=1e-12, abs=0), k


def test_costs_of_a_gpu_run_by_hand(tmp_path, monkeypatch):
    rows = scripted_run(tmp_path, monkeypatch, "cuda", gpu_hour_usd=2.0, cpu_hour_usd=0.5)
    # $2 per GPU-hour: sampler 3 s → 6/3600 $, trainer 2 s → 4/3600 $; evaluation at $0.5 per CPU-hour:
    # 4.5 s → 2.25/3600 $; the step 12.25/3600 $, and the run after two steps 24.5/3600 $.
    usd = {"sampler_usd": 6 / 3600, "trainer_usd": 4 / 3600, "eval_usd": 2.25 / 3600, "cost_usd": 12.25 / 3600}
    check_step(rows[0], USAGE, {**usd, "cost_usd_total": 12.25 / 3600})
    check_step(rows[1], USAGE, {**usd, "cost_usd_total": 24.5 / 3600})
    assert rows[0]["cost_device"] == "gpu"


def test_costs_of_a_hosted_sampler_by_hand(tmp_path, monkeypatch):
    rows = scripted_run(
        tmp_path,
        monkeypatch,
        "cpu",
        cpu_hour_usd=0.36,
        gpu_hour_usd=99.0,
        sampler_usd_per_mtok_prompt=3.0,
        sampler_usd_per_mtok_completion=15.0,
    )
    # tokens: 42 × $3 + 18 × $15 per million = $396e-6, and the sampler's 3 device-seconds are not also
    # charged; trainer on the CPU: 2 s × $0.36/3600 = $0.0002; evaluation 4.5 s × $0.36/3600 = $0.00045.
    # The GPU rate does not apply (the policy is on the CPU).
    usd = {"sampler_usd": 396e-6, "trainer_usd": 0.0002, "eval_usd": 0.00045, "cost_usd": 0.001046}
    check_step(rows[0], USAGE, {**usd, "cost_usd_total": 0.001046})
    check_step(rows[1], USAGE, {**usd, "cost_usd_total": 0.002092})
    assert rows[0]["cost_device"] == "cpu"


def test_a_cpu_policy_is_charged_per_core(tmp_path, monkeypatch):
    """On the CPU a device-second is a core-second: a policy on 2 torch threads uses 2 × 1.5 s per
    group to sample (6 core-seconds a step) and 2 × 2 s to train (4); at $0.36 per CPU-hour that is
    $0.0006 + $0.0004, plus evaluation 4.5 s × $0.36/3600 = $0.00045: $0.00145 a step."""
    rows = scripted_run(tmp_path, monkeypatch, "cpu", cpu_threads=2, cpu_hour_usd=0.36)
    usage = {**USAGE, "sampler_device_s": 6.0, "trainer_device_s": 4.0}
    usd = {"sampler_usd": 0.0006, "trainer_usd": 0.0004, "eval_usd": 0.00045, "cost_usd": 0.00145}
    check_step(rows[0], usage, {**usd, "cost_usd_total": 0.00145})
    check_step(rows[1], usage, {**usd, "cost_usd_total": 0.0029})


def test_no_rates_charge_nothing_and_say_so(tmp_path, monkeypatch):
    rows = scripted_run(tmp_path, monkeypatch, "cuda")
    check_step(
        rows[1],
        USAGE,
        {"sampler_usd": 0.0, "trainer_usd": 0.0, "eval_usd": 0.0, "cost_usd": 0.0, "cost_usd_total": 0.0},
    )
    cfg = AgentConfig(env=ENV_ID)
    text = cost.summary_text(cfg, rows)
    assert text.startswith("$0 (no rates set") and "gpu_hour_usd" in text
    # the usage is still reported: 84 prompt + 36 completion tokens, 80 trained, 6 + 4 device-s, 9 CPU-s
    assert "84 prompt + 36 completion tokens, 80 trained" in text
    assert "sampler 6.0 device-s, trainer 4.0 device-s, evaluation 9 CPU-s" in text


def test_eval_cpu_seconds_from_scripted_verdicts():
    worker = {"eval_cpu_s": 0.125}
    assert cost.rollout_eval_cpu_s({**worker, "verdict": {"details": {"cpu_s": 1.5}}}) == 1.625
    # the sandbox may not report it (None): the worker's CPU alone
    assert cost.rollout_eval_cpu_s({**worker, "verdict": {"details": {"cpu_s": None}}}) == 0.125
    # AtCoder: one sandboxed run per test case, each with its own cpu_s
    cases = {"cases": [{"cpu_s": 0.5}, {"cpu_s": 0.25}, {"cpu_s": None}]}
    assert cost.rollout_eval_cpu_s({**worker, "verdict": {"details": cases}}) == 0.875
    # a verdict with no details, an older result with no worker figure
    assert cost.rollout_eval_cpu_s({"verdict": {"details": {}}}) == 0.0


def test_the_worker_measures_its_own_cpu_time():
    spec = executors.EnvSpec(ENV_ID)
    out = executors.evaluate(spec, CharFractionEnv().reset()[1]["state"].to_dict(), "aab", 0)
    assert out["accepted"] and out["verdict"]["details"]["cpu_s"] == CHILD_CPU_S
    assert isinstance(out["eval_cpu_s"], float) and 0.0 <= out["eval_cpu_s"] < 5.0


def test_estimate_before_a_run():
    cfg = AgentConfig(
        env=ENV_ID,
        steps=5,
        groups=8,
        group_size=64,
        max_new_tokens=1000,
        sampler_usd_per_mtok_prompt=1.0,
        sampler_usd_per_mtok_completion=4.0,
    )
    text = "\n".join(cost.estimate(cfg, prompt_tokens=300))
    # 5 × 8 × 64 = 2560 rollouts; at most 2560 × 1000 = 2,560,000 completion tokens, × $4/M = $10.24;
    # prompts about 2560 × 300 = 768,000 tokens, × $1/M = $0.768
    assert "5 steps × 8 groups × 64 answers = 2560 rollouts" in text
    assert "completion tokens: at most 2,560,000 (upper bound" in text
    assert "train tokens: at most 2,560,000 (upper bound" in text
    assert "prompt tokens: about 768,000 (300 per rollout, the first prompt; not a bound" in text
    assert "hosted sampler: completion at most $10.24 (upper bound), prompts about $0.768" in text
    assert "no rates set" not in text
    # resumed after step 3 of a run that has cost $1.5, with a limit and hourly rates
    cfg = AgentConfig(
        env=ENV_ID,
        steps=5,
        groups=2,
        group_size=4,
        max_new_tokens=10,
        train=False,
        gpu_hour_usd=2.0,
        cpu_hour_usd=0.1,
        max_cost_usd=3.0,
    )
    text = "\n".join(cost.estimate(cfg, first_step=4, device="gpu", spent_usd=1.5))
    assert "steps 4..5: 2 steps × 2 groups × 4 answers = 16 rollouts" in text
    assert "completion tokens: at most 160 " in text and "train tokens: at most 0 " in text
    assert "GPU time of sampling and training at $2.00/device-hour" in text
    assert "evaluation CPU time at $0.1/CPU-hour" in text
    assert "spent so far: $1.50" in text and "--max-cost $3.00: the run stops" in text
    assert "no rates set" in "\n".join(cost.estimate(AgentConfig(env=ENV_ID)))


def test_rates_are_validated():
    from agents.config import ConfigError

    for field, value in (("gpu_hour_usd", -1.0), ("max_cost_usd", float("inf")), ("cpu_hour_usd", float("nan"))):
        with pytest.raises(ConfigError, match=f"{field} must be a finite number ≥ 0"):
            AgentConfig(env=ENV_ID, **{field: value}).validate()


# -- through `tttd discover` with the tiny model ---------------------------------------------------
def discover(*args) -> int:
    from tttd_envs.cli import main

    return main(["discover", *map(str, args), "--quiet"])


def read_jsonl(p: Path):
    return [json.loads(x) for x in p.read_text().splitlines() if x.strip()]


# token prices only: the cost is a function of the tokens, so it is the same in every run of this config
CHAR = [
    "CharFraction-test-v0",
    "--set",
    'env_imports=["agent_envs"]',
    "--steps",
    3,
    "--groups",
    2,
    "--group-size",
    4,
    "--max-new-tokens",
    10,
    "--lr",
    0.05,
    "--executor",
    "thread",
    "--workers",
    1,
    "--seed",
    3,
    "--set",
    "sampler_usd_per_mtok_prompt=1",
    "--set",
    "sampler_usd_per_mtok_completion=2",
]


def test_max_cost_stops_at_a_step_boundary_and_resume_continues_exactly(
    torch1, tiny_dir, tmp_path, capsys, monkeypatch
):
    from test_agent_e2e import assert_same_checkpoint, only_run

    monkeypatch.setenv("COLUMNS", "400")  # the summary table on one line per row
    assert discover(*CHAR, "--model", tiny_dir, "--runs-dir", tmp_path / "a") == 0
    err = capsys.readouterr().err
    a = only_run(tmp_path / "a")
    totals = [m["cost_usd_total"] for m in read_jsonl(a / "metrics.jsonl")]
    assert len(totals) == 3 and 0 < totals[0] < totals[1] < totals[2]
    # the estimate before the run: 3 × 2 × 4 = 24 rollouts, ≤ 240 completion tokens × $2/M = $0.00048
    assert "cost estimate for steps 1..3: 3 steps × 2 groups × 4 answers = 24 rollouts" in err
    assert "completion tokens: at most 240 (upper bound" in err
    assert "hosted sampler: completion at most $0.00048 (upper bound)" in err
    n, per = re.search(r"prompt tokens: about ([\d,]+) \((\d+) per", err).groups()
    n, per = int(n.replace(",", "")), int(per)
    assert n == 24 * per and per > 0
    assert "cost estimate" in (a / "run.log").read_text()
    # the summary: the run's cost and what it used
    assert re.search(
        r"cost +│ " + re.escape(f"{cost.usd(totals[2])} = sampler {cost.usd(totals[2])}, trainer $0, evaluation $0;"),
        err,
    )

    limit = (totals[0] + totals[1]) / 2  # reached by step 2, not by step 1
    assert discover(*CHAR, "--model", tiny_dir, "--runs-dir", tmp_path / "b", "--max-cost", limit) == 0
    err = capsys.readouterr().err
    b = only_run(tmp_path / "b")
    assert [m["step"] for m in read_jsonl(b / "metrics.jsonl")] == [1, 2]
    assert (
        f"stopped after step 2/3: the run has cost {cost.usd(totals[1])}, reaching --max-cost {cost.usd(limit)}"
    ) in err
    assert f"tttd discover --resume {b} --max-cost USD" in err
    assert (b / "adapters" / "step_0002" / "checkpoint.json").is_file()
    assert not (b / "adapters" / "step_0003").exists()
    assert "stopped after step 2/3" in (b / "run.log").read_text()

    # resumed under the same limit: it stops again at once, nothing run
    assert discover("--resume", b) == 0
    assert "stopped after step 2/3" in capsys.readouterr().err
    assert [m["step"] for m in read_jsonl(b / "metrics.jsonl")] == [1, 2]

    # a higher limit: step 3 runs, to the uninterrupted run's results (its cost included)
    assert discover("--resume", b, "--max-cost", 1.0) == 0
    err = capsys.readouterr().err
    assert "cost estimate for steps 3..3" in err and f"spent so far: {cost.usd(totals[1])}" in err
    assert "stopped after" not in err
    assert AgentConfig.load(b / "config.toml").max_cost_usd == 1.0
    assert_same_checkpoint(a, b, 3, torch1)
    assert [m["cost_usd_total"] for m in read_jsonl(b / "metrics.jsonl")] == totals
    fields = ("prompt_tokens", "completion_tokens", "train_tokens", "sampler_usd", "cost_usd")
    assert [[m[k] for k in fields] for m in read_jsonl(b / "metrics.jsonl")] == [
        [m[k] for k in fields] for m in read_jsonl(a / "metrics.jsonl")
    ]


def test_max_cost_is_the_one_cost_setting_resume_may_change(tmp_path, capsys):
    pytest.importorskip("tomli_w")
    run = tmp_path / "run"
    run.mkdir()
    AgentConfig(env="ErdosMinOverlap-v0").save(run / "config.toml")
    assert discover("--resume", run, "--set", "gpu_hour_usd=3") == 2
    assert "cannot change gpu_hour_usd when resuming" in capsys.readouterr().err


def test_submit_carries_the_runs_cost(tmp_path, monkeypatch, capsys):
    """--submit passes the run's cost and usage to `tttd submit --run-cost`, which keeps them with the
    entry (structured, not in its notes); an unpriced run still records its usage."""
    pytest.importorskip("sqlalchemy")
    import sqlite3

    from rich.console import Console

    from agents.cli import _submit
    from tttd_envs.cli import main

    db = tmp_path / "lb.db"
    monkeypatch.setenv("TTTD_LEADERBOARD_URL", f"sqlite:///{db}")
    metrics = [
        {
            "prompt_tokens": 700,
            "completion_tokens": 80,
            "train_tokens": 60,
            "sampler_device_s": 1.5,
            "trainer_device_s": 2.0,
            "eval_cpu_s": 0.75,
            "cost_usd": 5.0,
            "cost_usd_total": 5.0,
        },
        {
            "prompt_tokens": 714,
            "completion_tokens": 77,
            "train_tokens": 0,
            "sampler_device_s": 1.25,
            "trainer_device_s": 0.0,
            "eval_cpu_s": 0.5,
            "cost_usd": 7.3456,
            "cost_usd_total": 12.3456,
        },
    ]
    cfg = AgentConfig(env="ErdosMinOverlap-v0", submit_name="agent-test", gpu_hour_usd=2.0)
    run_cost = cost.run_cost(cfg, metrics)
    assert run_cost == {
        "cost_usd": 12.3456,
        "prompt_tokens": 1414,
        "completion_tokens": 157,
        "train_tokens": 60,
        "sampler_device_s": 2.75,
        "trainer_device_s": 2.0,
        "eval_cpu_s": 1.25,
        "rates": "set",
    }
    unpriced = cost.run_cost(AgentConfig(env="ErdosMinOverlap-v0"), [{**m, "cost_usd_total": 0.0} for m in metrics])
    assert unpriced == {**run_cost, "cost_usd": 0.0, "rates": "unset"}
    best = tmp_path / "answer.json"
    best.write_text('{"construction": ' + str([0.5] * 100) + "}")
    assert _submit(Console(stderr=True), cfg, best, tmp_path / "2026-11-22T10-00-00", run_cost=run_cost) == 0
    assert "--run-cost" in capsys.readouterr().err
    rows = sqlite3.connect(db).execute("select run_id, notes, run_cost, accepted from entries").fetchall()
    assert [(r[0], r[1], json.loads(r[2]), r[3]) for r in rows] == [("2026-11-22T10-00-00", "", run_cost, 1)]
    other = tmp_path / "other.json"
    other.write_text('{"construction": ' + str([0.5] * 50) + "}")
    assert _submit(Console(stderr=True), cfg, other, tmp_path / "2026-11-22T11-00-00", run_cost=unpriced) in (0, 1)
    stored = sqlite3.connect(db).execute("select run_cost from entries where id = 2").fetchone()
    assert json.loads(stored[0]) == unpriced
    capsys.readouterr()
    # the old flag is gone: argparse refuses it (nothing stored)
    with pytest.raises(SystemExit) as exc:
        main(["submit", "ErdosMinOverlap-v0", str(other), "--name", "x", "--cost-usd", "1"])
    assert exc.value.code == 2
    assert sqlite3.connect(db).execute("select count(*) from entries").fetchone() == (2,)


def test_a_refused_submit_is_one_sentence_not_a_traceback(tmp_path, monkeypatch, capfd):
    """The submit subprocess goes through tttd's main(), so a leaderboard error is its one sentence
    (run as `python -m tttd_envs.cli` the module loaded twice and the error came out as a traceback)."""
    pytest.importorskip("sqlalchemy")
    from rich.console import Console

    from agents.cli import _submit

    monkeypatch.setenv("TTTD_LEADERBOARD_URL", f"sqlite:///{tmp_path / 'lb.db'}")
    best = tmp_path / "answer.json"
    best.write_text('{"construction": ' + str([0.5] * 100) + "}")
    cfg = AgentConfig(env="ErdosMinOverlap-v0", submit_name="agent-test")
    assert _submit(Console(stderr=True), cfg, best, tmp_path / "run", run_cost={"prompt_tokens": 3}) == 2
    err = capfd.readouterr().err
    assert "Traceback" not in err and "cost_usd" in err
