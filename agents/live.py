"""Live views of a run, refreshed after every step: the ``plots/`` pictures, TensorBoard event files
under ``tensorboard/``, and (optionally) a Weights & Biases run.

``tttd discover`` registers a :class:`LiveOutputs` as a step hook of :class:`agents.loop.Discovery`:
it runs after each step's checkpoint, so what a killed run leaves behind shows every finished step.
None of these outputs can stop a run: an error is logged once (``run.log``, plus one notice) and
the run goes on without that output for the step.

TensorBoard on resume: a step's events are written after its checkpoint, and ``tensorboard/last_step.txt``
records the last step whose events were flushed. A run resumed from checkpoint k opens its writer with
``purge_step`` just after the last step both written and checkpointed (readers drop any later events,
e.g. of a step that was redone), then writes the checkpointed steps that are missing: every step has
exactly one value per tag, however the run was killed."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents import plots, rundir
from agents.config import AgentConfig, ConfigError

log = logging.getLogger("tttd.agent")

#: (metrics.jsonl field, tag) of the scalars sent to TensorBoard and W&B each step; a field that is
#: missing or None in a step (no valid answer yet, no cost reported) is skipped for that step
SCALARS = (
    ("reward_mean", "reward/mean"),
    ("reward_max", "reward/max"),
    ("best_score", "best/score"),
    ("best_reward", "best/reward"),
    ("beta_mean", "beta/mean"),
    ("valid_frac", "valid_frac"),
    ("loss", "train/loss"),
    ("sampled_tokens", "tokens/sampled"),
    ("prompt_tokens", "tokens/prompt"),
    ("train_tokens", "tokens/trained"),
    ("rho_mean", "train/rho_mean"),
    ("clip_frac", "train/clip_frac"),
    ("cost_usd", "cost/usd"),
    ("cost_usd_total", "cost/usd_total"),
    ("eval_cpu_s", "cost/eval_cpu_s"),
    ("sampler_device_s", "cost/sampler_device_s"),
    ("trainer_device_s", "cost/trainer_device_s"),
    ("sample_s", "time/sample_s"),
    ("eval_s", "time/eval_s"),
    ("eval_wait_s", "time/eval_wait_s"),
    ("train_s", "time/train_s"),
    ("step_s", "time/step_s"),
)


def scalars(m: dict[str, Any]) -> dict[str, float]:
    """A step's metrics as ``{tag: value}`` (numbers only)."""
    return {
        tag: float(m[k]) for k, tag in SCALARS if isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool)
    }


def check(cfg: AgentConfig) -> None:
    """Fail before a run directory exists when an output the config asks for cannot work."""
    if cfg.wandb:
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"wandb = {cfg.wandb!r} asks for Weights & Biases logging, but the wandb package is "
                "not installed: run `pip install wandb` (or leave wandb empty)"
            ) from None


class LiveOutputs:
    """The step hook: ``after_step(disc, metrics)`` after each step, ``close()`` at the end of the run."""

    def __init__(self, disc, notice: Callable[[str], None] | None = None, plots_every_step: bool = True) -> None:
        self.run_dir = Path(disc.run_dir)
        self.cfg: AgentConfig = disc.cfg
        self.notice = notice or log.warning
        self.plots_every_step = plots_every_step
        self.plotted_step: int | None = None  # the step the pictures in plots/ show
        self._failed: set[str] = set()
        for stale in (self.run_dir / "plots").glob(".*.tmp"):  # left by a kill while a picture was written
            stale.unlink(missing_ok=True)
        self.tb = self._safely("TensorBoard logging", self._open_tensorboard, disc) if self.cfg.tensorboard else None
        if self.tb is not None:  # on resume: the checkpointed steps not logged yet
            self._safely("TensorBoard logging", self._tb_write, self._tb_backlog)
        self.wandb = self._safely("Weights & Biases logging", self._open_wandb) if self.cfg.wandb else None

    # -- the hook ------------------------------------------------------------------------------
    def after_step(self, disc, m: dict[str, Any]) -> None:
        t = int(m["step"])
        if self.tb is not None:
            self._safely("TensorBoard logging", self._tb_write, [m])
        if self.plots_every_step:
            self._safely("plotting", self._plot, disc, t)
        if self.wandb is not None:
            self._safely("Weights & Biases logging", self.wandb.log, scalars(m), step=t)

    def close(self) -> None:
        if self.tb is not None:
            self._safely("TensorBoard logging", self.tb.close)
            self.tb = None
        if self.wandb is not None:
            self._safely("Weights & Biases logging", self.wandb.finish)
            self.wandb = None

    def final_plots(self, disc) -> list[Path]:
        """The pictures of the finished run (written now unless the last step already did)."""
        if self.plotted_step != disc.step_no:
            self._safely("plotting", self._plot, disc, disc.step_no)
        return plots.plot_paths(disc.run_dir)

    # -- outputs -------------------------------------------------------------------------------
    def _plot(self, disc, t: int) -> None:
        plots.write_all(disc.run_dir, disc.metrics, disc.archive.to_records(), disc.card)
        self.plotted_step = t

    def _open_tensorboard(self, disc):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.notice(
                "TensorBoard logging is off: the tensorboard package is not installed "
                "(pip install 'tensorboard>=2.16', or set tensorboard = false)"
            )
            return None
        d = self.run_dir / "tensorboard"
        marker = d / "last_step.txt"
        written = int(marker.read_text().strip() or 0) if marker.is_file() else 0
        done = min(written, disc.step_no)  # steps both logged and checkpointed
        self._tb_backlog = [m for m in disc.metrics if done < int(m["step"]) <= disc.step_no]
        # Readers take a folder's event files in name order, and a name starts with its writer's creation
        # second (then host and pid): the new file must sort after those of the killed run.
        newest = max(
            (int(p.name.split(".")[3]) for p in d.glob("events.out.tfevents.*") if p.name.split(".")[3].isdigit()),
            default=0,
        )
        while time.time() < newest + 1:
            time.sleep(0.05)
        return SummaryWriter(str(d), purge_step=done + 1 if d.is_dir() else None)

    def _tb_write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        tb = self.tb
        assert tb is not None  # called only while TensorBoard logging is on
        for m in rows:
            for tag, value in scalars(m).items():
                tb.add_scalar(tag, value, int(m["step"]))
        tb.flush()
        rundir.atomic_write_text(self.run_dir / "tensorboard" / "last_step.txt", f"{int(rows[-1]['step'])}\n")

    def _open_wandb(self):
        import wandb

        id_file = self.run_dir / "wandb_run_id.txt"  # a resumed run goes on in the same W&B run
        if id_file.is_file():
            run_id = id_file.read_text(encoding="utf-8").strip()
        else:
            run_id = uuid.uuid4().hex[:16]
            rundir.atomic_write_text(id_file, run_id + "\n")
        return wandb.init(
            project=self.cfg.wandb,
            name=f"{self.cfg.env}/{self.run_dir.name}",
            id=run_id,
            resume="allow",
            dir=str(self.run_dir),
            config=self.cfg.to_dict(),
        )

    def _safely(self, what: str, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            if what not in self._failed:
                self._failed.add(what)
                log.warning("%s failed; the run goes on", what, exc_info=True)
                self.notice(f"{what} failed ({type(e).__name__}: {e}); the run goes on (details in run.log)")
            return None
