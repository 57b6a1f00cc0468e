"""The run's pictures: best-so-far (in the problem's units, with its reference lines), per-step
reward, and the archive's lineage. matplotlib (Agg) only, imported lazily.

The loop rewrites them after every step; each PNG is written to a temporary file in the same folder
and renamed over the old one, so a reader (or a kill) never meets half a picture."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> None:
    """Save ``fig`` as ``path`` atomically (temporary file + ``os.replace``) and close it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # as savefig would have made it (mkstemp makes 0600)
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format=path.suffix.lstrip(".") or "png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def best_so_far(metrics: list[dict[str, Any]], card, path: Path, initial_score: float | None = None) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    steps = [m["step"] for m in metrics]
    pts = [(m["step"], m["best_score"]) for m in metrics if m.get("best_score") is not None]
    units = card.units if card else "score"
    if pts:
        ax.step(
            [p[0] for p in pts],
            [p[1] for p in pts],
            where="post",
            marker="o",
            color="C0",
            label="best found (verified)",
        )
    else:
        ax.text(
            0.5, 0.92, "no valid answer yet", transform=ax.transAxes, ha="center", va="center", fontsize=12, color="0.4"
        )
    if initial_score is not None:
        ax.axhline(initial_score, color="0.5", ls=":", lw=1.2, label=f"start state {initial_score:.6g}")
    if card is not None:
        for i, ref in enumerate(r for r in card.references if r.value is not None):
            ax.axhline(
                ref.value,
                color=f"C{i + 1}",
                ls="--",
                lw=1.2,
                label=f"{ref.label}: {ref.display or ref.value} ({ref.who} {ref.year})",
            )
    ys = (
        [p[1] for p in pts]
        + ([initial_score] if initial_score is not None else [])
        + [r.value for r in (card.references if card else ()) if r.value is not None]
    )
    if ys:
        lo, hi = min(ys), max(ys)
        pad = 0.08 * (hi - lo) if hi > lo else 0.05 * (abs(hi) or 1.0)
        ax.set_ylim(lo - pad, hi + 2.5 * pad)  # room for the legend above the lines
    ax.set_xlabel("step")
    ax.set_ylabel(units)
    direction = ("lower" if card.direction == "min" else "higher") + " is better" if card else ""
    ax.set_title(f"{card.id if card else ''} best so far ({direction})".strip())
    if steps:
        ax.set_xlim(0.5, max(steps) + 0.5)
        ax.set_xticks(steps if len(steps) <= 20 else None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    _save(plt, fig, path)


def rewards(metrics: list[dict[str, Any]], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    steps = [m["step"] for m in metrics]
    ax.plot(steps, [m["reward_mean"] for m in metrics], marker="o", label="mean reward")
    ax.plot(steps, [m["reward_max"] for m in metrics], marker="^", label="max reward")
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax2 = ax.twinx()
    ax2.bar(steps, [m["valid_frac"] for m in metrics], alpha=0.15, color="C2", label="valid fraction")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("valid fraction")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    ax.set_title("reward per step")
    if steps and len(steps) <= 20:
        ax.set_xticks(steps)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(plt, fig, path)


def lineage(records: list[dict[str, Any]], path: Path, card=None) -> None:
    """Each archived state at (step found, score in the problem's units — or value when a state has
    no score), a line to its parent; initial states as squares, marker size by visits."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    rows = [r for r in records if "state" in r]
    by_id = {r["state"]["id"]: r for r in rows}
    use_score = card is not None and all(r["state"].get("score") is not None for r in rows)
    key = "score" if use_score else "value"
    vals = [r["state"][key] for r in rows if r["state"].get(key) is not None]
    low = min(vals) if vals else 0.0

    def y(st):
        return st[key] if st.get(key) is not None else low

    for r in rows:
        st = r["state"]
        p = by_id.get(st.get("parent_id"))
        if p is not None:
            ax.plot([p["state"]["timestep"], st["timestep"]], [y(p["state"]), y(st)], color="0.6", lw=0.8, zorder=1)
    for r in rows:
        st = r["state"]
        ax.scatter(
            [st["timestep"]],
            [y(st)],
            s=20 + 6 * min(r["n"], 50),
            marker="s" if r["initial"] else "o",
            color="C3" if r["initial"] else "C0",
            zorder=2,
            edgecolor="k",
            lw=0.4,
        )
    steps = [r["state"]["timestep"] for r in rows]
    ax.set_xlim(-0.5, max(steps, default=0) + 0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("step found (0 = initial state)")
    if use_score:
        better = "lower" if card.direction == "min" else "higher"
        ax.set_ylabel(f"{card.units} ({better} is better)")
    else:
        ax.set_ylabel("state value (higher is better)")
    n_init = sum(r["initial"] for r in rows)
    ax.set_title(f"archive lineage: {len(rows)} states ({n_init} initial, squares); size = visits")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(plt, fig, path)


def plot_paths(run_dir: Path) -> list[Path]:
    d = Path(run_dir) / "plots"
    return [d / "best_so_far.png", d / "reward.png", d / "lineage.png"]


def write_all(run_dir: Path, metrics, archive_records, card) -> list[Path]:
    out = plot_paths(run_dir)
    out[0].parent.mkdir(exist_ok=True)
    init = [r["state"].get("score") for r in archive_records if r.get("initial")]
    try:
        best_so_far(metrics, card, out[0], initial_score=init[0] if init else None)
        rewards(metrics, out[1])
        lineage(archive_records, out[2], card)
    except BaseException:
        _plt().close("all")  # a figure that failed half-drawn is not left open (the loop plots every step)
        raise
    return out
