"""``tttd discover`` configuration and user errors: one sentence and exit status 2, never a
traceback; the config round-trips through TOML and every field can be overridden."""

import pytest

from agents.config import AgentConfig, ConfigError


def discover(*args):
    from tttd_envs.cli import main

    return main(["discover", *map(str, args)])


def test_config_toml_round_trip_and_overrides(tmp_path):
    pytest.importorskip("tomli_w")
    cfg = AgentConfig(
        env="ErdosMinOverlap-v0",
        steps=7,
        beta="2.5",
        env_kwargs={"initial": "constant"},
        env_imports=["x"],
        clip_ratio=0.2,
    )
    cfg.save(tmp_path / "c.toml")
    back = AgentConfig.load(tmp_path / "c.toml")
    assert back == cfg and back.beta_value == 2.5
    back.override(["lr=3e-4", "train=false", "puct-c=2", 'env_kwargs={"initial": "random"}', "group_size=16"])
    assert (back.lr, back.train, back.puct_c, back.env_kwargs, back.group_size) == (
        3e-4,
        False,
        2.0,
        {"initial": "random"},
        16,
    )


@pytest.mark.parametrize(
    "items, msg",
    [
        (["nope=1"], "expected KEY=VALUE with KEY a config field"),
        (["steps=two"], "steps expects int"),
        (["steps=1.5"], "steps expects int"),
        (["train=maybe"], "train expects bool"),
        (["env_kwargs=[1]"], "env_kwargs expects dict"),
    ],
)
def test_bad_overrides(items, msg):
    with pytest.raises(ConfigError, match=msg):
        AgentConfig(env="X").override(items)


@pytest.mark.parametrize(
    "field, value, msg",
    [
        ("steps", 0, "steps must be ≥ 1"),
        ("backend", "tgi", "backend must be"),
        ("sampler", "mcts", "sampler must be"),
        ("beta", "hot", "beta must be"),
        ("beta", "-1", "beta must be"),
        ("executor", "slurm", "executor must be"),
        ("clip_ratio", 1.5, "clip_ratio"),
        ("env", "", "no problem given"),
    ],
)
def test_validation_messages(field, value, msg):
    cfg = AgentConfig(env="ErdosMinOverlap-v0")
    setattr(cfg, field, value)
    with pytest.raises(ConfigError, match=msg):
        cfg.validate()


def test_unknown_config_file_fields(tmp_path):
    (tmp_path / "c.toml").write_text('env = "ErdosMinOverlap-v0"\nlearning_rate = 1\n')
    with pytest.raises(ConfigError, match="unknown config field"):
        AgentConfig.load(tmp_path / "c.toml")
    (tmp_path / "bad.toml").write_text("steps = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        AgentConfig.load(tmp_path / "bad.toml")


def test_yaml_config_file(tmp_path):
    """The same fields from YAML (the spec: TOML or YAML); values typed by YAML, coerced like TOML's."""
    pytest.importorskip("yaml")
    (tmp_path / "c.yaml").write_text(
        "env: CirclePacking26-v0\nsteps: 5\nlr: 3.0e-4\nbeta: adaptive\nenv_kwargs: {initial: constant}\ntrain: false\n"
    )
    cfg = AgentConfig.load(tmp_path / "c.yaml")
    assert (cfg.env, cfg.steps, cfg.lr, cfg.beta, cfg.env_kwargs, cfg.train) == (
        "CirclePacking26-v0",
        5,
        3e-4,
        "adaptive",
        {"initial": "constant"},
        False,
    )
    (tmp_path / "list.yml").write_text("- steps: 5\n")
    with pytest.raises(ConfigError, match="must hold one mapping"):
        AgentConfig.load(tmp_path / "list.yml")
    (tmp_path / "bad.yaml").write_text("steps: [1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        AgentConfig.load(tmp_path / "bad.yaml")
    (tmp_path / "unknown.yaml").write_text("learning_rate: 1\n")
    with pytest.raises(ConfigError, match="unknown config field"):
        AgentConfig.load(tmp_path / "unknown.yaml")


@pytest.mark.parametrize(
    "args, msg",
    [
        (["ErdosMinOverlp-v0"], "did you mean 'ErdosMinOverlap-v0'"),
        ([], "no problem given"),
        (["ErdosMinOverlap-v0", "--set", "bogus=1"], "KEY a config field"),
        (["ErdosMinOverlap-v0", "--model", "/no/such/model.gguf"], "no such GGUF file"),
        (["ErdosMinOverlap-v0", "--model", "not a model"], "unknown model"),
        (["ErdosMinOverlap-v0", "--config", "/no/such.toml"], "no such config file"),
        (["--resume", "/no/such/run"], "not a run directory"),
    ],
)
def test_user_errors_are_one_sentence(args, msg, capsys, tmp_path):
    assert discover(*args, "--runs-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_resume_refuses_to_change_the_run(tmp_path, capsys):
    pytest.importorskip("tomli_w")
    run = tmp_path / "run"
    run.mkdir()
    AgentConfig(env="ErdosMinOverlap-v0", lr=1e-4).save(run / "config.toml")
    assert discover("--resume", run, "--lr", 0.1) == 2
    assert "cannot change lr when resuming" in capsys.readouterr().err
    assert discover("CirclePacking26-v0", "--resume", run) == 2
    assert "is a run of ErdosMinOverlap-v0" in capsys.readouterr().err


def test_submit_goes_through_the_leaderboard_command(tmp_path, monkeypatch):
    """--submit runs `tttd submit` in a subprocess; the leaderboard re-verifies and stores the entry."""
    pytest.importorskip("sqlalchemy")
    from rich.console import Console

    from agents.cli import _submit

    db = tmp_path / "lb.db"
    monkeypatch.setenv("TTTD_LEADERBOARD_URL", f"sqlite:///{db}")
    best = tmp_path / "answer.json"
    best.write_text('{"construction": ' + str([0.5] * 100) + "}")
    cfg = AgentConfig(env="ErdosMinOverlap-v0", model="smollm2", submit_name="agent-test")
    console = Console(stderr=True)
    assert _submit(console, cfg, best, tmp_path / "2026-11-22T10-00-00") == 0
    import sqlite3

    rows = sqlite3.connect(db).execute("select problem, submitter, run_id, accepted, score from entries").fetchall()
    # h ≡ 1/2: M(h) = (2/n) · max_m Σ h_i (1 − h_{i+m}) = (2/100) · 100 · 1/4 = 1/2 (worked by hand)
    assert rows == [("ErdosMinOverlap-v0", "agent-test", "2026-11-22T10-00-00", 1, 0.5)]
    assert _submit(console, cfg, None, tmp_path) == 1  # nothing found: nothing submitted


def test_presets_and_print_config(tmp_path, capsys):
    """--preset paper carries the reference run's values; a config file, options and --set override it in
    that order; --print-config shows the resolved config and the placement without starting a run."""
    import tomllib

    assert discover("ErdosMinOverlap-v0", "--preset", "paper", "--print-config") == 0
    out = capsys.readouterr().out
    got = tomllib.loads(out)
    assert (got["steps"], got["groups"], got["group_size"], got["lora_rank"], got["lr"]) == (50, 8, 64, 32, 4e-5)
    assert (got["max_new_tokens"], got["budget_s"], got["backend"], got["beta"]) == (26000, 1000.0, "vllm", "adaptive")
    assert "# placement on this machine: trainer" in out and not (tmp_path / "runs").exists()
    (tmp_path / "c.toml").write_text("lr = 1e-5\nsteps = 20\n")
    assert (
        discover(
            "ErdosMinOverlap-v0",
            "--preset",
            "paper",
            "--config",
            tmp_path / "c.toml",
            "--steps",
            "7",
            "--set",
            "lora_rank=16",
            "--print-config",
        )
        == 0
    )
    got = tomllib.loads(capsys.readouterr().out)
    assert (got["lr"], got["steps"], got["lora_rank"], got["group_size"]) == (1e-5, 7, 16, 64)
    assert discover("ErdosMinOverlap-v0", "--preset", "cpu", "--print-config") == 0
    got = tomllib.loads(capsys.readouterr().out)
    assert (got["steps"], got["groups"], got["group_size"], got["lora_rank"]) == (3, 2, 4, 8)
    assert discover("ErdosMinOverlap-v0", "--preset", "papr") == 2
    err = capsys.readouterr().err
    assert "unknown preset 'papr'; did you mean 'paper'? (presets: cpu, paper)" in err and "Traceback" not in err


def test_a_hub_id_that_cannot_be_had_is_one_quick_sentence(monkeypatch, capsys, tmp_path):
    """A Hugging Face id that is neither cached nor reachable fails at once, not after the hub client's five
    retries with backoff (about 40 s before); a missing repository and HF_HUB_OFFLINE have their own sentences."""
    import time

    hub = pytest.importorskip("huggingface_hub")
    from agents import models

    monkeypatch.setattr(hub, "try_to_load_from_cache", lambda repo, name: None)
    calls = []

    def offline(self, repo_id, timeout=None):
        calls.append(timeout)
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(hub.HfApi, "model_info", offline)
    t = time.perf_counter()
    assert discover("ErdosMinOverlap-v0", "--model", "Qwen/NoSuchModel-1B", "--runs-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert "is not in the Hugging Face cache and huggingface.co cannot be reached" in err and err.count("\n") == 1
    assert calls == [10] and time.perf_counter() - t < 5 and not any(tmp_path.iterdir())

    def missing(self, repo_id, timeout=None):
        err = hub.errors.RepositoryNotFoundError.__new__(hub.errors.RepositoryNotFoundError)
        Exception.__init__(err, "404 Client Error: Repository Not Found")  # as the hub raises it, sans HTTP
        raise err

    monkeypatch.setattr(hub.HfApi, "model_info", missing)
    with pytest.raises(models.ModelError, match="there is no model 'Qwen/NoSuchModel-1B' on the Hugging Face Hub"):
        models.resolve("Qwen/NoSuchModel-1B")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelError, match="HF_HUB_OFFLINE is set"):
        models.resolve("Qwen/NoSuchModel-1B")
    monkeypatch.setattr(hub, "try_to_load_from_cache", lambda repo, name: "/cache/config.json")
    assert models.resolve("Qwen/NoSuchModel-1B").path == "Qwen/NoSuchModel-1B"  # cached: no question asked


def test_help_and_saved_config_explain_every_field(tmp_path, capsys):
    """The meaning of each field lives once, beside it in AgentConfig; --help and config.toml both show it,
    and the commented TOML still loads back to the same config."""
    import dataclasses

    from agents.config import field_help

    helps = field_help()
    assert set(helps) == {f.name for f in dataclasses.fields(AgentConfig)} and all(helps.values())
    assert helps["puct_group_visits"].endswith("(its issue #4)")  # continuation lines joined
    with pytest.raises(SystemExit):
        discover("--help")
    out = " ".join(capsys.readouterr().out.split())
    assert '--beta BETA "adaptive" (KL = ln 2) or a number, e.g. "2.0" (default \'adaptive\')' in out
    cfg = AgentConfig(env="ErdosMinOverlap-v0", env_kwargs={"initial": "random"}, stop=["]"], lr=3e-4)
    pytest.importorskip("tomli_w")
    cfg.save(tmp_path / "c.toml")
    text = (tmp_path / "c.toml").read_text()
    assert "# Adam learning rate of the LoRA adapter (paper: 4e-5)\nlr = 0.0003\n" in text
    assert "--resume RUN --steps N" in text and AgentConfig.load(tmp_path / "c.toml") == cfg


def test_resume_latest_finds_the_newest_run(tmp_path, capsys):
    import os
    import time

    pytest.importorskip("tomli_w")
    runs = tmp_path / "runs"
    for env, stamp in [("ErdosMinOverlap-v0", "a"), ("ErdosMinOverlap-v0", "b"), ("CirclePacking26-v0", "c")]:
        d = runs / env / stamp
        d.mkdir(parents=True)
        AgentConfig(env=env).save(d / "config.toml")
        os.utime(d / "config.toml", (time.time() + ord(stamp), time.time() + ord(stamp)))
    import argparse

    from agents.cli import _latest_run

    assert (
        _latest_run(argparse.Namespace(runs_dir=str(runs), problem="ErdosMinOverlap-v0"))
        == runs / "ErdosMinOverlap-v0" / "b"
    )
    assert _latest_run(argparse.Namespace(runs_dir=str(runs), problem=None)) == runs / "CirclePacking26-v0" / "c"
    assert discover("MolQED-v0", "--resume", "latest", "--runs-dir", runs) == 2
    assert "--resume latest: no run under" in capsys.readouterr().err
