"""Pictures of constructions (``render("rgb_array")``, and later the leaderboard's pages).

matplotlib is an optional dependency (the ``plot`` extra) and is imported only here, lazily.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np


def _figure(width: float = 6.4, height: float = 4.8):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise RuntimeError("drawing needs matplotlib: pip install 'tttd[plot]'") from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def draw(card, construction: Any, details: dict | None = None, title: str | None = None):
    """A matplotlib Figure showing `construction` for `card` (its `picture` kind)."""
    details = details or {}
    kind = card.picture
    if kind == "circles":
        fig = _figure(5.6, 5.6)
        _circles(fig.add_subplot(), construction, details)
    elif kind == "erdos":
        fig = _figure(7.2, 4.2)
        _erdos(fig, construction)
    elif kind == "autoconvolution":
        fig = _figure(7.2, 5.2)
        _autoconv(fig, construction)
    elif kind == "ahc039":
        fig = _figure(6.0, 6.0)
        _ahc039(fig.add_subplot(), construction, details)
    elif kind == "trimul":
        fig = _figure(7.2, 4.0)
        _trimul(fig.add_subplot(), details)
    elif kind == "gantt":
        fig = _figure(9.0, 5.0)
        from tttd_envs.problems.jssp import draw_gantt

        draw_gantt(fig, card, construction, details)
    elif kind == "molecules":
        fig = _figure(11.0, 4.8)
        _molecules(fig.add_subplot(), construction)
    elif kind and ":" in kind:
        # "module:function": the problem draws its own picture, fn(card, construction, details) -> Figure
        import importlib

        module, _, fn = kind.partition(":")
        fig = getattr(importlib.import_module(module), fn)(card, construction, details)
    else:
        fig = _figure(5, 2)
        fig.text(0.5, 0.5, f"{card.id}: no picture for this problem", ha="center")
    fig.suptitle(title or card.id, fontsize=11)
    return fig


def _trimul(ax, details: dict) -> None:
    """Per benchmark shape: the kernel's mean time (bar), the hardware floor (black tick), the geometric mean."""
    shapes = details.get("per_shape") or {}
    if not shapes:
        _empty(ax, "timing (CPU dev mode or not accepted)")
        return
    ids = list(shapes)
    means = [shapes[k]["mean"] for k in ids]
    ax.bar(range(len(ids)), means, color="#1d70b8", label="mean µs")
    floors = [shapes[k].get("floor_us") for k in ids]
    if any(f for f in floors):
        ax.scatter(range(len(ids)), [f or 0 for f in floors], marker="_", s=400, color="black", label="hardware floor")
    gm = details.get("geomean_us")
    if gm:
        ax.axhline(gm, ls="--", color="#d4351c", lw=1, label=f"geometric mean {gm:.1f} µs")
    ax.set_xticks(range(len(ids)), ids, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("µs per call (log scale)", fontsize=8)
    ax.legend(fontsize=7)


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} yet", ha="center", va="center", transform=ax.transAxes, color="0.4")


def _circles(ax, circles, details: dict) -> None:
    from matplotlib.patches import Circle, Rectangle

    ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=1.5, color="black"))
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    if not circles:
        _empty(ax, "circles")
        return
    worst_pair = set(details.get("min_pair_gap_at") or [])
    worst_side = (details.get("min_boundary_slack_at") or [None])[0]
    for i, (x, y, r) in enumerate(circles):
        hot = i in worst_pair or i == worst_side
        ax.add_patch(
            Circle((x, y), r, facecolor="#f4a261" if hot else "#8ecae6", edgecolor="#023047", lw=0.8, alpha=0.9)
        )
        ax.text(x, y, str(i), ha="center", va="center", fontsize=7)
    total = sum(c[2] for c in circles)
    ax.set_title(
        f"n = {len(circles)}, Σr ≈ {total:.10g}" + ("  (orange: tightest contacts)" if worst_pair else ""), fontsize=9
    )


def _steps(ax, values, edges) -> None:
    """A step function; filled steps turn into faint hatching when there are thousands, so long
    sequences are drawn as an outline."""
    few = len(values) <= 2000
    ax.stairs(values, edges, fill=few, alpha=0.6 if few else 1.0, color="#219ebc", lw=0.6)


def _erdos(fig, h) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    if not h:
        _empty(ax1, "construction")
        return
    h = np.asarray(h, dtype=float)
    n = h.size
    edges = np.linspace(0, 2, n + 1)
    _steps(ax1, h, edges)
    ax1.set_xlim(0, 2)
    ax1.set_ylim(0, 1.05)
    ax1.set_xlabel("x")
    ax1.set_title(f"h (n = {n})", fontsize=9)
    c = np.correlate(h, 1.0 - h, "full") * (2.0 / n)  # float64 view; the score is computed exactly
    lags = np.arange(-(n - 1), n)[::-1] * (2.0 / n)
    ax2.plot(lags, c, lw=1, color="#fb8500")
    k = int(np.argmax(c))
    ax2.axhline(c[k], color="0.5", lw=0.7, ls="--")
    ax2.set_title(f"overlap ∫h(x)(1−h(x+k))dx, max ≈ {c[k]:.6f}", fontsize=9)
    ax2.set_xlabel("shift k")


def _autoconv(fig, a) -> None:
    ax1, ax2 = fig.subplots(2, 1)
    if not a:
        _empty(ax1, "construction")
        return
    a = np.asarray(a, dtype=float)
    n = a.size
    scale = a.max() if a.max() > 0 else 1.0
    a = a / scale
    _steps(ax1, a, np.linspace(-0.25, 0.25, n + 1))
    ax1.set_title(f"f (n = {n} steps, scaled to max 1)", fontsize=9)
    from numpy.fft import irfft, rfft

    m = 2 * n - 1
    size = 1 << (m - 1).bit_length()
    conv = irfft(rfft(a, size) ** 2, size)[:m]
    t = np.linspace(-0.5, 0.5, m + 2)[1:-1]
    ax2.plot(t, conv / (a.sum() ** 2 / (2 * n)), lw=1, color="#fb8500")
    ax2.set_title("f*f relative to (∫f)²", fontsize=9)
    ax2.set_xlim(-0.5, 0.5)


def _ahc039(ax, _construction, details: dict) -> None:
    """The fish of the first case (mackerels blue, sardines red) and the submitted polygon."""
    case = details.get("picture_case")
    ax.set_xlim(0, 100000)
    ax.set_ylim(0, 100000)
    ax.set_aspect("equal")
    if not case:
        _empty(ax, "accepted answer")
        return
    from verifiers.atcoder import inputs, score_ahc039

    inp = score_ahc039.parse_input(inputs.input_text("ahc039", case["seed"]))
    n = inp.n
    ax.scatter(inp.xs[:n], inp.ys[:n], s=1.5, c="#1d70b8", label="mackerel", linewidths=0)
    ax.scatter(inp.xs[n:], inp.ys[n:], s=1.5, c="#d4351c", label="sardine", linewidths=0)
    poly = score_ahc039.parse_output(case["output"])
    if poly:
        xs = [p[0] for p in poly] + [poly[0][0]]
        ys = [p[1] for p in poly] + [poly[0][1]]
        ax.plot(xs, ys, color="black", lw=1.2)
    result = score_ahc039.score(inp, case["output"])
    ax.set_title(f"seed {case['seed']}: {len(poly or [])} vertices, case score {result.score}", fontsize=9)
    ax.legend(loc="upper right", fontsize=7, markerscale=4)


def _molecules(ax, top) -> None:
    """The best molecules of a run, best first: [key, score] or [key, score, call] rows (a state's
    construction, or a leaderboard entry's top-10), drawn by RDKit in molecules_render."""
    from types import SimpleNamespace

    from tttd_envs.problems import molecules_render

    ax.axis("off")
    rows = [r for r in (top or []) if r and r[1] is not None][:10]
    if not rows:
        _empty(ax, "scored molecules")
        return
    entries = [SimpleNamespace(key=r[0], score=float(r[1]), call=r[2] if len(r) > 2 else "?") for r in rows]
    ax.imshow(np.asarray(molecules_render.grid_image(entries).convert("RGB")))


def rgb_array(card, state, verdict=None) -> np.ndarray:
    details = verdict.details if verdict is not None and verdict.accepted else {}
    construction = state.construction if state is not None else None
    title = card.id
    if state is not None and state.score is not None:
        shown = details.get("display") if details.get("display") else f"{state.score:.10g}"
        title = f"{card.id}: {card.score_label} {shown}"
    fig = draw(card, construction, details, title)
    if verdict is not None and not verdict.accepted:
        # the picture is still the current state; say on it that the last answer was not taken
        import textwrap

        note = textwrap.shorten(f"last answer {verdict.status}: {verdict.message}", 150)
        fig.text(
            0.5,
            0.01,
            note,
            ha="center",
            va="bottom",
            fontsize=8,
            color="white",
            wrap=True,
            bbox={"facecolor": "#c0392b", "edgecolor": "none", "pad": 3},
        )
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def png_bytes(card, construction: Any, details: dict | None = None, title: str | None = None) -> bytes:
    fig = draw(card, construction, details, title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
