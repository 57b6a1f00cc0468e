"""The picture of a CVRP state: customers on the plane (size by demand), the depot, each route in its
own colour. matplotlib is imported lazily (tttd_envs.render)."""

from __future__ import annotations


def draw(card, routes, details: dict | None = None):
    from tttd_envs import render
    from verifiers.logistics import cvrp

    ctx = card.context or {}
    inst = cvrp.load_instance(
        ctx.get("instance") or cvrp.DEFAULT_INSTANCE, ctx.get("instance_file"), ctx.get("data_dir")
    )
    fig = render._figure(6.4, 6.4)
    ax = fig.add_subplot()
    xs = [float(v) for v in inst.xs]
    ys = [float(v) for v in inst.ys]
    top = max(inst.demands) or 1
    ax.scatter(xs[1:], ys[1:], s=[4 + 26 * d / top for d in inst.demands[1:]], c="0.35", zorder=3, linewidths=0)
    ax.scatter([xs[0]], [ys[0]], marker="s", s=70, c="#d4351c", zorder=4, label="depot")
    ax.set_aspect("equal")
    if not routes:
        render._empty(ax, "routes")
    else:
        from matplotlib import colormaps

        cmap = colormaps["tab20"]
        for i, route in enumerate(routes):
            path = [0, *route, 0]
            ax.plot([xs[c] for c in path], [ys[c] for c in path], lw=1.0, color=cmap(i % 20), zorder=2)
    cost = (details or {}).get("cost")
    ax.set_title(
        f"{inst.name}: {inst.n_customers} customers, Q = {inst.capacity}"
        + (f", {len(routes)} routes" if routes else "")
        + (f", cost {cost}" if cost is not None else ""),
        fontsize=9,
    )
    ax.legend(loc="upper right", fontsize=7)
    return fig
