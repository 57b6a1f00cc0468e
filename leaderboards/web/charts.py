"""The problem page's interactive chart (Plotly, served with the page, so it works offline).

Best value so far over submission time, one marker per accepted entry (hover: submitter, entry number,
exact display), and every reference that has a number as a horizontal line of its own, named in the
legend and on hover with its value and whether tttd re-verified it or only quotes it. The y axis spans
the entries and references with a margin, so values that differ in the sixth digit are not drawn on top
of each other; zoom (drag) and double-click-to-reset come with Plotly.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

_COLORS = ["#d4351c", "#f47738", "#00703c", "#912b88", "#505a5f", "#b58840", "#28a197", "#6f72af"]


@lru_cache(maxsize=1)
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def best_so_far(card, entries, refs, comparable: bool = True) -> dict:
    """A Plotly figure (as a plain dict) for ``entries`` (accepted board entries) and reference rows;
    ``comparable`` False (an AtCoder board on public cases, say) marks every reference "context only"."""
    import plotly.graph_objects as go

    better = min if card.direction == "min" else max
    pts = sorted((e for e in entries if e.score is not None), key=lambda e: e.created_at)
    fig = go.Figure()
    ys: list[float] = []
    if pts:
        best, xs, line = None, [], []
        for e in pts:
            best = e.score if best is None else better(best, e.score)
            xs.append(e.created_at)
            line.append(best)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=line,
                mode="lines",
                line={"shape": "hv", "color": "#1d70b8", "width": 2},
                name="best entry so far",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[e.score for e in pts],
                mode="markers",
                name="accepted entries",
                marker={"color": "#1d70b8", "size": 8},
                customdata=[[e.id, e.submitter, e.display or f"{e.score:.10g}"] for e in pts],
                hovertemplate="#%{customdata[0]} %{customdata[1]}<br>%{customdata[2]}<br>%{x}<extra></extra>",
            )
        )
        ys += [e.score for e in pts]
        import datetime as dt

        span = xs[-1] - xs[0]
        pad = max(span * 0.05, dt.timedelta(minutes=30))  # one entry, or entries seconds apart: a readable axis
        x0, x1 = xs[0] - pad, xs[-1] + pad
    else:
        import datetime as dt

        x1 = dt.datetime.now(dt.UTC)
        x0 = x1 - dt.timedelta(days=1)
    k = 0
    for r in refs:
        if r.sort_value is None:
            continue
        v = float(Decimal(r.sort_value))
        how = "re-verified" if (r.verified or r.rechecked) else "quoted, not re-verified"
        shown = r.display or r.published
        context = "" if comparable and getattr(r, "comparable", True) else " (context only)"
        fig.add_trace(
            go.Scatter(
                x=[x0, x1],
                y=[v, v],
                mode="lines",
                name=f"{r.name}: {shown}{context}",
                line={
                    "color": _COLORS[k % len(_COLORS)],
                    "width": 1.5,
                    "dash": "solid" if how == "re-verified" else "dot",
                },
                hovertemplate=f"{r.name} ({r.who} {r.year})<br>{shown}<br>{how}{context}<extra></extra>",
            )
        )
        ys.append(v)
        k += 1
    layout: dict[str, Any] = {
        "title": {"text": f"{card.id}: best so far ({'lower' if card.direction == 'min' else 'higher'} is better)"},
        "xaxis": {"title": {"text": "submitted (UTC)"}, "type": "date", "range": [x0.isoformat(), x1.isoformat()]},
        "yaxis": {"title": {"text": card.units}, "exponentformat": "none", "tickformat": ".10~g"},
        "legend": {"orientation": "h", "y": -0.25},
        "hovermode": "closest",
        "margin": {"t": 50, "b": 40},
        "height": 480,
    }
    if ys:
        lo, hi = min(ys), max(ys)
        pad = (hi - lo) * 0.08 or abs(hi) * 1e-6 or 1.0
        layout["yaxis"]["range"] = [lo - pad, hi + pad]
    if not pts:
        layout["annotations"] = [
            {
                "text": "no accepted entries yet",
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
            }
        ]
    fig.update_layout(**layout)
    return json.loads(fig.to_json())
