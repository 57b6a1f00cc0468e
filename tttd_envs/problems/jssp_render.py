"""JSSP-v0's picture: a Gantt chart of a schedule (``render("rgb_array")``, ``tttd eval --picture``).
matplotlib is imported by the caller (tttd_envs.render), never at module level."""

from __future__ import annotations

from typing import Any


def draw_gantt(fig, card, construction: Any, details: dict) -> None:
    """One row per machine, one bar per operation, coloured by job (rgb_array and --picture)."""
    ax = fig.add_subplot()
    starts = details.get("start_times")
    inst = None
    try:
        inst = card.load()
    except (FileNotFoundError, ValueError):
        pass
    if starts is None and inst is not None and isinstance(construction, dict):
        from verifiers.logistics import jssp
        from verifiers.math._parse import ParseError

        try:
            form, rows = jssp.parse_solution(construction, inst)
            starts = jssp.schedule_from_sequences(inst, rows) if form == "machine_sequences" else rows
        except ParseError:
            starts = None
    if inst is None or not starts:
        ax.text(0.5, 0.5, "no schedule yet", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_axis_off()
        return
    from matplotlib import colormaps

    cmap = colormaps["tab20"] if inst.n_jobs <= 20 else colormaps["turbo"]
    span = 0
    for j, (row, ms, ds) in enumerate(zip(starts, inst.machines, inst.durations)):
        color = cmap(j % 20 if inst.n_jobs <= 20 else j / max(1, inst.n_jobs - 1))
        for s, m, d in zip(row, ms, ds):
            ax.broken_barh([(s, d)], (m - 0.4, 0.8), facecolors=color, edgecolor="white", linewidth=0.3)
            span = max(span, s + d)
    if inst.n_jobs * inst.n_machines <= 150:
        for j, (row, ms, ds) in enumerate(zip(starts, inst.machines, inst.durations)):
            for s, m, d in zip(row, ms, ds):
                ax.text(s + d / 2, m, str(j), ha="center", va="center", fontsize=6)
    ax.axvline(span, color="#d4351c", lw=1)
    if inst.ub is not None:
        ax.axvline(inst.ub, color="black", lw=0.8, ls="--")
    ax.set_ylim(inst.n_machines - 0.5, -0.5)
    ax.set_yticks(
        range(inst.n_machines), [str(m) for m in range(inst.n_machines)], fontsize=7 if inst.n_machines <= 20 else 5
    )
    ax.set_ylabel("machine")
    ax.set_xlabel("time")
    ub = f", best known {inst.ub} (dashed)" if inst.ub is not None else ""
    ax.set_title(f"{inst.name}: makespan {span} (red){ub}; colour = job", fontsize=9)
