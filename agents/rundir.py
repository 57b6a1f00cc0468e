"""The run directory and its checkpoints (docs/agent.md#one-step).

    runs/<env-id>/<timestamp>/
        config.toml  archive.jsonl  metrics.jsonl  run.log
        adapters/step_NNNN/   adapter_model.safetensors, adapter_config.json (peft format);
                              the latest ones also hold optimizer.pt and checkpoint.json
        best/                 the best verified artifact, its Verdict and its state
        plots/                best_so_far.png, reward.png, lineage.png

A step's checkpoint is its ``adapters/step_NNNN`` folder, written under a temporary name and renamed
in one ``os.replace``: a kill at any moment leaves either the previous checkpoint or the new one,
never half of one. The human-readable files at the top are rewritten atomically from the checkpoint.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

KEEP_FULL_CHECKPOINTS = 2  # older step folders keep only the adapter (optimizer state can be large)
ARTIFACT_EXT = {"python": ".py", "cpp": ".cpp", "kernel": ".py", "smiles": ".txt", "json": ".json"}


def new_run_dir(runs_dir: str | Path, env_id: str, now: _dt.datetime | None = None) -> Path:
    now = now or _dt.datetime.now(_dt.UTC)
    base = Path(runs_dir) / env_id.replace("/", "_") / now.strftime("%Y-%m-%dT%H-%M-%S")
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    (path / "adapters").mkdir(parents=True)
    (path / "plots").mkdir()
    (path / "best").mkdir()
    return path


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_text(
        path, "".join(json.dumps(r, separators=(",", ":"), allow_nan=False, default=_json_default) + "\n" for r in rows)
    )


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _json_default(o: Any):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def step_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "adapters" / f"step_{step:04d}"


def write_checkpoint(run_dir: Path, step: int, policy, state: dict[str, Any]) -> Path:
    """Write adapter + optimizer + ``checkpoint.json`` for ``step`` atomically; prune old ones."""
    final = step_dir(run_dir, step)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-step_{step:04d}-", dir=Path(run_dir) / "adapters"))
    try:
        policy.save(tmp)
        atomic_write_text(
            tmp / "checkpoint.json", json.dumps(state, separators=(",", ":"), allow_nan=False, default=_json_default)
        )
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in sorted(p for p in (Path(run_dir) / "adapters").glob("step_*") if p.is_dir())[:-KEEP_FULL_CHECKPOINTS]:
        for name in ("optimizer.pt", "checkpoint.json"):
            (old / name).unlink(missing_ok=True)
    return final


def latest_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    """The newest step folder holding a complete checkpoint, or None when no step finished."""
    adapters = Path(run_dir) / "adapters"
    if not adapters.is_dir():
        return None
    for d in sorted((p for p in adapters.glob("step_*") if p.is_dir()), reverse=True):
        if (d / "checkpoint.json").is_file() and (d / "adapter_model.safetensors").is_file():
            try:
                json.loads((d / "checkpoint.json").read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            return int(d.name.split("_")[1]), d
    return None


def write_no_best(run_dir: Path) -> None:
    """An honest placeholder: the run found nothing the verifier accepted."""
    d = Path(run_dir) / "best"
    d.mkdir(exist_ok=True)
    atomic_write_text(
        d / "NONE.txt",
        "No valid answer yet: every rollout of this run was rejected by the verifier.\n"
        "The start state(s) are in archive.jsonl; the Verdicts' messages are in run.log.\n",
    )


def _is_json(text: str) -> bool:
    """A construction answered as JSON (a program problem accepts both) is saved as .json."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return bool(text.strip())


def write_best(run_dir: Path, env_id: str, artifact_kind: str, best: dict[str, Any]) -> Path:
    """best/answer.<ext> (the artifact as submitted), best/verdict.json, best/state.json."""
    d = Path(run_dir) / "best"
    d.mkdir(exist_ok=True)
    (d / "NONE.txt").unlink(missing_ok=True)
    state = best["state"]
    text = state.get("artifact") or ""
    ext = ".json" if _is_json(text) else ARTIFACT_EXT.get(artifact_kind, ".txt")
    path = d / f"answer{ext}"
    for stale in d.glob("answer.*"):  # an earlier best of the other kind (program or JSON)
        if stale != path:
            stale.unlink()
    atomic_write_text(path, text)
    atomic_write_text(d / "verdict.json", json.dumps(best["verdict"], indent=2, default=_json_default))
    atomic_write_text(d / "state.json", json.dumps(state, indent=2, default=_json_default))
    return path
