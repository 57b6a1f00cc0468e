"""The agent's configuration: one dataclass, loadable from TOML, every field overridable on the
command line, saved into the run directory (docs/agent.md#knobs-worth-knowing).

Defaults are the CPU column of the spec's table; the paper-scale values are in the comments."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any, get_type_hints


class ConfigError(ValueError):
    """A configuration the user wrote is wrong (one sentence, no traceback)."""


@dataclasses.dataclass
class AgentConfig:
    # problem
    env: str = ""  # a tttd id, or any registered Gymnasium id with the text-action contract
    env_kwargs: dict = dataclasses.field(default_factory=dict)  # passed to gym.make
    env_imports: list = dataclasses.field(default_factory=list)  # modules to import so a custom id registers
    budget_s: float = 10.0  # evaluation budget per rollout (env budget_s; paper: 1000)
    # model and backend
    model: str = "smollm2"  # HF id, local directory, GGUF file, or "smollm2"
    backend: str = "transformers"  # transformers | vllm
    device: str = "auto"  # auto | cpu | cuda | cuda:N (the trainer's, and the transformers sampler's)
    trainer_devices: str = ""  # where the adapter trains (default: device); agents/placement.py
    trainer_parallel: str = "data"  # several trainer_devices: data (each holds the model) | fsdp (layers sharded)
    sampler_devices: str = ""  # vLLM's GPUs, tensor-parallel over all (default: the trainer's)
    eval_gpus: str = ""  # kernel problems: GPUs submissions are timed on, in turn (default: free ones)
    vllm_gpu_memory_utilization: float = 0.0  # vLLM's share of each GPU's memory (0: vLLM's default, 0.9)
    vllm_max_model_len: int = 0  # vLLM's context length (0: the model's)
    vllm_prefix_caching: bool = True  # vLLM reuses the KV cache of a shared prompt across a group
    vllm_sleep: str = (
        "auto"  # auto (when vLLM shares a GPU with the trainer) | on | off: free its memory during updates
    )
    vllm_server: str = (
        ""  # "" (vLLM in this process) | start (tttd runs a vLLM server on sampler_devices) | the URL of one running
    )
    vllm_server_python: str = ""  # vllm_server=start: the Python that has vLLM, e.g. another venv's (default: this one)
    vllm_server_timeout_s: float = 900.0  # vllm_server=start: how long to wait for the server to answer
    vllm_adapter_dir: str = (
        ""  # where adapters are saved for vLLM to load (a remote server needs a shared path; default: a temp dir)
    )
    dtype: str = "auto"  # auto (fp32 on CPU, bf16 on GPU) | float32 | bfloat16
    gradient_checkpointing: str = "auto"  # auto (on for CUDA) | on | off
    threads: int = 0  # torch CPU threads; 0: OMP_NUM_THREADS if set, else half the cores
    # search
    steps: int = 3  # steps of the run: sample, evaluate, train (paper: 50)
    groups: int = 2  # start states per step, each a group of answers (paper: 8)
    group_size: int = 4  # answers sampled per start state (paper: 64)
    max_new_tokens: int = 512  # longest answer in tokens, cut to the context left after the prompt (paper: 26000)
    temperature: float = 1.0  # sampling temperature (the trainer's log-probs use the same)
    answer_prefix: str = ""  # the answer starts with this text (format help for small models)
    stop: list = dataclasses.field(default_factory=list)  # stop strings: an answer ends after the first one
    sampler: str = "puct"  # how start states are picked: puct | greedy | fixed (the initial ones)
    puct_c: float = 1.0  # PUCT exploration constant c
    archive_cap: int = 1000  # states the PUCT archive keeps (the best, by value)
    topk_children: int = 2  # children of a state kept in the archive per step (the best k)
    puct_fill: str = "repeat"  # repeat | shrink
    puct_group_visits: bool = (
        False  # count PUCT visits per group (G = group_size in sqrt(1+T/G)/(1+n/G)):
        # upstream's formula without the G=1 override it ran with (its issue #4)
    )
    greedy_eps: float = 0.0  # sampler=greedy: chance of a random start state instead of the best
    # objective
    advantage: str = "entropic"  # group advantage: entropic (TTT-Discover's) | mean_baseline
    beta: str = "adaptive"  # "adaptive" (KL = ln 2) or a number, e.g. "2.0"
    train: bool = True  # False: frozen sampling (the baseline)
    lora_rank: int = 8  # LoRA rank (paper: 32)
    lora_alpha: float = 0.0  # 0: equal to the rank
    lora_dropout: float = 0.0  # LoRA dropout
    lora_targets: str = "all-linear"  # which modules get LoRA (peft target_modules)
    lr: float = 1e-4  # Adam learning rate of the LoRA adapter (paper: 4e-5)
    adam_beta1: float = 0.9  # Adam β1 (reference: 0.9)
    adam_beta2: float = 0.95  # Adam β2 (reference: 0.95)
    adam_eps: float = 1e-8  # Adam ε (reference: 1e-8)
    clip_ratio: float = 0.0  # PPO's clipped surrogate with ε = clip_ratio; 0 = off (paper option 0.2)
    kl_coef: float = 0.0  # KL penalty to the base model
    token_budget: int = 4096  # micro-batch size in tokens (bounds memory; a longer rollout goes alone)
    logprob_chunk_tokens: int = 4096  # full-vocabulary logits for at most this many tokens at once; 0 = whole batch
    share_prompt: str = "auto"  # train a group's answers on one pass of its prompt: auto | on | off
    # execution
    executor: str = "local"  # local | thread | ray
    workers: int = 0  # 0: the machine's cores
    ray_address: str = ""  # executor=ray: a cluster address (ray://head:10001, auto); "" = local Ray
    seed: int = 0  # the run's seed (sampling, start states, evaluation seeds)
    runs_dir: str = "runs"  # where run directories go: RUNS_DIR/<id>/<timestamp>/
    stop_after: int = 0  # stop after this many steps of this invocation (0 = run to `steps`)
    submit: bool = False  # submit the best artifact to the local leaderboard at the end
    submit_name: str = ""  # submitter name for submit
    # cost (agents/cost.py): rates that price a run, all 0 = nothing charged; prices are yours to set
    gpu_hour_usd: float = 0.0  # one GPU-hour (sampler and trainer on CUDA)
    cpu_hour_usd: float = 0.0  # one CPU-hour (sampler/trainer on CPU; evaluation, per CPU-second)
    sampler_usd_per_mtok_prompt: float = 0.0  # a hosted sampler's price per million prompt tokens
    sampler_usd_per_mtok_completion: float = 0.0  # ... per million completion tokens (either set: sampler
    # device time is not also charged)
    max_cost_usd: float = 0.0  # stop after the step where the run's cost reaches this (0 = no limit)
    # live views (agents/live.py), refreshed after every step besides plots/
    tensorboard: bool = True  # event files in RUN/tensorboard/ (`tensorboard --logdir runs/`)
    wandb: str = ""  # a Weights & Biases project name to log to; "" = off (pip install wandb)

    def validate(self) -> AgentConfig:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ConfigError(msg)

        need(bool(self.env), "no problem given; name one, e.g. `tttd discover ErdosMinOverlap-v0`")
        for name in ("steps", "groups", "group_size", "max_new_tokens", "lora_rank", "token_budget", "archive_cap"):
            need(int(getattr(self, name)) >= 1, f"{name} must be ≥ 1 (got {getattr(self, name)})")
        need(self.topk_children >= 1, "topk_children must be ≥ 1")
        need(self.backend in ("transformers", "vllm"), f"backend must be transformers or vllm, not {self.backend!r}")
        need(
            self.device == "auto" or _is_device(self.device),
            f"device must be auto, cpu, cuda or cuda:N, not {self.device!r}",
        )
        need(self.vllm_sleep in ("auto", "on", "off"), f"vllm_sleep must be auto, on or off, not {self.vllm_sleep!r}")
        need(
            self.trainer_parallel in ("data", "fsdp"),
            f"trainer_parallel must be data or fsdp, not {self.trainer_parallel!r}",
        )
        need(
            0 <= self.vllm_gpu_memory_utilization < 1,
            f"vllm_gpu_memory_utilization must be in [0, 1) (0: vLLM's default), "
            f"not {self.vllm_gpu_memory_utilization}",
        )
        need(
            self.vllm_server in ("", "start") or self.vllm_server.startswith(("http://", "https://")),
            f"vllm_server must be empty, start or an http(s):// URL, not {self.vllm_server!r}",
        )
        need(not self.vllm_server or self.backend == "vllm", "vllm_server applies to --backend vllm")
        need(self.vllm_server_timeout_s > 0, "vllm_server_timeout_s must be positive")
        need(self.vllm_max_model_len >= 0, "vllm_max_model_len must be ≥ 0 (0: the model's context)")
        need(
            self.dtype in ("auto", "float32", "bfloat16"),
            f"dtype must be auto, float32 or bfloat16, not {self.dtype!r}",
        )
        need(
            self.sampler in ("puct", "greedy", "fixed"), f"sampler must be puct, greedy or fixed, not {self.sampler!r}"
        )
        need(self.puct_fill in ("repeat", "shrink"), f"puct_fill must be repeat or shrink, not {self.puct_fill!r}")
        need(
            self.advantage in ("entropic", "mean_baseline"),
            f"advantage must be entropic or mean_baseline, not {self.advantage!r}",
        )
        need(
            self.executor in ("local", "thread", "ray"), f"executor must be local, thread or ray, not {self.executor!r}"
        )
        need(self.temperature > 0, "temperature must be positive")
        need(self.lr >= 0 and self.budget_s > 0, "lr must be ≥ 0 and budget_s positive")
        need(0 <= self.clip_ratio < 1, "clip_ratio must be in [0, 1)")
        need(self.threads >= 0, "threads must be ≥ 0 (0 = automatic)")
        need(self.logprob_chunk_tokens >= 0, "logprob_chunk_tokens must be ≥ 0 (0 = no chunking)")
        for name in (
            "gpu_hour_usd",
            "cpu_hour_usd",
            "sampler_usd_per_mtok_prompt",
            "sampler_usd_per_mtok_completion",
            "max_cost_usd",
        ):
            v = float(getattr(self, name))
            need(0 <= v < float("inf"), f"{name} must be a finite number ≥ 0 (got {v!r})")
        need(self.gradient_checkpointing in ("auto", "on", "off"), "gradient_checkpointing must be auto, on or off")
        need(self.share_prompt in ("auto", "on", "off"), "share_prompt must be auto, on or off")
        need(all(isinstance(x, str) and x for x in self.stop), "stop must be a list of non-empty strings")
        if self.beta != "adaptive":
            try:
                need(float(self.beta) > 0, "beta must be 'adaptive' or a positive number")
            except ValueError:
                raise ConfigError(f"beta must be 'adaptive' or a positive number, not {self.beta!r}") from None
        return self

    @property
    def beta_value(self) -> float | str:
        return "adaptive" if self.beta == "adaptive" else float(self.beta)

    # -- TOML ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_toml(), encoding="utf-8")

    def to_toml(self) -> str:
        """The config as TOML with each field's meaning (field_help) as a comment above it; tables last, as
        TOML requires."""
        import tomli_w

        helps = field_help()
        lines = [
            "# tttd discover configuration (agents/config.py); every field can be set here, with --set KEY=VALUE",
            "# or, for the common ones, with --KEY. `tttd discover --resume RUN --steps N` extends a run.",
            "",
        ]
        d = self.to_dict()
        for key in sorted(d, key=lambda k: isinstance(d[k], dict)):
            if helps.get(key):
                lines.append(f"# {helps[key]}")
            lines.append(tomli_w.dumps({key: d[key]}).rstrip("\n"))
        return "\n".join(lines) + "\n"

    @classmethod
    def load(cls, path: Path) -> AgentConfig:
        """A TOML file, or YAML when the name ends in .yaml/.yml (one mapping of config fields)."""
        return cls.from_dict(cls.read_fields(path))

    @classmethod
    def read_fields(cls, path: Path) -> dict[str, Any]:
        """The fields a TOML or YAML config file sets (names checked, values converted), as a dict."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"no such config file: {path}") from None
        if Path(path).suffix.lower() in (".yaml", ".yml"):
            import yaml  # PyYAML: installed with transformers (the agent extra)

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise ConfigError(f"{path} is not valid YAML ({' '.join(str(e).split())})") from None
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise ConfigError(f"{path} must hold one mapping of config fields, not a {type(data).__name__}")
            return cls._checked(data)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path} is not valid TOML ({e})") from None
        return cls._checked(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentConfig:
        cfg = cls()
        for k, v in cls._checked(data).items():
            setattr(cfg, k, v)
        return cfg

    @classmethod
    def _checked(cls, data: dict[str, Any]) -> dict[str, Any]:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return {k: _coerce(k, v) for k, v in data.items()}

    def override(self, items: list[str]) -> AgentConfig:
        """Apply KEY=VALUE strings (``--set lr=3e-4``)."""
        for item in items:
            key, sep, raw = item.partition("=")
            key = key.strip().replace("-", "_")
            names = [f.name for f in dataclasses.fields(self)]
            if not sep or key not in names:
                import difflib

                close = difflib.get_close_matches(key, names, n=1) if key else []
                raise ConfigError(
                    f"--set {item!r}: expected KEY=VALUE with KEY a config field"
                    + (f"; did you mean {close[0]}?" if close else "; see tttd discover --print-config")
                )
            setattr(self, key, _coerce(key, raw))
        return self


def field_help() -> dict[str, str]:
    """Each field's meaning: the comments written on its lines in AgentConfig's source (however the
    formatter wraps them; a long one goes inside parentheses), the one place it is stated. Used by
    --help and the saved config.toml."""
    import ast
    import inspect
    import io
    import textwrap
    import tokenize

    src = textwrap.dedent(inspect.getsource(AgentConfig))
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    out: dict[str, str] = {}
    for node in ast.parse(src).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            end = node.end_lineno or node.lineno
            out[node.target.id] = " ".join(comments[i] for i in range(node.lineno, end + 1) if i in comments)
    return out


#: Named starting points (``tttd discover --preset NAME``), applied before a config file, options and --set.
#: ``paper``: TTT-Discover's published run (test-time-training/discover, main branch of 2026-01-23: CLI
#: defaults of tinker_cookbook/recipes/ttt/train.py and its PUCT sampler), with the model the user names.
#: Its evaluation budget was 1000 s for every problem with a program budget (a card without one, kernels
#: and AtCoder, keeps its own limits). ``cpu``: the defaults above, sized for a laptop.
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {},
    "paper": {
        "steps": 50,
        "groups": 8,
        "group_size": 64,
        "max_new_tokens": 26000,
        "temperature": 1.0,
        "lora_rank": 32,
        "lr": 4e-5,
        "adam_beta1": 0.9,
        "adam_beta2": 0.95,
        "adam_eps": 1e-8,
        "advantage": "entropic",
        "beta": "adaptive",
        "kl_coef": 0.0,
        "clip_ratio": 0.0,
        "sampler": "puct",
        "puct_c": 1.0,
        "archive_cap": 1000,
        "topk_children": 2,
        "budget_s": 1000.0,
        "backend": "vllm",
        "logprob_chunk_tokens": 2048,
        "token_budget": 32768,
    },
}


def preset(name: str) -> dict[str, Any]:
    """A preset's field values; an unknown name is one sentence naming the choices."""
    if name not in PRESETS:
        import difflib

        close = difflib.get_close_matches(name, list(PRESETS), n=1)
        raise ConfigError(
            f"unknown preset {name!r}"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + f" (presets: {', '.join(PRESETS)})"
        )
    return dict(PRESETS[name])


_HINTS = get_type_hints(AgentConfig)


def _is_device(text: str) -> bool:
    import re

    return bool(re.fullmatch(r"cpu|cuda(:\d+)?", str(text)))


def _coerce(key: str, value: Any) -> Any:
    """Convert a TOML or command-line value to the field's type, with a clear message on failure."""
    typ = _HINTS[key]
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            s = str(value).strip().lower()
            if s in ("1", "true", "yes", "on"):
                return True
            if s in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if typ is float:
            return float(value)
        if typ is str:
            return str(value)
        if typ in (dict, list):
            v = json.loads(value) if isinstance(value, str) else value
            if not isinstance(v, typ):
                raise ValueError
            return v
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ConfigError(f"config field {key} expects {typ.__name__}, got {value!r}") from None
    return value
